package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.Finding;
import io.bypass.elf.ElfFacts;
import io.bypass.elf.ElfReader;
import io.bypass.elf.Sonames;
import io.bypass.util.Versions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Builds a {@link ContainerProfile} from a rootfs directory. Reads files only, by descriptor
 * through {@link ContainerRoot} so no container symlink or race leads out of the rootfs, within a
 * {@link ProfileBudget}; never executes anything.
 */
public final class Profiler {
    /** The MPI sonames looked up in every container, whatever the database holds. */
    public static final List<String> MPI_SONAMES = List.of(
            "libmpi.so.12", "libmpich.so.12", "libmpicxx.so.12", "libmpichcxx.so.12", "libmpifort.so.12",
            "libmpichfort.so.12", "libmpichf90.so.12",
            "libmpi.so.40", "libmpi_mpifh.so.40", "libmpi_usempif08.so.40", "libmpi_usempi_ignore_tkr.so.40",
            "libmpi_cxx.so.40", "libmpi.so.20", "libmpi.so.1",
            "libmpi_abi.so.1", "libpmpi_abi.so.1");
    public static final String LIBFABRIC = "libfabric.so.1";
    public static final String CUDA_COMPAT_DIR = "/usr/local/cuda/compat";
    private static final java.util.regex.Pattern CUDA_COMPAT = java.util.regex.Pattern.compile("libcuda\\.so\\.(\\d+\\.\\d+(\\.\\d+)?)");
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static final String ANN_MPI_IMPLEMENTATION = "org.supercontainers.mpi.implementation";
    public static final String ANN_MPI_PROVIDER = "org.supercontainers.mpi.provider";
    public static final String ANN_MPI_MODE = "org.supercontainers.mpi.portability.mode";
    public static final String ANN_GLIBC_VERSION = "org.supercontainers.glibc.version";
    public static final String ANN_LIBC_IMPLEMENTATION = "org.supercontainers.libc.implementation";
    public static final String ANN_LIBC_PROVIDER = "org.supercontainers.libc.provider";
    public static final String ANN_LIBFABRIC_ABI = "org.supercontainers.libfabric.abi.version";
    public static final String ANN_LIBFABRIC_ABI_SHORT = "org.supercontainers.libfabric.abi";

    /**
     * What to profile.
     *
     * @param exec           the program inside the container whose imports matter, or null
     * @param execMustBeElf  true for `check --exec` (a script there is bad input); false for hooks,
     *                       whose entrypoint may legitimately be a script
     * @param extraSonames   sonames to look up besides the fixed ones (those the database's bundles
     *                       provide or need)
     * @param args           the whole command line (process.args); empty means just {@code exec}
     */
    public record Request(Path rootfs, Map<String, String> annotations, Map<String, String> env, String exec,
                          boolean execMustBeElf, Collection<String> extraSonames, List<String> args) {
        public Request {
            args = args == null || args.isEmpty() ? (exec == null ? List.of() : List.of(exec)) : List.copyOf(args);
        }

        /** A request for the program alone, without its arguments. */
        public Request(Path rootfs, Map<String, String> annotations, Map<String, String> env, String exec,
                       boolean execMustBeElf, Collection<String> extraSonames) {
            this(rootfs, annotations, env, exec, execMustBeElf, extraSonames, List.of());
        }
    }

    private Profiler() {
    }

    public static ContainerProfile profile(Request req) {
        return profile(req, ProfileBudget.standard());
    }

    /**
     * Profiles with the given budget. A budget passed ends the profile: the result then holds only
     * the finding {@code profile-budget} (an error), naming the limit, so the plan refuses.
     */
    public static ContainerProfile profile(Request req, ProfileBudget budget) {
        return profile(req, budget, null);
    }

    /**
     * Profiles with every lookup and read reported to observer (null: none), for a decision
     * cache to record what the profile rests on.
     */
    public static ContainerProfile profile(Request req, ProfileBudget budget, ContainerRoot.Observer observer) {
        try (ContainerRoot root = ContainerRoot.open(req.rootfs(), budget, ContainerRoot.resolverFromProperty()).observe(observer)) {
            try {
                return profile(req, root);
            } catch (ProfileBudget.Exceeded e) {
                Finding f = Finding.error("profile-budget", "the container's profile was stopped: " + e.getMessage(),
                        "bypass bounds what it reads of an image; simplify the image's search paths (LD_LIBRARY_PATH, "
                                + "RUNPATH) or directories, or ask the site to raise the limit");
                return new ContainerProfile(root.hostDir().toString(), "ELF64", hostMachine(),
                        new ContainerProfile.Libc("unknown", null, null, List.of()), false, List.of(), Map.of(), null,
                        null, null, null, req.annotations(), req.env(), List.of(f));
            }
        }
    }

    private static ContainerProfile profile(Request req, ContainerRoot root) {
        RootfsView view = new RootfsView(root);
        List<Finding> findings = new ArrayList<>();
        if (view.cacheProblem() != null) {
            findings.add(Finding.warning("ld-cache-unusable", view.cacheProblem(),
                    "the default library directories were searched instead"));
        }
        List<String> ldLibraryPath = splitPath(req.env().get("LD_LIBRARY_PATH"));

        // What the entrypoint really runs: the programs whose closures are checked, or the image.
        EntryPoint.Result entry;
        List<LibraryResolver.Loaded> programs = new ArrayList<>();
        List<EntryPoint.Target> programTargets = new ArrayList<>();
        if (req.execMustBeElf() && req.exec() != null) {
            // `check --exec`: a program that is not there is a mistake of the caller's.
            String path = req.exec().contains("/") ? req.exec() : null;
            if (path != null && !root.isRegularFile(path.startsWith("/") ? path : "/" + path)) {
                throw BypassException.badInput("--exec: program " + path + " does not exist in the container"
                        + " (or is not a regular file)");
            }
        }
        entry = EntryPoint.analyse(root, req.args(), req.env());
        if (req.execMustBeElf() && entry.targets().isEmpty() && entry.wholeImage() != null
                && (entry.wholeImage().contains("is not found in the container")
                || entry.wholeImage().contains("is not an ELF program"))) {
            throw BypassException.badInput("--exec: " + entry.wholeImage());
        }
        if (entry.targets().isEmpty() && entry.wholeImage() != null && !req.args().isEmpty()) {
            findings.add(Finding.info("program-not-checked", entry.wholeImage()));
        }
        LibraryResolver loader = new LibraryResolver(view, "ELF64", hostMachine(), List.of());
        for (EntryPoint.Target t : entry.targets()) {
            try {
                programs.add(loader.load(t.path(), "program"));
                programTargets.add(t);
            } catch (ProfileBudget.Exceeded e) {
                throw e;
            } catch (BypassException e) {
                if (req.execMustBeElf() && programs.isEmpty() && entry.targets().size() == 1) {
                    throw BypassException.badInput("--exec: " + e.getMessage());
                }
                findings.add(Finding.info("program-not-checked", e.getMessage()));
            }
        }
        // The first program decides the ABI (class and machine); the host's is the default.
        String elfClass = programs.isEmpty() ? "ELF64" : programs.get(0).facts().elfClass();
        String machine = programs.isEmpty() ? hostMachine() : programs.get(0).facts().machine();
        LibraryResolver resolver = new LibraryResolver(view, elfClass, machine, ldLibraryPath, SYMBOLS_MATTER,
                root.budget());

        ContainerProfile.Exec exec = null;
        Map<String, LibraryResolver.Loaded> loadedBySoname = new LinkedHashMap<>();
        Map<String, ContainerProfile.Consumer> consumers = new LinkedHashMap<>();
        List<String> loaded = new ArrayList<>();
        List<ContainerProfile.Import> imports = new ArrayList<>();
        Map<String, String> missing = new LinkedHashMap<>();
        Set<String> consumerSonames = consumerSonames(req, view.ldCache());
        for (int i = 0; i < programs.size(); i++) {
            LibraryResolver.Loaded program = programs.get(i);
            EntryPoint.Target target = programTargets.get(i);
            // A search path the script sets in front of the program is the one its loader uses.
            LibraryResolver r = java.util.Objects.equals(target.ldLibraryPath(), req.env().get("LD_LIBRARY_PATH")) ? resolver
                    : new LibraryResolver(view, elfClass, machine, splitPath(target.ldLibraryPath()), SYMBOLS_MATTER,
                    root.budget());
            LibraryResolver.Closure closure = r.closure(program, true);
            Set<String> closureConsumers = closureConsumers(closure, consumerSonames);
            for (LibraryResolver.Loaded l : closure.objects()) {
                if (!loaded.contains(l.canonicalPath())) {
                    loaded.add(l.canonicalPath());
                }
                if (l != program && l.facts().soname() != null) {
                    loadedBySoname.putIfAbsent(l.facts().soname(), l);
                }
                String fileName = l.path().substring(l.path().lastIndexOf('/') + 1);
                loadedBySoname.putIfAbsent(fileName, l);
                if (consumers.containsKey(l.canonicalPath())) {
                    continue;
                }
                addImports(l.canonicalPath(), l.facts(), imports);
                if (closureConsumers.contains(l.canonicalPath())) {
                    consumers.put(l.canonicalPath(), new ContainerProfile.Consumer(l.canonicalPath(),
                            (l == program ? "" : "loaded by ") + program.canonicalPath() + " (" + target.why() + ")",
                            l.facts().bindNow(), l.facts().needed()));
                }
            }
            for (Map.Entry<String, String> m : closure.missing().entrySet()) {
                missing.putIfAbsent(m.getKey(), m.getValue());
            }
        }
        for (Map.Entry<String, String> m : missing.entrySet()) {
            findings.add(Finding.warning("library-not-found", "the container's loader finds no " + m.getKey()
                    + " (needed by " + m.getValue() + ")", "the program may fail to start unless a bundle provides it"));
        }

        // Every copy of a library of interest anywhere a loader or a script could take it from,
        // and, when the targets are not all there is, every consumer in the image.
        LdCache cache = view.ldCache();
        Set<String> interest = new LinkedHashSet<>(consumerSonames);
        for (String so : req.extraSonames()) {
            if (!Sonames.isGlibcFamily(so)) {
                interest.add(so);
            }
        }
        // Consumers come from the targets' closures unless the whole image counts: then every
        // object is read, else only files named like the libraries a bundle may replace.
        ImageScan scan = new ImageScan(root, view, elfClass, machine, interest, entry.wholeImage() != null);
        List<String> loaderDirs = loaderDirs(cache, resolver, root);
        for (String d : loaderDirs) {
            scan.flat(d);
        }
        for (String d : resolver.defaultDirs()) {
            scan.flat(d);
        }
        for (String d : ldLibraryPath) {
            scan.flat(d);
        }
        for (EntryPoint.Target t : programTargets) {
            for (String d : splitPath(t.ldLibraryPath())) {
                scan.flat(d);
            }
        }
        for (String d : splitPath(req.env().getOrDefault("PATH", DEFAULT_PATH))) {
            scan.flat(d);
        }
        for (String prefix : ImageScan.PREFIXES) {
            scan.tree(prefix);
        }
        if (scan.incomplete() != null) {
            findings.add(Finding.warning("scan-incomplete", "the image was not searched to the end: " + scan.incomplete()
                    + "; copies of MPI libraries and their consumers past that point were not checked",
                    "keep software in fewer files under /opt, /usr/local and /app, or give the program to check"));
        }
        String scope;
        if (entry.wholeImage() != null) {
            scope = "image";
            findings.add(Finding.info("consumers-image", "every MPI consumer in the image is checked: "
                    + entry.wholeImage()));
            int added = 0;
            for (String path : scan.consumersOf(consumerSonames)) {
                if (consumers.containsKey(path) || added >= MAX_IMAGE_CONSUMERS) {
                    continue;
                }
                Optional<FileView.ElfFile> elf = readConsumer(view, path);
                if (elf.isEmpty()) {
                    continue;
                }
                added++;
                addImports(path, elf.get().facts(), imports);
                if (!loaded.contains(path)) {
                    loaded.add(path);
                }
                consumers.put(path, new ContainerProfile.Consumer(path, "in the image", elf.get().facts().bindNow(),
                        elf.get().facts().needed()));
            }
        } else {
            scope = programs.size() > 1 || !entry.notes().isEmpty() ? "script" : "program";
        }
        if (!programs.isEmpty() || "image".equals(scope)) {
            String shown = req.exec() != null ? req.exec() : "the image";
            exec = new ContainerProfile.Exec(shown, programs.isEmpty() ? null : programs.get(0).canonicalPath(), loaded,
                    missing, imports);
        }

        ContainerProfile.Libc libc = detectLibc(resolver, view, root);

        Set<String> wanted = new LinkedHashSet<>(MPI_SONAMES);
        wanted.add(LIBFABRIC);
        wanted.addAll(req.extraSonames());
        if (cache != null) {
            for (LdCache.Entry e : cache.entries()) {
                if (Sonames.mpiFamily(e.soname()) != null) {
                    wanted.add(e.soname());
                }
            }
        }
        Map<String, ContainerLibrary> libraries = new TreeMap<>();
        for (String soname : wanted) {
            LibraryResolver.Loaded l = loadedBySoname.get(soname);
            if (l == null) {
                l = resolver.find(soname, null, null).orElse(null);
            }
            if (l != null) {
                libraries.put(soname, toLibrary(soname, l));
            }
        }

        ContainerProfile.Mpi mpi = detectMpi(libraries, loadedBySoname, findings);
        ContainerProfile.Libfabric libfabric = null;
        ContainerLibrary fab = libraries.get(LIBFABRIC);
        if (fab != null) {
            List<String> fabricVersions = new ArrayList<>();
            for (String v : fab.versionDefinitions()) {
                if (v.startsWith("FABRIC_")) {
                    fabricVersions.add(v);
                }
            }
            libfabric = new ContainerProfile.Libfabric(fab, fabricVersions);
        }
        checkAnnotations(req.annotations(), libc, mpi, libfabric, findings);
        ContainerProfile.CudaCompat cudaCompat = null;
        for (String name : root.list(CUDA_COMPAT_DIR)) {
            java.util.regex.Matcher m = CUDA_COMPAT.matcher(name);
            if (m.matches() && root.isRegularFile(CUDA_COMPAT_DIR + "/" + name)) {
                cudaCompat = new ContainerProfile.CudaCompat(CUDA_COMPAT_DIR, m.group(1));
            }
        }
        return new ContainerProfile(root.hostDir().toString(), elfClass, machine, libc, cache != null,
                loaderDirs, libraries, mpi,
                libfabric, cudaCompat, exec, req.annotations(), req.env(), findings, scope,
                new ArrayList<>(consumers.values()), scan.providers());
    }

    /** Consumers read with their symbols in an image-wide profile, at most. */
    static final int MAX_IMAGE_CONSUMERS = 2_000;

    /** The sonames whose consumers are checked: every MPI library and libfabric. */
    static Set<String> consumerSonames(Request req, LdCache cache) {
        Set<String> out = new LinkedHashSet<>(MPI_SONAMES);
        out.add(LIBFABRIC);
        for (String so : req.extraSonames()) {
            if (Sonames.mpiFamily(so) != null) {
                out.add(so);
            }
        }
        if (cache != null) {
            for (LdCache.Entry e : cache.entries()) {
                if (Sonames.mpiFamily(e.soname()) != null) {
                    out.add(e.soname());
                }
            }
        }
        return out;
    }

    /** The objects of a closure that bind to a soname of interest, directly or through a consumer library. */
    private static Set<String> closureConsumers(LibraryResolver.Closure closure, Set<String> sonames) {
        Map<String, ElfFacts> objects = new LinkedHashMap<>();
        for (LibraryResolver.Loaded l : closure.objects()) {
            objects.putIfAbsent(l.canonicalPath(), l.facts());
        }
        return ImageScan.consumers(objects, sonames);
    }

    private static Optional<FileView.ElfFile> readConsumer(RootfsView view, String path) {
        try {
            return view.readElf(path, FileView.ALL_SYMBOLS);
        } catch (ProfileBudget.Exceeded e) {
            throw e;
        } catch (BypassException e) {
            return Optional.empty();
        }
    }

    private static void addImports(String path, ElfFacts facts, List<ContainerProfile.Import> imports) {
        for (ElfFacts.DynamicSymbol s : facts.undefinedSymbols()) {
            imports.add(new ContainerProfile.Import(s.name(), s.version(), path, "WEAK".equals(s.binding())));
        }
    }

    /**
     * Symbols are read only where a rule compares them: the MPI and libfabric libraries (what they
     * define) and the objects that load them (what they import). Everything else needs only the
     * facts the loader uses.
     */
    /**
     * {@link #symbolsMatter} and {@link #bannerVersion} as the resolver and the reader take them:
     * classes, not method references, as a cold hook links no lambda it can do without
     * (docs/speed.md).
     */
    private static final java.util.function.Predicate<ElfFacts> SYMBOLS_MATTER = new java.util.function.Predicate<>() {
        @Override
        public boolean test(ElfFacts f) {
            return symbolsMatter(f);
        }
    };
    private static final ContainerRoot.FileFunction<String> BANNER_READER = new ContainerRoot.FileFunction<>() {
        @Override
        public String apply(ContainerFile file) throws IOException {
            return bannerVersion(file);
        }
    };

    static boolean symbolsMatter(ElfFacts f) {
        if (Sonames.mpiFamily(f.soname()) != null || LIBFABRIC.equals(f.soname())) {
            return true;
        }
        for (String n : f.needed()) {
            if (Sonames.mpiFamily(n) != null || LIBFABRIC.equals(n)) {
                return true;
            }
        }
        return false;
    }

    /** The directories the container's own ldconfig scanned (from its cache), else the defaults that exist. */
    static List<String> loaderDirs(LdCache cache, LibraryResolver resolver, ContainerRoot root) {
        Set<String> dirs = new LinkedHashSet<>();
        if (cache != null) {
            for (LdCache.Entry e : cache.entries()) {
                int slash = e.path().lastIndexOf('/');
                if (slash > 0) {
                    dirs.add(e.path().substring(0, slash));
                }
            }
        }
        if (dirs.isEmpty()) {
            for (String d : resolver.defaultDirs()) {
                Optional<ContainerRoot.Node> r = root.resolve(d);
                if (r.isPresent() && r.get().stat().isDirectory()) {
                    dirs.add(d);
                }
            }
        }
        return new ArrayList<>(dirs);
    }

    static String hostMachine() {
        return io.bypass.util.HostArch.machine();
    }

    private static ContainerLibrary toLibrary(String soname, LibraryResolver.Loaded l) {
        String realName = l.canonicalPath().substring(l.canonicalPath().lastIndexOf('/') + 1);
        Set<String> defined = Set.of();
        if (Sonames.mpiFamily(soname) != null || Sonames.mpiFamily(l.facts().soname()) != null) {
            Set<String> names = new HashSet<>();
            for (ElfFacts.DynamicSymbol s : l.facts().definedSymbols()) {
                names.add(s.name());
            }
            defined = names;
        }
        return new ContainerLibrary(soname, l.path(), l.canonicalPath(),
                l.facts().soname() == null ? soname : l.facts().soname(), Sonames.versionSuffix(realName),
                l.facts().versionDefinitions(), defined, l.foundVia());
    }

    static ContainerProfile.Libc detectLibc(LibraryResolver resolver, RootfsView view, ContainerRoot root) {
        Optional<LibraryResolver.Loaded> libc = resolver.find("libc.so.6", null, null);
        if (libc.isPresent()) {
            List<String> versions = new ArrayList<>();
            for (String v : libc.get().facts().versionDefinitions()) {
                if (Versions.glibcVersionOf(v) != null) {
                    versions.add(v);
                }
            }
            String highest = null;
            for (String v : versions) {
                highest = Versions.max(highest, Versions.glibcVersionOf(v));
            }
            String banner = root.read(libc.get().canonicalPath(), BANNER_READER).orElse(null);
            // glibc releases without new symbols (2.31) define no GLIBC_2.31: the banner is exact.
            String version = banner != null && (highest == null || Versions.compare(banner, highest) >= 0) ? banner : highest;
            return new ContainerProfile.Libc("glibc", version, libc.get().canonicalPath(), versions);
        }
        for (String dir : List.of("/lib", "/usr/lib")) {
            for (String name : view.list(dir)) {
                if (name.startsWith("ld-musl-") || name.startsWith("libc.musl-")) {
                    return new ContainerProfile.Libc("musl", null, dir + "/" + name, List.of());
                }
            }
        }
        return new ContainerProfile.Libc("unknown", null, null, List.of());
    }

    private static final byte[] BANNER = "release version ".getBytes(StandardCharsets.US_ASCII);
    private static final long BANNER_SCAN_LIMIT = 32L << 20;
    private static final int BANNER_CHUNK = 16 << 10;

    /**
     * The "GNU C Library ... release version 2.31." banner that libc.so.6 carries, or null. It is
     * a constant string, so it is searched in .rodata (a tenth of libc), else in the file's first
     * 32 MiB; either range in 16 KiB chunks from its end back. Every byte read here is also hashed
     * into the decision cache's evidence and re-checked on a hit.
     */
    static String bannerVersion(ElfReader.Source file) throws IOException {
        long[] rodata = ElfReader.sectionRange(file, ".rodata");
        String found = rodata == null ? null : bannerVersion(file, rodata[0], rodata[1]);
        return found != null ? found : bannerVersion(file, 0, file.size());
    }

    private static String bannerVersion(ElfReader.Source file, long from, long length) throws IOException {
        long end = from + Math.min(length, BANNER_SCAN_LIMIT);
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(BANNER_CHUNK, Math.max(1, end - from)));
        byte[] a = buf.array();
        // From the end back: glibc's banner lies near the end of .rodata (at 82 % of it in Debian
        // 12's and 13's libc), and a scan that stops there reads and hashes a fifth of it.
        while (end > from) {
            long start = Math.max(from, end - buf.capacity());
            buf.clear();
            buf.limit((int) (end - start));
            while (buf.hasRemaining() && file.read(buf, start + buf.position()) > 0) {
                // after a short read, on until the chunk is full or the file ends
            }
            String found = bannerIn(a, buf.position());
            if (found != null || start == from) {
                return found;
            }
            // Overlap chunks so a banner across the boundary is still found.
            end = start + 64;
        }
        return null;
    }

    private static String bannerIn(byte[] a, int n) {
        for (int i = 0; i + BANNER.length + 8 < n; i++) {
            if (a[i] == 'r' && matches(a, i)) {
                int j = i + BANNER.length;
                StringBuilder v = new StringBuilder();
                while (j < n && v.length() < 16 && (Character.isDigit(a[j]) || a[j] == '.')) {
                    v.append((char) a[j]);
                    j++;
                }
                String s = v.toString();
                while (s.endsWith(".")) {
                    s = s.substring(0, s.length() - 1);
                }
                if (s.matches("\\d+\\.\\d+(\\.\\d+)?")) {
                    return s;
                }
            }
        }
        return null;
    }

    private static boolean matches(byte[] a, int at) {
        for (int k = 0; k < BANNER.length; k++) {
            if (a[at + k] != BANNER[k]) {
                return false;
            }
        }
        return true;
    }

    private static ContainerProfile.Mpi detectMpi(Map<String, ContainerLibrary> libraries,
                                                  Map<String, LibraryResolver.Loaded> loadedByProgram,
                                                  List<Finding> findings) {
        Map<String, Map<String, ContainerLibrary>> byFamily = new TreeMap<>();
        for (ContainerLibrary lib : libraries.values()) {
            String family = Sonames.mpiFamily(lib.fileSoname());
            if (family == null) {
                family = Sonames.mpiFamily(lib.soname());
            }
            if (family != null) {
                Map<String, ContainerLibrary> members = byFamily.get(family);
                if (members == null) {
                    members = new TreeMap<>();
                    byFamily.put(family, members);
                }
                members.put(lib.soname(), lib);
            }
        }
        if (byFamily.isEmpty()) {
            return null;
        }
        // Without a program to tell, a vendor ABI is considered before the standard ABI its MPI also ships.
        String family = Sonames.MPI_ABI;
        for (String f : byFamily.keySet()) {
            if (!f.equals(Sonames.MPI_ABI)) {
                family = f;
                break;
            }
        }
        if (byFamily.size() > 1) {
            // Both ABIs installed: the one the program loads is the one that matters; a program that loads
            // the standard ABI is a standard-ABI program (its vendor's libraries come with it).
            List<String> order = new ArrayList<>(byFamily.keySet());
            if (order.remove(Sonames.MPI_ABI)) {
                order.add(Sonames.MPI_ABI);   // the standard ABI last
            }
            for (String f : order) {
                for (String soname : byFamily.get(f).keySet()) {
                    if (loadedByProgram.containsKey(soname)) {
                        family = f;
                    }
                }
            }
            findings.add(Finding.info("mpi-several", "the container has MPI libraries of several families ("
                    + String.join(", ", byFamily.keySet()) + "); " + family + " is the one considered"));
        }
        Map<String, ContainerLibrary> libs = byFamily.get(family);
        ContainerLibrary main = null;
        for (ContainerLibrary l : libs.values()) {
            String stem = Sonames.stem(l.fileSoname());
            if (stem.equals("libmpi") || stem.equals("libmpich")) {
                if (main == null || loadedByProgram.containsKey(l.soname())) {
                    main = l;
                }
            }
        }
        if (main == null) {
            main = libs.values().iterator().next();
        }
        return new ContainerProfile.Mpi(family, main.fileSoname(), main.libtoolVersion(), libs);
    }

    /** The family an org.supercontainers MPI annotation names, or null when not recognised. */
    public static String mpiFamilyOfAnnotation(String value) {
        String v = value.toLowerCase(Locale.ROOT).replace("_", "-");
        if (v.contains("openmpi") || v.contains("open-mpi") || v.equals("ompi")) {
            return "openmpi";
        }
        if (v.contains("mpich") || v.contains("mvapich") || v.contains("intel") || v.contains("cray")) {
            return "mpich";
        }
        return null;
    }

    private static void checkAnnotations(Map<String, String> ann, ContainerProfile.Libc libc, ContainerProfile.Mpi mpi,
                                         ContainerProfile.Libfabric libfabric, List<Finding> findings) {
        for (String key : List.of(ANN_MPI_IMPLEMENTATION, ANN_MPI_PROVIDER)) {
            String value = ann.get(key);
            if (value == null) {
                continue;
            }
            String family = mpiFamilyOfAnnotation(value);
            if (family == null) {
                findings.add(Finding.warning("annotation-unknown", key + "=" + value + " names no MPI family bypass knows",
                        "use mpich (MPICH ABI: MPICH, Cray MPICH, Intel MPI, MVAPICH) or openmpi"));
            } else if (mpi == null) {
                findings.add(Finding.warning("annotation-mismatch", key + "=" + value
                        + " but the container rootfs has no MPI library", "fix the image's annotation or install its MPI"));
            } else if (!family.equals(mpi.family())) {
                findings.add(Finding.warning("annotation-mismatch", key + "=" + value + " but the container rootfs has "
                        + mpi.family() + " (" + mpi.mainSoname() + ")", "the rootfs is what the loader uses; fix the annotation"));
            }
        }
        String mode = ann.get(ANN_MPI_MODE);
        if (mode != null && !List.of("mpi_replace", "mpi_system", "libfabric_inject").contains(mode)) {
            findings.add(Finding.warning("annotation-unknown", ANN_MPI_MODE + "=" + mode + " is not a known mode",
                    "use mpi_replace, mpi_system or libfabric_inject"));
        }
        for (String key : List.of(ANN_LIBC_IMPLEMENTATION, ANN_LIBC_PROVIDER)) {
            String value = ann.get(key);
            if (value != null && !libc.implementation().equals("unknown")
                    && !value.toLowerCase(Locale.ROOT).equals(libc.implementation())) {
                findings.add(Finding.warning("annotation-mismatch", key + "=" + value + " but the container's libc is "
                        + libc.implementation() + (libc.path() == null ? "" : " (" + libc.path() + ")"), null));
            }
        }
        String glibc = ann.get(ANN_GLIBC_VERSION);
        if (glibc != null && libc.version() != null && Versions.compare(glibc, libc.version()) != 0) {
            findings.add(Finding.warning("annotation-mismatch", ANN_GLIBC_VERSION + "=" + glibc
                    + " but the container's libc.so.6 is glibc " + libc.version(), "the rootfs is what counts; fix the annotation"));
        }
        for (String key : List.of(ANN_LIBFABRIC_ABI, ANN_LIBFABRIC_ABI_SHORT)) {
            String value = ann.get(key);
            if (value == null) {
                continue;
            }
            if (libfabric == null) {
                findings.add(Finding.warning("annotation-mismatch", key + "=" + value + " but the container has no libfabric.so.1",
                        null));
            } else {
                String highest = null;
                for (String v : libfabric.versions()) {
                    highest = Versions.max(highest, Versions.suffixVersion(v, "FABRIC_"));
                }
                if (highest != null && Versions.compare(value, highest) != 0) {
                    findings.add(Finding.warning("annotation-mismatch", key + "=" + value
                            + " but the container's libfabric.so.1 defines up to FABRIC_" + highest, null));
                }
            }
        }
    }

    static List<String> splitPath(String value) {
        List<String> out = new ArrayList<>();
        if (value == null || value.isEmpty()) {
            return out;
        }
        for (String p : value.split(":")) {
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }
}
