package io.bypass.plan;

import java.util.Map;

/** The one opt-out test: a container annotated org.supercontainers.bypass.enabled=false is left alone by every front. */
public final class OptOut {
    private OptOut() {
    }

    public static boolean optedOut(Map<String, String> annotations) {
        return "false".equalsIgnoreCase(annotations.getOrDefault(Planner.ANN_ENABLED, "true"));
    }
}
