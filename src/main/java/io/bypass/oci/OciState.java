package io.bypass.oci;

import com.fasterxml.jackson.databind.JsonNode;
import io.bypass.BypassException;
import io.bypass.util.Json.Fields;

import java.util.Map;

/**
 * The container state a runtime gives a hook on stdin (OCI runtime spec, "State").
 *
 * @param pid the container's init process as seen from the runtime namespace; 0 when absent
 */
public record OciState(String ociVersion, String id, String status, int pid, String bundle, Map<String, String> annotations) {

    public OciState {
        annotations = Map.copyOf(annotations);
    }

    public static OciState fromJson(JsonNode node, String where) {
        Fields f = Fields.of(node, where);
        String id = f.string("id");
        String bundle = f.string("bundle");
        if (!bundle.startsWith("/")) {
            throw BypassException.badInput(f.where("bundle") + ": '" + bundle + "' must be an absolute path");
        }
        long pid = f.optLong("pid", 0);
        if (pid < 0 || pid > Integer.MAX_VALUE) {
            throw BypassException.badInput(f.where("pid") + ": " + pid + " is not a process id");
        }
        return new OciState(f.optString("ociVersion", ""), id, f.optString("status", ""), (int) pid, bundle,
                f.stringMap("annotations"));
    }
}
