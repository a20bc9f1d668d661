package io.bypass.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.Engine;
import io.bypass.apply.ConfigEditor;
import io.bypass.db.Database;
import io.bypass.oci.OciConfig;
import io.bypass.plan.Plan;
import io.bypass.plan.Planner;
import io.bypass.plan.Policy;

import java.nio.file.Path;

/** What precreate and patch-bundle share: decide from a runtime config, and edit it accordingly. */
final class ConfigFront {

    /** @param config the edited config, or null when it stays as it is */
    record Outcome(ObjectNode config, Plan plan) {
    }

    private ConfigFront() {
    }

    static Outcome decide(JsonNode tree, Path bundleDir, String where, Database db, String appliedBy) {
        if (ConfigEditor.alreadyApplied(tree)) {
            return new Outcome(null, null);
        }
        OciConfig config = OciConfig.fromJson(tree, bundleDir == null ? Path.of("/") : bundleDir, where);
        if (bundleDir == null && !tree.path("root").path("path").asText().startsWith("/")) {
            throw BypassException.badInput(where + " root.path: '" + tree.path("root").path("path").asText()
                    + "' is relative, and a precreate hook has no bundle directory to resolve it against");
        }
        if (db.exists()) {
            db.requireTrusted();
        }
        if ("false".equalsIgnoreCase(config.annotations().getOrDefault(Planner.ANN_ENABLED, "true")) || db.names().isEmpty()) {
            return new Outcome(null, null);
        }
        String exec = config.args().isEmpty() ? null : config.args().get(0);
        Engine.Result r = Engine.decide(db, config.rootfs(), config.annotations(), config.env(), config.args(), false, Policy.DEFAULT);
        Plan plan = r.plan();
        return switch (plan.verdict()) {
            case NONE -> new Outcome(null, plan);
            case REFUSE -> new Outcome(ConfigEditor.refuse(tree, plan.firstError(), launcher(), appliedBy), plan);
            case INJECT -> new Outcome(ConfigEditor.apply(tree, plan, appliedBy), plan);
        };
    }

    /** The launcher that runs this bypass (set by hook/bypass), for the hook a refusal adds. */
    static String launcher() {
        String p = System.getProperty("bypass.launcher");
        if (p == null || p.isEmpty()) {
            throw BypassException.badInput("the launcher is unknown: run bypass through hook/bypass");
        }
        return p;
    }
}
