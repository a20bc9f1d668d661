package io.bypass.db;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.util.Json;
import io.bypass.util.Json.Fields;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a site admin writes: one bundle of host files (compat-db/schema/bundle.schema.json documents
 * the format). Validated on construction, so a descriptor that exists is a usable one.
 *
 * @param libraries           absolute host paths or globs of the libraries the bundle provides
 * @param dependencies        whether the DT_NEEDED closure of the libraries comes with them
 * @param excludeDependencies sonames never injected as dependencies (the site knows better)
 * @param mounts              extra files or directories (configuration, provider directories)
 * @param devices             device node paths or globs, e.g. /dev/cxi*
 * @param env                 environment the bundle needs inside the container
 * @param properties          facts the admin knows and bypass cannot read from files, e.g.
 *                            "cuda.brand" = "tesla", "cuda.arch" = "8.0" (copied into the entry)
 * @param libraryPath         host directories searched first for the libraries' dependencies at
 *                            registration, as the host loader searches LD_LIBRARY_PATH (what the
 *                            site's environment module sets for an MPI installed off the default path)
 */
public record BundleDescriptor(
        String name,
        BundleKind kind,
        String version,
        String description,
        List<String> libraries,
        Dependencies dependencies,
        List<String> excludeDependencies,
        List<ExtraMount> mounts,
        List<String> devices,
        Map<String, String> env,
        Activation activation,
        MpiSettings mpi,
        GlibcSettings glibc,
        Map<String, String> properties,
        List<String> libraryPath) {

    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    public enum Dependencies { CLOSURE, NONE }

    /** An extra bind mount; {@code target} defaults to the source path. */
    public record ExtraMount(String source, String target, boolean readOnly) {
    }

    /**
     * When the bundle applies to a container. With nothing set, the kind decides (an MPI bundle
     * applies to containers that carry an MPI of the same family, a libfabric bundle to containers
     * with libfabric.so.1, and so on).
     *
     * @param annotations every one must match (value "*" matches any value)
     * @param sonames     any one present in the container activates the bundle
     * @param always      applies to every container (site choice)
     */
    public record Activation(Map<String, String> annotations, List<String> sonames, boolean always) {
        public static final Activation DEFAULT = new Activation(Map.of(), List.of(), false);

        public Activation {
            annotations = Map.copyOf(annotations);
            sonames = List.copyOf(sonames);
        }

        public boolean isDefault() {
            return annotations.isEmpty() && sonames.isEmpty() && !always;
        }
    }

    /**
     * @param family   "mpich" (the MPICH ABI: MPICH, Cray MPICH, Intel MPI, MVAPICH) or "openmpi";
     *                 null means: from the sonames
     * @param abiCheck "symbols" (default), or Sarus' "major", "full", "strict"
     */
    public record MpiSettings(String family, String abiCheck) {
        public static final MpiSettings DEFAULT = new MpiSettings(null, null);
    }

    /** @param replaceOlder inject this host glibc when the container's is older (the Sarus approach) */
    public record GlibcSettings(boolean replaceOlder) {
        public static final GlibcSettings DEFAULT = new GlibcSettings(false);
    }

    public BundleDescriptor {
        libraries = List.copyOf(libraries);
        excludeDependencies = List.copyOf(excludeDependencies);
        mounts = List.copyOf(mounts);
        devices = List.copyOf(devices);
        env = Map.copyOf(env);
        properties = Map.copyOf(properties);
        libraryPath = List.copyOf(libraryPath);
    }

    /** A descriptor without a libraryPath. */
    public BundleDescriptor(String name, BundleKind kind, String version, String description, List<String> libraries,
                            Dependencies dependencies, List<String> excludeDependencies, List<ExtraMount> mounts,
                            List<String> devices, Map<String, String> env, Activation activation, MpiSettings mpi,
                            GlibcSettings glibc, Map<String, String> properties) {
        this(name, kind, version, description, libraries, dependencies, excludeDependencies, mounts, devices, env, activation,
                mpi, glibc, properties, List.of());
    }

    public static BundleDescriptor fromJson(JsonNode node, String where) {
        Fields f = Fields.of(node, where).onlyKnown("$schema", "name", "kind", "version", "description", "libraries",
                "dependencies", "excludeDependencies", "mounts", "devices", "env", "activation", "mpi", "glibc", "properties",
                "libraryPath");
        String name = f.string("name");
        if (!NAME.matcher(name).matches()) {
            throw BypassException.badInput(f.where("name") + ": '" + name
                    + "' must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        BundleKind kind = BundleKind.parse(f.string("kind"), f.where("kind"));
        List<String> libraries = f.stringList("libraries");
        for (int i = 0; i < libraries.size(); i++) {
            requireAbsolute(libraries.get(i), f.where("libraries[" + i + "]"));
        }
        List<String> devices = f.stringList("devices");
        for (int i = 0; i < devices.size(); i++) {
            String d = devices.get(i);
            requireAbsolute(d, f.where("devices[" + i + "]"));
            if (!d.startsWith("/dev/")) {
                throw BypassException.badInput(f.where("devices[" + i + "]") + ": '" + d + "' is not under /dev");
            }
        }
        if (libraries.isEmpty() && devices.isEmpty() && !f.has("mounts")) {
            throw BypassException.badInput(f.where("libraries") + ": a bundle needs at least one library, device or mount");
        }
        List<String> libraryPath = f.stringList("libraryPath");
        for (int i = 0; i < libraryPath.size(); i++) {
            requireAbsolute(libraryPath.get(i), f.where("libraryPath[" + i + "]"));
        }
        String deps = f.optString("dependencies", "closure");
        Dependencies dependencies = switch (deps) {
            case "closure" -> Dependencies.CLOSURE;
            case "none" -> Dependencies.NONE;
            default -> throw BypassException.badInput(f.where("dependencies") + ": '" + deps + "' (use closure or none)");
        };
        List<ExtraMount> mounts = new ArrayList<>();
        for (Fields m : f.objectList("mounts")) {
            m.onlyKnown("source", "target", "readOnly");
            String source = requireAbsolute(m.string("source"), m.where("source"));
            String target = requireAbsolute(m.optString("target", source), m.where("target"));
            mounts.add(new ExtraMount(source, target, m.optBool("readOnly", true)));
        }
        Map<String, String> env = f.stringMap("env");
        for (String k : env.keySet()) {
            if (!k.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw BypassException.badInput(f.where("env") + ": '" + k + "' is not a valid variable name");
            }
        }
        Activation activation = Activation.DEFAULT;
        Fields a = f.optObject("activation");
        if (a != null) {
            a.onlyKnown("annotations", "sonames", "always");
            activation = new Activation(a.stringMap("annotations"), a.stringList("sonames"), a.optBool("always", false));
        }
        MpiSettings mpi = MpiSettings.DEFAULT;
        Fields m = f.optObject("mpi");
        if (m != null) {
            m.onlyKnown("family", "abiCheck");
            String family = m.optString("family", null);
            if (family != null && !family.equals("mpich") && !family.equals("openmpi") && !family.equals("mpi-abi")) {
                throw BypassException.badInput(m.where("family") + ": '" + family + "' (use mpich, openmpi or mpi-abi)");
            }
            String check = m.optString("abiCheck", null);
            if (check != null) {
                AbiCheck.parse(check, m.where("abiCheck"));
            }
            mpi = new MpiSettings(family, check);
        }
        GlibcSettings glibc = GlibcSettings.DEFAULT;
        Fields g = f.optObject("glibc");
        if (g != null) {
            g.onlyKnown("replaceOlder");
            glibc = new GlibcSettings(g.optBool("replaceOlder", false));
        }
        return new BundleDescriptor(name, kind, f.optString("version", null), f.optString("description", null),
                libraries, dependencies, f.stringList("excludeDependencies"), mounts, devices, env, activation, mpi, glibc,
                f.stringMap("properties"), libraryPath);
    }

    private static String requireAbsolute(String path, String where) {
        if (!path.startsWith("/") || path.indexOf('\0') >= 0) {
            throw BypassException.badInput(where + ": '" + path + "' must be an absolute host path");
        }
        for (String part : path.split("/")) {
            if (part.equals("..")) {
                throw BypassException.badInput(where + ": '" + path + "' must not contain '..'");
            }
        }
        return path;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("name", name);
        o.put("kind", kind.id());
        if (version != null) {
            o.put("version", version);
        }
        if (description != null) {
            o.put("description", description);
        }
        o.set("libraries", Json.array(libraries));
        o.put("dependencies", dependencies.name().toLowerCase(Locale.ROOT));
        if (!excludeDependencies.isEmpty()) {
            o.set("excludeDependencies", Json.array(excludeDependencies));
        }
        if (!mounts.isEmpty()) {
            var arr = o.putArray("mounts");
            for (ExtraMount m : mounts) {
                arr.addObject().put("source", m.source()).put("target", m.target()).put("readOnly", m.readOnly());
            }
        }
        if (!devices.isEmpty()) {
            o.set("devices", Json.array(devices));
        }
        if (!env.isEmpty()) {
            ObjectNode e = o.putObject("env");
            env.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(en -> e.put(en.getKey(), en.getValue()));
        }
        if (!activation.isDefault()) {
            ObjectNode a = o.putObject("activation");
            if (!activation.annotations().isEmpty()) {
                ObjectNode an = a.putObject("annotations");
                activation.annotations().entrySet().stream().sorted(Map.Entry.comparingByKey())
                        .forEach(en -> an.put(en.getKey(), en.getValue()));
            }
            if (!activation.sonames().isEmpty()) {
                a.set("sonames", Json.array(activation.sonames()));
            }
            if (activation.always()) {
                a.put("always", true);
            }
        }
        if (!mpi.equals(MpiSettings.DEFAULT)) {
            ObjectNode m = o.putObject("mpi");
            if (mpi.family() != null) {
                m.put("family", mpi.family());
            }
            if (mpi.abiCheck() != null) {
                m.put("abiCheck", mpi.abiCheck());
            }
        }
        if (glibc.replaceOlder()) {
            o.putObject("glibc").put("replaceOlder", true);
        }
        if (!libraryPath.isEmpty()) {
            o.set("libraryPath", Json.array(libraryPath));
        }
        if (!properties.isEmpty()) {
            ObjectNode pr = o.putObject("properties");
            properties.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(en -> pr.put(en.getKey(), en.getValue()));
        }
        return o;
    }
}
