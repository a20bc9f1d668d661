package io.bypass.plan;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.Finding;
import io.bypass.db.RegisteredDevice;
import io.bypass.util.Json;

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
        findings.forEach(f -> fs.add(f.toJson()));
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
}
