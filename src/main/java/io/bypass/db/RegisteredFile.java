package io.bypass.db;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.util.Json;
import io.bypass.util.Json.Fields;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One host library of a registered bundle, with the ELF facts the planner needs precomputed so the
 * hook never parses host files at container start.
 *
 * @param path                the host file (symlinks resolved)
 * @param role                a library the admin listed, or a dependency found by the closure
 * @param requestedAs         the descriptor path or glob match (libraries), or the soname (dependencies)
 * @param soname              DT_SONAME, or the file name when the file has none
 * @param libtoolVersion      the numbers after ".so." in the real file name ("12.2.2"), or ""
 * @param versionRequirements per needed file, the version names required from it
 * @param maxGlibc            the highest GLIBC_x.y this file requires, or null
 * @param definedSymbols      names of defined dynamic symbols; kept only for the listed libraries of
 *                            kinds whose rules compare symbols (MPI), empty otherwise
 * @param mtime               modification time at registration (epoch ms; 0 unknown): with the size,
 *                            what a hook checks before mounting, since hashing costs too much there
 */
public record RegisteredFile(
        String path,
        Role role,
        String requestedAs,
        String soname,
        String libtoolVersion,
        String sha256,
        long size,
        String elfClass,
        String machine,
        List<String> needed,
        List<String> versionDefinitions,
        Map<String, List<String>> versionRequirements,
        String maxGlibc,
        List<String> definedSymbols,
        long mtime) {

    public enum Role { LIBRARY, DEPENDENCY }

    public RegisteredFile {
        needed = List.copyOf(needed);
        versionDefinitions = List.copyOf(versionDefinitions);
        Map<String, List<String>> copy = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> e : versionRequirements.entrySet()) {
            copy.put(e.getKey(), List.copyOf(e.getValue()));
        }
        versionRequirements = java.util.Collections.unmodifiableMap(copy);
        definedSymbols = List.copyOf(definedSymbols);
    }

    /** A file whose modification time is not known (tests, older entries). */
    public RegisteredFile(String path, Role role, String requestedAs, String soname, String libtoolVersion, String sha256,
                          long size, String elfClass, String machine, List<String> needed, List<String> versionDefinitions,
                          Map<String, List<String>> versionRequirements, String maxGlibc, List<String> definedSymbols) {
        this(path, role, requestedAs, soname, libtoolVersion, sha256, size, elfClass, machine, needed, versionDefinitions,
                versionRequirements, maxGlibc, definedSymbols, 0);
    }

    /** The file name a dependency gets in the container's library directory. */
    public String fileName() {
        int slash = path.lastIndexOf('/');
        return path.substring(slash + 1);
    }

    ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("path", path);
        o.put("role", role == Role.LIBRARY ? "library" : "dependency");
        o.put("requestedAs", requestedAs);
        o.put("soname", soname);
        o.put("libtoolVersion", libtoolVersion);
        o.put("sha256", sha256);
        o.put("size", size);
        o.put("elfClass", elfClass);
        o.put("machine", machine);
        o.set("needed", Json.array(needed));
        o.set("versionDefinitions", Json.array(versionDefinitions));
        ObjectNode req = o.putObject("versionRequirements");
        versionRequirements.forEach((k, v) -> req.set(k, Json.array(v)));
        if (maxGlibc != null) {
            o.put("maxGlibc", maxGlibc);
        }
        if (!definedSymbols.isEmpty()) {
            // One string, not thousands of array elements: hooks parse this entry at every start.
            o.put("definedSymbols", String.join(" ", definedSymbols));
        }
        if (mtime != 0) {
            o.put("mtime", mtime);
        }
        return o;
    }

    private static List<String> symbols(Fields f) {
        com.fasterxml.jackson.databind.JsonNode n = f.raw().get("definedSymbols");
        if (n != null && n.isTextual()) {
            String v = n.textValue();
            return v.isEmpty() ? List.of() : List.of(v.split(" "));
        }
        return f.stringList("definedSymbols");
    }

    static RegisteredFile fromJson(Fields f) {
        String role = f.string("role");
        Map<String, List<String>> req = new LinkedHashMap<>();
        Fields r = f.optObject("versionRequirements");
        if (r != null) {
            for (java.util.Iterator<String> names = r.raw().fieldNames(); names.hasNext(); ) {
                String name = names.next();
                req.put(name, r.stringList(name));
            }
        }
        return new RegisteredFile(f.string("path"),
                switch (role) {
                    case "library" -> Role.LIBRARY;
                    case "dependency" -> Role.DEPENDENCY;
                    default -> throw io.bypass.BypassException.badInput(f.where("role") + ": unknown role '" + role + "'");
                },
                f.string("requestedAs"), f.string("soname"), f.optString("libtoolVersion", ""), f.string("sha256"),
                f.longValue("size"), f.string("elfClass"), f.string("machine"), f.stringList("needed"),
                f.stringList("versionDefinitions"), req, f.optString("maxGlibc", null), symbols(f),
                f.optLong("mtime", 0));
    }
}
