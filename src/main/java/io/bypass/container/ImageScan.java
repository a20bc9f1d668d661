package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.elf.ElfFacts;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The image-wide part of a profile: every ELF object in the places a loader or a shell could take
 * libraries and programs from, so that every copy of a replaced library is found (a search path
 * set later by a script cannot route around a replacement) and every object that would bind to a
 * replaced library can be checked (interpreter extension modules, the container's own MPI
 * siblings, programs a script runs).
 *
 * <p>Flat directories (the loader's directories, PATH, LD_LIBRARY_PATH, RUNPATH/RPATH met) are
 * listed; software prefixes (/opt, /usr/local, /app, interpreter library trees) are walked
 * without following symlinked directories. Only names that can be ELF objects are opened, and
 * only their headers and dynamic section are read; symbols are read later, for consumers alone.
 * The walk has its own limits, below the profile's budget, so that passing one ends the scan
 * with a finding saying what was not looked at, never silently.
 */
final class ImageScan {
    /** Directory entries looked at in all. */
    static final int MAX_ENTRIES = 150_000;
    /** ELF files read in all. */
    static final int MAX_OBJECTS = 12_000;
    static final int MAX_DEPTH = 12;

    /** Software prefixes walked recursively; the interpreter trees are where extension modules live. */
    static final List<String> PREFIXES = List.of("/opt", "/usr/local", "/app", "/usr/lib/python3", "/usr/lib/python2.7",
            "/usr/lib/R/site-library", "/usr/lib/R/library", "/usr/local/lib/R", "/usr/lib/x86_64-linux-gnu/perl5",
            "/usr/lib/aarch64-linux-gnu/perl5", "/usr/lib/julia", "/usr/share/julia", "/root", "/home", "/usr/libexec");

    /** File name endings that are never ELF objects: skipped without opening them. */
    private static final Set<String> NOT_ELF = Set.of("py", "pyc", "pyi", "pyx", "pxd", "h", "hh", "hpp", "hxx", "c", "cc",
            "cpp", "cxx", "f", "f90", "f77", "mod", "inc", "txt", "md", "rst", "html", "htm", "css", "js", "json", "xml",
            "yml", "yaml", "toml", "ini", "cfg", "conf", "png", "jpg", "jpeg", "gif", "svg", "ico", "pdf", "ps", "gz",
            "bz2", "xz", "zst", "zip", "tar", "whl", "egg", "a", "o", "la", "pc", "cmake", "sh", "bash", "csh", "pl", "pm",
            "pod", "rb", "r", "rd", "rds", "rdb", "rdx", "csv", "dat", "npz", "npy", "mo", "po", "ttf", "otf", "woff",
            "tex", "m4", "in", "am", "mk", "log", "lua", "jl", "typed", "tmpl", "def", "sym", "map", "mat", "hdf5", "h5",
            "nc", "pem", "crt", "key", "desktop", "service", "gir", "typelib", "qm", "ts", "go", "rs", "java", "class",
            "jar", "properties", "el", "elc", "info", "1", "3", "5", "7", "8", "man", "list", "sum");

    /** One ELF object of the image: its canonical path and facts (symbols not read). */
    record Object(String path, ElfFacts facts) {
    }

    private final ContainerRoot root;
    private final RootfsView view;
    private final String elfClass;
    private final String machine;
    private final Set<String> interest;
    private final Map<String, Object> objects = new LinkedHashMap<>();
    private final Map<String, Set<String>> providers = new TreeMap<>();
    private final Set<String> visitedDirs = new HashSet<>();
    private final List<String> searched = new ArrayList<>();
    private final boolean everyObject;
    private final Set<String> stems = new HashSet<>();
    private int entries;
    private String incomplete;

    /**
     * @param interest    sonames whose providers are wanted (every copy of a library a bundle may replace)
     * @param everyObject read every ELF object (consumers are wanted too); else only files named
     *                    like a soname of interest, which is all a loader can take a copy from by name
     */
    ImageScan(ContainerRoot root, RootfsView view, String elfClass, String machine, Set<String> interest,
              boolean everyObject) {
        this.root = root;
        this.view = view;
        this.elfClass = elfClass;
        this.machine = machine;
        this.interest = interest;
        this.everyObject = everyObject;
        for (String so : interest) {
            int i = so.indexOf(".so");
            if (i > 0) {
                stems.add(so.substring(0, i));
            }
        }
    }

    /** A file named for a soname of interest (libmpich.so.12, libmpich.so.12.4.1), whatever its version. */
    private boolean namedLikeInterest(String name) {
        int i = name.indexOf(".so");
        return i > 0 && stems.contains(name.substring(0, i));
    }

    /** Lists one directory the loader or a shell searches (no recursion). */
    void flat(String dir) {
        if (incomplete != null || dir == null || !dir.startsWith("/")) {
            return;
        }
        if (!visitedDirs.add("F" + dir)) {
            return;
        }
        ContainerRoot.Listing listing = listing(dir);
        if (listing == null || listing.entries().isEmpty()) {
            return;
        }
        searched.add(dir);
        // Another name of a directory already listed (/lib/x86_64-linux-gnu and /usr/lib/... in a
        // merged /usr, /bin and /usr/bin): the same files, already considered.
        if (!listing.path().equals(dir) && !visitedDirs.add("F" + listing.path())) {
            return;
        }
        String canonical = listing.path();
        for (ContainerRoot.DirEntry e : listing.entries()) {
            if (!count()) {
                return;
            }
            String path = (canonical.endsWith("/") ? canonical : canonical + "/") + e.name();
            if (e.isRegularFile() || e.type() == ContainerRoot.DirEntry.DT_UNKNOWN) {
                consider(path, e.name());
            } else if (e.isSymbolicLink() && interest.contains(e.name())) {
                // A link named for a soname of interest in a searched directory: the loader opens
                // whatever it leads to, wherever that is.
                consider(path, e.name());
            }
        }
    }

    /** Walks a software prefix recursively, not following symlinked directories. */
    void tree(String dir) {
        if (incomplete != null) {
            return;
        }
        java.util.Optional<ContainerRoot.Node> top = root.resolveNoFollowLast(dir);
        if (top.isEmpty() || !top.get().stat().isDirectory()) {
            return;
        }
        searched.add(dir + "/**");
        walk(top.get().path(), 0);
    }

    private void walk(String dir, int depth) {
        if (incomplete != null || depth > MAX_DEPTH || !visitedDirs.add("T" + dir)) {
            return;
        }
        for (ContainerRoot.DirEntry e : list(dir)) {
            if (!count()) {
                return;
            }
            String path = (dir.equals("/") ? "" : dir) + "/" + e.name();
            if (e.isDirectory()) {
                walk(path, depth + 1);
            } else if (e.isRegularFile() || e.type() == ContainerRoot.DirEntry.DT_UNKNOWN) {
                consider(path, e.name());
            } else if (e.isSymbolicLink() && interest.contains(e.name())) {
                consider(path, e.name());
            }
        }
    }

    private List<ContainerRoot.DirEntry> list(String dir) {
        ContainerRoot.Listing l = listing(dir);
        return l == null ? List.of() : l.entries();
    }

    private ContainerRoot.Listing listing(String dir) {
        try {
            return root.listing(dir);
        } catch (ProfileBudget.Exceeded e) {
            if (!e.limit().equals("dir-entries")) {
                throw e;   // the whole profile's budget is spent: nothing more can be decided
            }
            // One huge directory ends the walk, not the profile: the finding says what was not seen.
            stop(e.getMessage());
            return null;
        }
    }

    private boolean count() {
        if (++entries > MAX_ENTRIES) {
            stop("more than " + MAX_ENTRIES + " directory entries");
            return false;
        }
        return true;
    }

    private void stop(String why) {
        if (incomplete == null) {
            incomplete = why;
        }
    }

    private static boolean maybeElf(String name) {
        if (name.contains(".so")) {
            return true;
        }
        int dot = name.lastIndexOf('.');
        return dot < 0 || !NOT_ELF.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private void consider(String path, String name) {
        if (!maybeElf(name) || (!everyObject && !namedLikeInterest(name))) {
            return;
        }
        if (objects.size() >= MAX_OBJECTS) {
            stop("more than " + MAX_OBJECTS + " ELF files");
            return;
        }
        FileView.ElfFile elf;
        try {
            elf = view.readElf(path, FileView.NO_SYMBOLS).orElse(null);
        } catch (ProfileBudget.Exceeded e) {
            throw e;
        } catch (BypassException notElf) {
            return;
        }
        if (elf == null || !elfClass.equals(elf.facts().elfClass()) || !machine.equals(elf.facts().machine())) {
            return;
        }
        objects.putIfAbsent(elf.path(), new Object(elf.path(), elf.facts()));
        String soname = elf.facts().soname();
        if (soname != null && interest.contains(soname)) {
            provide(soname, elf.path());
        }
        if (interest.contains(name) && !name.equals(soname)) {
            provide(name, elf.path());
        }
        // Where an object's own search path leads, the loader goes too.
        for (String d : elf.facts().runpath()) {
            flat(expandOrigin(d, elf.path()));
        }
        for (String d : elf.facts().rpath()) {
            flat(expandOrigin(d, elf.path()));
        }
    }

    private String expandOrigin(String dir, String objectPath) {
        String origin = objectPath.substring(0, Math.max(1, objectPath.lastIndexOf('/')));
        String lib = "ELF64".equals(elfClass) ? "lib64" : "lib";
        String out = dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin).replace("${LIB}", lib).replace("$LIB", lib);
        return out.startsWith("/") && out.indexOf('$') < 0 ? out : null;
    }

    /** Every ELF object found, by canonical path. */
    Map<String, Object> objects() {
        return objects;
    }

    private void provide(String soname, String path) {
        Set<String> paths = providers.get(soname);
        if (paths == null) {
            paths = new LinkedHashSet<>();
            providers.put(soname, paths);
        }
        paths.add(path);
    }

    /** For each soname of interest, the canonical paths of every file in the image that provides it. */
    Map<String, List<String>> providers() {
        Map<String, List<String>> out = new TreeMap<>();
        for (Map.Entry<String, Set<String>> p : providers.entrySet()) {
            out.put(p.getKey(), List.copyOf(p.getValue()));
        }
        return out;
    }

    /** The directories looked at ("DIR/**" for a walked prefix). */
    List<String> searched() {
        return searched;
    }

    /** Why the scan stopped early, or null when it saw everything. */
    String incomplete() {
        return incomplete;
    }

    /**
     * The consumers among the objects: those needing a soname of {@code sonames} directly, and
     * then those needing a consumer library, until nothing is added (a library built on MPI makes
     * its users bind to MPI too).
     */
    Set<String> consumersOf(Set<String> sonames) {
        Map<String, ElfFacts> facts = new LinkedHashMap<>();
        for (Object o : objects.values()) {
            facts.put(o.path(), o.facts());
        }
        return consumers(facts, sonames);
    }

    /** The fixpoint of {@link #consumersOf} over any set of objects (path to facts), in their order. */
    static Set<String> consumers(Map<String, ElfFacts> objects, Set<String> sonames) {
        Set<String> consumers = new LinkedHashSet<>();
        Set<String> needs = new HashSet<>(sonames);
        boolean added = true;
        while (added) {
            added = false;
            for (Map.Entry<String, ElfFacts> o : objects.entrySet()) {
                if (consumers.contains(o.getKey())) {
                    continue;
                }
                for (String n : o.getValue().needed()) {
                    if (needs.contains(n)) {
                        consumers.add(o.getKey());
                        String so = o.getValue().soname();
                        if (so != null && !sonames.contains(so)) {
                            needs.add(so);
                        }
                        added = true;
                        break;
                    }
                }
            }
        }
        return consumers;
    }
}
