package io.bypass.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.Finding;
import io.bypass.db.RegisteredDevice;
import io.bypass.util.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The planner's answer: a verdict, the findings that justify it, and the edits every front end
 * (hook, precreate, patch-bundle, CDI, wrappers) realises in its own way. Immutable data only.
 *
 * @param bundles     the bundles that apply to this container
 * @param mounts      host files to bind into the container
 * @param devices     device nodes to create or bind
 * @param env         environment edits
 * @param libraryDir  the in-container directory that holds added libraries (those the container has
 *                    no file for), or null when none were added: the loader must be told about it
 */
public record Plan(
        Verdict verdict,
        List<Finding> findings,
        List<String> bundles,
        List<Mount> mounts,
        List<Device> devices,
        List<EnvEdit> env,
        String libraryDir) {

    /** Where added libraries go inside the container. */
    public static final String LIBRARY_DIR = "/opt/bypass/lib";

    public Plan {
        findings = List.copyOf(findings);
        bundles = List.copyOf(bundles);
        mounts = List.copyOf(mounts);
        devices = List.copyOf(devices);
        env = List.copyOf(env);
    }

    public enum Verdict {
        /** Inject the mounts, devices and environment. */
        INJECT,
        /** The container must not start with these bundles: findings say why. */
        REFUSE,
        /** No bundle applies: nothing to do. */
        NONE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A bind mount of a host file or directory.
     *
     * @param kind REPLACE: over the container's own file for the same soname (the container's
     *             ld.so.cache stays valid); ADD: a library the container lacks, into {@link #LIBRARY_DIR};
     *             EXTRA: a file or directory the descriptor lists
     */
    public record Mount(String source, String target, Kind kind, boolean readOnly, String bundle, String soname) {
        public enum Kind { REPLACE, ADD, EXTRA }
    }

    /** A host device node to make available at {@code target} inside the container. */
    public record Device(RegisteredDevice host, String target, String bundle) {
    }

    /** An environment edit: SET replaces, PREPEND puts the value before the current one with ':'. */
    public record EnvEdit(String name, String value, Action action, String bundle) {
        public enum Action { SET, PREPEND }
    }

    public boolean refused() {
        return verdict == Verdict.REFUSE;
    }

    public boolean hasEdits() {
        return !mounts.isEmpty() || !devices.isEmpty() || !env.isEmpty();
    }

    /** The first error finding, for one-line refusals. */
    public Finding firstError() {
        for (Finding f : findings) {
            if (f.isError()) {
                return f;
            }
        }
        return null;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("verdict", verdict.id());
        o.set("bundles", Json.array(bundles));
        ArrayNode fs = o.putArray("findings");
        for (Finding f : findings) {
            fs.add(f.toJson());
        }
        ObjectNode p = o.putObject("plan");
        ArrayNode ms = p.putArray("mounts");
        for (Mount m : mounts) {
            ObjectNode mo = ms.addObject();
            mo.put("source", m.source());
            mo.put("target", m.target());
            mo.put("kind", m.kind().name().toLowerCase(Locale.ROOT));
            mo.put("readOnly", m.readOnly());
            mo.put("bundle", m.bundle());
            if (m.soname() != null) {
                mo.put("soname", m.soname());
            }
        }
        ArrayNode ds = p.putArray("devices");
        for (Device d : devices) {
            ObjectNode dn = ds.addObject();
            dn.put("source", d.host().path());
            dn.put("target", d.target());
            dn.put("type", String.valueOf(d.host().type()));
            dn.put("major", d.host().major());
            dn.put("minor", d.host().minor());
            dn.put("mode", d.host().mode());
            dn.put("uid", d.host().uid());
            dn.put("gid", d.host().gid());
            dn.put("bundle", d.bundle());
        }
        ArrayNode es = p.putArray("env");
        for (EnvEdit e : env) {
            es.addObject().put("name", e.name()).put("value", e.value())
                    .put("action", e.action().name().toLowerCase(Locale.ROOT)).put("bundle", e.bundle());
        }
        if (libraryDir != null) {
            p.put("libraryDir", libraryDir);
        }
        return o;
    }

    /**
     * The plan {@link #toJson} wrote, exactly (the decision cache stores plans this way). Anything
     * else -- a missing or mistyped field, an unknown verdict, kind or severity -- is an
     * IllegalArgumentException naming the field: a stored plan that does not parse is not used.
     */
    public static Plan fromJson(JsonNode o) {
        Verdict verdict = switch (text(o, "verdict")) {
            case "inject" -> Verdict.INJECT;
            case "refuse" -> Verdict.REFUSE;
            case "none" -> Verdict.NONE;
            default -> throw new IllegalArgumentException("plan: verdict: unknown " + o.get("verdict"));
        };
        List<String> bundles = new ArrayList<>();
        for (JsonNode b : array(o, "bundles")) {
            bundles.add(textValue(b, "bundles[]"));
        }
        List<Finding> findings = new ArrayList<>();
        for (JsonNode f : array(o, "findings")) {
            Finding.Severity sev = switch (text(f, "severity")) {
                case "info" -> Finding.Severity.INFO;
                case "warning" -> Finding.Severity.WARNING;
                case "error" -> Finding.Severity.ERROR;
                default -> throw new IllegalArgumentException("plan: findings[].severity: unknown " + f.get("severity"));
            };
            findings.add(new Finding(sev, text(f, "code"), text(f, "message"), optText(f, "hint"), optText(f, "bundle")));
        }
        JsonNode p = o.get("plan");
        if (p == null || !p.isObject()) {
            throw new IllegalArgumentException("plan: plan: not an object");
        }
        List<Mount> mounts = new ArrayList<>();
        for (JsonNode m : array(p, "mounts")) {
            Mount.Kind kind = switch (text(m, "kind")) {
                case "replace" -> Mount.Kind.REPLACE;
                case "add" -> Mount.Kind.ADD;
                case "extra" -> Mount.Kind.EXTRA;
                default -> throw new IllegalArgumentException("plan: mounts[].kind: unknown " + m.get("kind"));
            };
            JsonNode ro = m.get("readOnly");
            if (ro == null || !ro.isBoolean()) {
                throw new IllegalArgumentException("plan: mounts[].readOnly: not a boolean");
            }
            mounts.add(new Mount(text(m, "source"), text(m, "target"), kind, ro.booleanValue(), text(m, "bundle"),
                    optText(m, "soname")));
        }
        List<Device> devices = new ArrayList<>();
        for (JsonNode d : array(p, "devices")) {
            String type = text(d, "type");
            if (!type.equals("c") && !type.equals("b")) {
                throw new IllegalArgumentException("plan: devices[].type: " + type + " (expected c or b)");
            }
            devices.add(new Device(new RegisteredDevice(text(d, "source"), type.charAt(0), integer(d, "major"),
                    integer(d, "minor"), integer(d, "mode"), integer(d, "uid"), integer(d, "gid")), text(d, "target"),
                    text(d, "bundle")));
        }
        List<EnvEdit> env = new ArrayList<>();
        for (JsonNode e : array(p, "env")) {
            EnvEdit.Action action = switch (text(e, "action")) {
                case "set" -> EnvEdit.Action.SET;
                case "prepend" -> EnvEdit.Action.PREPEND;
                default -> throw new IllegalArgumentException("plan: env[].action: unknown " + e.get("action"));
            };
            env.add(new EnvEdit(text(e, "name"), text(e, "value"), action, text(e, "bundle")));
        }
        return new Plan(verdict, findings, bundles, mounts, devices, env, optText(p, "libraryDir"));
    }

    private static JsonNode array(JsonNode o, String field) {
        JsonNode a = o.get(field);
        if (a == null || !a.isArray()) {
            throw new IllegalArgumentException("plan: " + field + ": not an array");
        }
        return a;
    }

    private static String text(JsonNode o, String field) {
        return textValue(o.get(field), field);
    }

    private static String textValue(JsonNode v, String field) {
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("plan: " + field + ": not a string");
        }
        return v.textValue();
    }

    private static String optText(JsonNode o, String field) {
        JsonNode v = o.get(field);
        return v == null || v.isNull() ? null : textValue(v, field);
    }

    private static int integer(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || !v.isInt()) {
            throw new IllegalArgumentException("plan: " + field + ": not an integer");
        }
        return v.intValue();
    }
}
