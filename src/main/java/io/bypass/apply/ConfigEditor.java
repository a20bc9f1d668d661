package io.bypass.apply;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.Finding;
import io.bypass.plan.Plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies a plan to an OCI runtime config, for the fronts that rewrite the config instead of
 * entering a running container (podman/CRI-O precreate, patch-bundle): mounts, device nodes with
 * their device-cgroup rules, and the environment. Only the fields it must change are touched;
 * everything else, unknown fields included, stays as it was. A refusal becomes a createRuntime
 * hook that fails with the reason, because the runtime shows a failing hook's stderr to the user
 * while podman does not show a failing precreate hook's.
 */
public final class ConfigEditor {
    /** Set on a config bypass has edited, so that no other front applies the plan twice. */
    public static final String ANN_APPLIED = "org.supercontainers.bypass.applied";

    private ConfigEditor() {
    }

    public static boolean alreadyApplied(JsonNode config) {
        JsonNode a = config.path("annotations").get(ANN_APPLIED);
        return a != null && a.isTextual();
    }

    /** The config with the plan's edits (a copy; the input is not changed). */
    public static ObjectNode apply(JsonNode config, Plan plan, String appliedBy) {
        ObjectNode out = requireObject(config).deepCopy();
        ArrayNode mounts = arrayField(out, "mounts");
        if (plan.libraryDir() != null) {
            // Added libraries live in a tmpfs: runc creates their mount points there, not in the image.
            ObjectNode tmpfs = mounts.addObject();
            tmpfs.put("destination", HelperPlan.RUN_DIR);
            tmpfs.put("type", "tmpfs");
            tmpfs.put("source", "tmpfs");
            tmpfs.set("options", io.bypass.util.Json.array(MountOptions.TMPFS));
        }
        for (Plan.Mount m : plan.mounts()) {
            ObjectNode mo = mounts.addObject();
            mo.put("destination", m.target());
            mo.put("type", "bind");
            mo.put("source", m.source());
            mo.set("options", io.bypass.util.Json.array(MountOptions.bind(m.readOnly())));
        }
        if (!plan.devices().isEmpty()) {
            ObjectNode linux = objectField(out, "linux");
            ArrayNode devices = arrayField(linux, "devices");
            ArrayNode rules = arrayField(objectField(linux, "resources"), "devices");
            for (Plan.Device d : plan.devices()) {
                ObjectNode dn = devices.addObject();
                dn.put("path", d.target());
                dn.put("type", String.valueOf(d.host().type()));
                dn.put("major", d.host().major());
                dn.put("minor", d.host().minor());
                dn.put("fileMode", d.host().mode());
                dn.put("uid", d.host().uid());
                dn.put("gid", d.host().gid());
                ObjectNode rule = rules.addObject();
                rule.put("allow", true);
                rule.put("type", String.valueOf(d.host().type()));
                rule.put("major", d.host().major());
                rule.put("minor", d.host().minor());
                rule.put("access", "rwm");
            }
        }
        if (!plan.env().isEmpty()) {
            ObjectNode process = objectField(out, "process");
            ArrayNode env = arrayField(process, "env");
            Map<String, String> current = new LinkedHashMap<>();
            for (JsonNode e : env) {
                String kv = e.asText();
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    current.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            for (Plan.EnvEdit e : plan.env()) {
                String old = current.get(e.name());
                String value = e.action() == Plan.EnvEdit.Action.PREPEND && old != null && !old.isEmpty()
                        ? e.value() + ":" + old : e.value();
                current.put(e.name(), value);
            }
            env.removeAll();
            current.forEach((k, v) -> env.add(k + "=" + v));
        }
        objectField(out, "annotations").put(ANN_APPLIED, appliedBy);
        return out;
    }

    /**
     * The config with a createRuntime hook that fails the container start with the refusal's
     * reason; nothing is injected.
     */
    public static ObjectNode refuse(JsonNode config, Finding reason, String launcher, String appliedBy) {
        ObjectNode out = requireObject(config).deepCopy();
        ArrayNode hooks = arrayField(objectField(out, "hooks"), "createRuntime");
        ObjectNode hook = hooks.insertObject(0);
        hook.put("path", launcher);
        hook.set("args", io.bypass.util.Json.array(List.of("bypass", "refuse", "--code", reason.code(), "--", reason.withHint())));
        objectField(out, "annotations").put(ANN_APPLIED, appliedBy + " (refused)");
        return out;
    }

    private static ObjectNode requireObject(JsonNode config) {
        if (!(config instanceof ObjectNode o)) {
            throw BypassException.badInput("the runtime config is not a JSON object");
        }
        return o;
    }

    private static ObjectNode objectField(ObjectNode parent, String name) {
        JsonNode n = parent.get(name);
        if (n == null || n.isNull()) {
            return parent.putObject(name);
        }
        if (!n.isObject()) {
            throw BypassException.badInput("the runtime config's '" + name + "' is not an object");
        }
        return (ObjectNode) n;
    }

    private static ArrayNode arrayField(ObjectNode parent, String name) {
        JsonNode n = parent.get(name);
        if (n == null || n.isNull()) {
            return parent.putArray(name);
        }
        if (!n.isArray()) {
            throw BypassException.badInput("the runtime config's '" + name + "' is not an array");
        }
        return (ArrayNode) n;
    }
}
