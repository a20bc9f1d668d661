package io.bypass.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.apply.ConfigEditor;
import io.bypass.front.Decision;
import io.bypass.front.Front;
import io.bypass.front.Mode;
import io.bypass.front.Request;
import io.bypass.front.Site;
import io.bypass.oci.OciConfig;

import java.nio.file.Path;

/** What precreate and patch-bundle share: an adapter over {@link Front#decide} that edits the runtime config. */
final class ConfigFront {

    /** @param config the edited config, or null when it stays as it is */
    record Outcome(ObjectNode config, Decision decision) {
    }

    private ConfigFront() {
    }

    static Outcome decide(JsonNode tree, Path bundleDir, String where, Site site, Mode mode) {
        ObjectNode[] edited = new ObjectNode[1];
        Decision d = Front.decide(site, mode, mode.id(), null, () -> {
            if (bundleDir == null && !tree.path("root").path("path").asText().startsWith("/")) {
                throw BypassException.badInput(where + " root.path: '" + tree.path("root").path("path").asText()
                        + "' is relative, and a precreate hook has no bundle directory to resolve it against");
            }
            OciConfig config = OciConfig.fromJson(tree, bundleDir == null ? Path.of("/") : bundleDir, where);
            return Request.ofConfig(mode, mode.id(), null, config, config.annotations(), ConfigEditor.alreadyApplied(tree));
        }, decision -> edited[0] = decision.refused()
                ? ConfigEditor.refuse(tree, decision.firstError(), launcher(), mode.id())
                : ConfigEditor.apply(tree, decision.plan(), mode.id()));
        return new Outcome(edited[0], d);
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
