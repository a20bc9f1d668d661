package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.Finding;
import io.bypass.elf.ElfFacts;
import io.bypass.elf.Sonames;
import io.bypass.util.Versions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 * Builds a {@link ContainerProfile} from a rootfs directory. Reads files only, through
 * {@link Rootfs} so no container symlink leads out of the rootfs; never executes anything.
 */
public final class Profiler {
    /** The MPI sonames looked up in every container, whatever the database holds. */
    public static final List<String> MPI_SONAMES = List.of(
            "libmpi.so.12", "libmpich.so.12", "libmpicxx.so.12", "libmpichcxx.so.12", "libmpifort.so.12",
            "libmpichfort.so.12", "libmpichf90.so.12",
            "libmpi.so.40", "libmpi_mpifh.so.40", "libmpi_usempif08.so.40", "libmpi_usempi_ignore_tkr.so.40",
            "libmpi_cxx.so.40", "libmpi.so.20", "libmpi.so.1");
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
     */
    public record Request(Path rootfs, Map<String, String> annotations, Map<String, String> env, String exec,
                          boolean execMustBeElf, Collection<String> extraSonames) {
    }

    private Profiler() {
    }

    public static ContainerProfile profile(Request req) {
        Rootfs rootfs = new Rootfs(req.rootfs());
        RootfsView view = new RootfsView(rootfs);
        List<Finding> findings = new ArrayList<>();
        if (view.cacheProblem() != null) {
            findings.add(Finding.warning("ld-cache-unusable", view.cacheProblem(),
                    "the default library directories were searched instead"));
        }
        List<String> ldLibraryPath = splitPath(req.env().get("LD_LIBRARY_PATH"));

        // The program decides the ABI (class and machine); the host's is the default.
        String elfClass = "ELF64";
        String machine = hostMachine();
        LibraryResolver.Loaded program = null;
        if (req.exec() != null) {
            program = loadProgram(rootfs, view, req, findings);
            if (program != null) {
                elfClass = program.facts().elfClass();
                machine = program.facts().machine();
            }
        }
        LibraryResolver resolver = new LibraryResolver(view, elfClass, machine, ldLibraryPath, Profiler::symbolsMatter);

        ContainerProfile.Exec exec = null;
        Map<String, LibraryResolver.Loaded> loadedBySoname = new LinkedHashMap<>();
        if (program != null) {
            LibraryResolver.Closure closure = resolver.closure(program, true);
            List<String> loaded = new ArrayList<>();
            List<ContainerProfile.Import> imports = new ArrayList<>();
            for (LibraryResolver.Loaded l : closure.objects()) {
                loaded.add(l.canonicalPath());
                if (l != program && l.facts().soname() != null) {
                    loadedBySoname.putIfAbsent(l.facts().soname(), l);
                }
                String fileName = l.path().substring(l.path().lastIndexOf('/') + 1);
                loadedBySoname.putIfAbsent(fileName, l);
                for (ElfFacts.DynamicSymbol s : l.facts().undefinedSymbols()) {
                    imports.add(new ContainerProfile.Import(s.name(), s.version(), l.canonicalPath()));
                }
            }
            for (Map.Entry<String, String> m : closure.missing().entrySet()) {
                findings.add(Finding.warning("library-not-found", "the container's loader finds no " + m.getKey()
                        + " (needed by " + m.getValue() + ")", "the program may fail to start unless a bundle provides it"));
            }
            exec = new ContainerProfile.Exec(req.exec(), program.canonicalPath(), loaded, closure.missing(), imports);
        }

        ContainerProfile.Libc libc = detectLibc(resolver, view, rootfs);

        Set<String> wanted = new LinkedHashSet<>(MPI_SONAMES);
        wanted.add(LIBFABRIC);
        wanted.addAll(req.extraSonames());
        LdCache cache = view.ldCache();
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
            List<String> fabricVersions = fab.versionDefinitions().stream().filter(v -> v.startsWith("FABRIC_")).toList();
            libfabric = new ContainerProfile.Libfabric(fab, fabricVersions);
        }
        checkAnnotations(req.annotations(), libc, mpi, libfabric, findings);
        ContainerProfile.CudaCompat cudaCompat = null;
        for (String name : rootfs.list(CUDA_COMPAT_DIR)) {
            java.util.regex.Matcher m = CUDA_COMPAT.matcher(name);
            if (m.matches() && rootfs.isRegularFile(CUDA_COMPAT_DIR + "/" + name)) {
                cudaCompat = new ContainerProfile.CudaCompat(CUDA_COMPAT_DIR, m.group(1));
            }
        }
        return new ContainerProfile(rootfs.hostDir().toString(), elfClass, machine, libc, cache != null,
                loaderDirs(cache, resolver, rootfs), libraries, mpi,
                libfabric, cudaCompat, exec, req.annotations(), req.env(), findings);
    }

    /**
     * Symbols are read only where a rule compares them: the MPI and libfabric libraries (what they
     * define) and the objects that load them (what they import). Everything else needs only the
     * facts the loader uses.
     */
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
    static List<String> loaderDirs(LdCache cache, LibraryResolver resolver, Rootfs rootfs) {
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
                Optional<Rootfs.Resolved> r = rootfs.resolve(d);
                if (r.isPresent() && r.get().attrs().isDirectory()) {
                    dirs.add(d);
                }
            }
        }
        return new ArrayList<>(dirs);
    }

    static String hostMachine() {
        return io.bypass.util.HostArch.machine();
    }

    private static LibraryResolver.Loaded loadProgram(Rootfs rootfs, RootfsView view, Request req, List<Finding> findings) {
        String exec = req.exec();
        String path = exec;
        if (!exec.contains("/")) {
            path = null;
            String searchPath = req.env().getOrDefault("PATH", DEFAULT_PATH);
            for (String dir : splitPath(searchPath)) {
                String candidate = (dir.endsWith("/") ? dir : dir + "/") + exec;
                if (rootfs.isRegularFile(candidate)) {
                    path = candidate;
                    break;
                }
            }
            if (path == null) {
                return fail(req, "program '" + exec + "' is not found in the container's PATH (" + searchPath + ")",
                        findings);
            }
        } else if (!exec.startsWith("/")) {
            String cwd = req.env().getOrDefault("PWD", "/");
            path = (cwd.endsWith("/") ? cwd : cwd + "/") + exec;
        }
        Optional<Rootfs.Resolved> resolved = rootfs.resolve(path);
        if (resolved.isEmpty()) {
            return fail(req, "program " + path + " does not exist in the container", findings);
        }
        if (!resolved.get().attrs().isRegularFile()) {
            return fail(req, "program " + path + " is not a regular file in the container", findings);
        }
        if (!io.bypass.elf.ElfReader.isElf(resolved.get().hostPath())) {
            return fail(req, "program " + path + " is not an ELF executable (a script?); its imports cannot be checked",
                    findings);
        }
        LibraryResolver resolver = new LibraryResolver(view, "ELF64", hostMachine(), List.of());
        try {
            return resolver.load(path, "program");
        } catch (BypassException e) {
            return fail(req, e.getMessage(), findings);
        }
    }

    private static LibraryResolver.Loaded fail(Request req, String message, List<Finding> findings) {
        if (req.execMustBeElf()) {
            throw BypassException.badInput("--exec: " + message);
        }
        findings.add(Finding.info("program-not-checked", message));
        return null;
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

    static ContainerProfile.Libc detectLibc(LibraryResolver resolver, RootfsView view, Rootfs rootfs) {
        Optional<LibraryResolver.Loaded> libc = resolver.find("libc.so.6", null, null);
        if (libc.isPresent()) {
            List<String> versions = libc.get().facts().versionDefinitions().stream()
                    .filter(v -> Versions.glibcVersionOf(v) != null).toList();
            String highest = null;
            for (String v : versions) {
                highest = Versions.max(highest, Versions.glibcVersionOf(v));
            }
            String banner = bannerVersion(libc.get().hostPath());
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

    /** The "GNU C Library ... release version 2.31." banner that libc.so.6 carries, or null. */
    static String bannerVersion(Path libcFile) {
        try (FileChannel ch = FileChannel.open(libcFile, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = Math.min(ch.size(), BANNER_SCAN_LIMIT);
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            long pos = 0;
            while (pos < size) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n <= 0) {
                    break;
                }
                byte[] a = buf.array();
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
                // Overlap chunks so a banner across the boundary is still found.
                pos += Math.max(1, n - 64);
            }
        } catch (IOException e) {
            return null;
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
                byFamily.computeIfAbsent(family, k -> new TreeMap<>()).put(lib.soname(), lib);
            }
        }
        if (byFamily.isEmpty()) {
            return null;
        }
        String family = byFamily.keySet().iterator().next();
        if (byFamily.size() > 1) {
            // Both ABIs installed: the one the program loads is the one that matters.
            for (String f : byFamily.keySet()) {
                for (String soname : byFamily.get(f).keySet()) {
                    if (loadedByProgram.containsKey(soname)) {
                        family = f;
                    }
                }
            }
            findings.add(Finding.info("mpi-several", "the container has both MPICH-ABI and Open MPI libraries; "
                    + family + " is the one considered"));
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
