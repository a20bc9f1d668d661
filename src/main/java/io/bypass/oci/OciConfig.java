package io.bypass.oci;

import com.fasterxml.jackson.databind.JsonNode;
import io.bypass.BypassException;
import io.bypass.util.Json;
import io.bypass.util.Json.Fields;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of a bundle's config.json that bypass reads. The JSON tree is kept whole so that the
 * fronts that rewrite a config (precreate, patch-bundle) change only what they must.
 *
 * @param rootfs      root.path resolved against the bundle directory
 * @param args        process.args (may be empty)
 * @param env         process.env as a map (later entries win, as execve would see them)
 * @param cgroupsPath linux.cgroupsPath, or null
 */
public record OciConfig(JsonNode tree, Path rootfs, boolean rootReadonly, List<String> args, Map<String, String> env,
                        Map<String, String> annotations, String cgroupsPath) {

    public OciConfig {
        args = List.copyOf(args);
        env = Map.copyOf(env);
        annotations = Map.copyOf(annotations);
    }

    public static OciConfig read(Path bundle) {
        Path file = bundle.resolve("config.json");
        return fromJson(Json.readFile(file), bundle, file.toString() + ":");
    }

    public static OciConfig fromJson(JsonNode tree, Path bundle, String where) {
        Fields f = Fields.of(tree, where);
        Fields root = f.object("root");
        String rootPath = root.string("path");
        Path rootfs = bundle.resolve(rootPath).normalize();
        Fields process = f.optObject("process");
        List<String> args = process == null ? List.of() : process.stringList("args");
        Map<String, String> env = new LinkedHashMap<>();
        if (process != null) {
            for (String kv : process.stringList("env")) {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw BypassException.badInput(process.where("env") + ": '" + kv + "' is not NAME=VALUE");
                }
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        Fields linux = f.optObject("linux");
        String cgroupsPath = linux == null ? null : linux.optString("cgroupsPath", null);
        return new OciConfig(tree, rootfs, root.optBool("readonly", false), args, env, f.stringMap("annotations"), cgroupsPath);
    }
}
