package io.bypass.db;

import io.bypass.BypassException;
import io.bypass.container.HostView;
import io.bypass.container.LibraryResolver;
import io.bypass.elf.ElfFacts;
import io.bypass.elf.Sonames;
import io.bypass.util.Versions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a descriptor into a database entry by looking at the host: expands globs, resolves
 * symlinks, reads each library's ELF facts and checksum, and walks the DT_NEEDED closure with the
 * host loader's rules. Pure reading; {@link Database#store} does the writing.
 */
public final class Registrar {
    private static final int MAX_GLOB_MATCHES = 10_000;

    private final LibraryResolver resolver;
    private final String machine;

    public Registrar() {
        this(new HostView(), io.bypass.util.HostArch.machine());
    }

    public Registrar(HostView view, String machine) {
        this.machine = machine;
        this.resolver = new LibraryResolver(view, "ELF64", machine, List.of());
    }

    public BundleEntry register(BundleDescriptor d, String where) {
        // The bundle's libraryPath is searched first, as LD_LIBRARY_PATH is by the host loader.
        LibraryResolver resolver = d.libraryPath().isEmpty() ? this.resolver
                : new LibraryResolver(this.resolver.view(), "ELF64", machine, d.libraryPath());
        Map<String, RegisteredFile> files = new LinkedHashMap<>();
        List<LibraryResolver.Loaded> roots = new ArrayList<>();
        for (int i = 0; i < d.libraries().size(); i++) {
            String pattern = d.libraries().get(i);
            String field = where + " libraries[" + i + "]";
            for (Path match : expand(pattern, field)) {
                LibraryResolver.Loaded lib;
                try {
                    lib = resolver.load(match.toString(), "descriptor");
                } catch (BypassException e) {
                    throw BypassException.badInput(field + ": " + e.getMessage());
                }
                boolean compat32 = d.kind() == BundleKind.CUDA && "ELF32".equals(lib.facts().elfClass());
                if (!compat32 && (!"ELF64".equals(lib.facts().elfClass()) || !machine.equals(lib.facts().machine()))) {
                    throw BypassException.badInput(field + ": " + match + " is " + lib.facts().elfClass() + " "
                            + lib.facts().machine() + ", not a library for this host (ELF64 " + machine + ")");
                }
                if (!"DYN".equals(lib.facts().type())) {
                    throw BypassException.badInput(field + ": " + match + " is not a shared library (ELF type "
                            + lib.facts().type() + ")");
                }
                if (!files.containsKey(lib.canonicalPath())) {
                    files.put(lib.canonicalPath(), toFile(lib, RegisteredFile.Role.LIBRARY, match.toString(), d));
                    roots.add(lib);
                }
            }
        }
        if (d.dependencies() == BundleDescriptor.Dependencies.CLOSURE) {
            for (LibraryResolver.Loaded root : roots) {
                LibraryResolver.Closure closure = resolver.closure(root, false);
                for (Map.Entry<String, String> m : closure.missing().entrySet()) {
                    if (!d.excludeDependencies().contains(m.getKey())) {
                        throw BypassException.badInput(where + ": " + m.getValue() + " needs " + m.getKey()
                                + ", which the host's loader cannot find; install it or list it in excludeDependencies");
                    }
                }
                for (LibraryResolver.Loaded dep : closure.objects()) {
                    String soname = dep.facts().soname() != null ? dep.facts().soname() : dep.path().substring(dep.path().lastIndexOf('/') + 1);
                    if (dep == root || files.containsKey(dep.canonicalPath()) || Sonames.isGlibcFamily(soname)
                            || d.excludeDependencies().contains(soname)) {
                        continue;
                    }
                    files.put(dep.canonicalPath(), toFile(dep, RegisteredFile.Role.DEPENDENCY, soname, d));
                }
            }
        }
        List<RegisteredDevice> devices = new ArrayList<>();
        for (int i = 0; i < d.devices().size(); i++) {
            String field = where + " devices[" + i + "]";
            String pattern = d.devices().get(i);
            // A glob may match nothing (the hardware of another node type); a plain path must exist.
            if (hasGlob(pattern) && expandOrEmpty(pattern, field).isEmpty()) {
                continue;
            }
            for (Path dev : expand(pattern, field)) {
                devices.add(device(dev, field));
            }
        }
        for (int i = 0; i < d.mounts().size(); i++) {
            Path source = Path.of(d.mounts().get(i).source());
            if (!Files.exists(source)) {
                throw BypassException.badInput(where + " mounts[" + i + "].source: " + source + " does not exist on the host");
            }
        }
        Map<String, String> props = new LinkedHashMap<>();
        String hostGlibc = hostGlibc();
        kindProperties(d, files, props, where);
        return new BundleEntry(d, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), hostGlibc,
                new ArrayList<>(files.values()), devices, d.mounts(), props);
    }

    private void kindProperties(BundleDescriptor d, Map<String, RegisteredFile> files, Map<String, String> props, String where) {
        props.putAll(d.properties());
        if (d.kind() == BundleKind.CUDA) {
            String driver = d.properties().get("cuda.driver");
            if (driver == null) {
                driver = CudaDriver.driverVersion(new ArrayList<>(files.values()), Path.of("/proc/driver/nvidia/version"));
            }
            if (driver == null) {
                throw BypassException.badInput(where + " libraries: no driver version in the file names (libcuda.so.VERSION) "
                        + "nor in /proc/driver/nvidia/version; set properties.cuda.driver");
            }
            props.put("cuda.driver", driver);
            String cuda = d.properties().getOrDefault("cuda.version", CudaDriver.cudaVersionFor(driver));
            if (cuda == null) {
                throw BypassException.badInput(where + ": driver " + driver + " is older than every CUDA release bypass knows; "
                        + "set properties.cuda.version");
            }
            props.put("cuda.version", cuda);
            for (RegisteredFile f : files.values()) {
                if (f.role() == RegisteredFile.Role.LIBRARY) {
                    props.put("capability." + f.soname(), CudaDriver.capabilityOf(f.soname(), f.elfClass()));
                }
            }
        }
        if (d.kind() == BundleKind.MPI) {
            String family = d.mpi().family();
            if (family == null) {
                // A vendor ABI names the family; the standard ABI (libmpi_abi.so.1) only when it is alone.
                for (RegisteredFile f : files.values()) {
                    String fam = Sonames.mpiFamily(f.soname());
                    if (f.role() == RegisteredFile.Role.LIBRARY && fam != null && (family == null || family.equals(Sonames.MPI_ABI))) {
                        family = fam;
                    }
                }
            }
            if (family == null) {
                throw BypassException.badInput(where + " mpi.family: none of the libraries has an MPI soname "
                        + "(libmpi.so.12, libmpich.so.12, libmpi.so.40, libmpi_abi.so.1, ...); set mpi.family to mpich, openmpi"
                        + " or mpi-abi");
            }
            props.put("mpi.family", family);
            props.putAll(MpiAbiProbe.properties(new ArrayList<>(files.values()), d.properties()));
        }
        if (d.kind() == BundleKind.GLIBC) {
            RegisteredFile libc = null;
            for (RegisteredFile f : files.values()) {
                if ("libc.so.6".equals(f.soname())) {
                    libc = f;
                }
            }
            if (libc == null) {
                throw BypassException.badInput(where + " libraries: a glibc bundle must list libc.so.6");
            }
            String highest = Versions.highest(libc.versionDefinitions(), "GLIBC_");
            props.put("glibc.version", highest == null ? "unknown" : highest);
        }
        String maxGlibc = null;
        for (RegisteredFile f : files.values()) {
            maxGlibc = Versions.max(maxGlibc, f.maxGlibc());
        }
        if (maxGlibc != null) {
            props.put("glibc.required", maxGlibc);
        }
    }

    private RegisteredFile toFile(LibraryResolver.Loaded lib, RegisteredFile.Role role, String requestedAs, BundleDescriptor d) {
        ElfFacts f = lib.facts();
        Map<String, List<String>> req = new LinkedHashMap<>();
        String maxGlibc = null;
        for (ElfFacts.VersionRequirement r : f.versionRequirements()) {
            req.put(r.file(), r.versions());
            maxGlibc = Versions.max(maxGlibc, Versions.highest(r.versions(), "GLIBC_"));
        }
        List<String> defined = List.of();
        if (role == RegisteredFile.Role.LIBRARY && (d.kind() == BundleKind.MPI || d.kind() == BundleKind.LIBFABRIC)) {
            defined = f.definedSymbols().stream().map(ElfFacts.DynamicSymbol::name).distinct().sorted().toList();
        }
        String realName = lib.canonicalPath().substring(lib.canonicalPath().lastIndexOf('/') + 1);
        String soname = f.soname() != null ? f.soname() : realName;
        long size;
        long mtime;
        try {
            size = Files.size(Path.of(lib.canonicalPath()));
            mtime = Files.getLastModifiedTime(Path.of(lib.canonicalPath())).toMillis();
        } catch (IOException e) {
            throw BypassException.badInput(lib.canonicalPath() + ": cannot read: " + e.getMessage());
        }
        return new RegisteredFile(lib.canonicalPath(), role, requestedAs, soname, Sonames.versionSuffix(realName),
                sha256(Path.of(lib.canonicalPath())), size, f.elfClass(), f.machine(), f.needed(), f.versionDefinitions(), req, maxGlibc, defined,
                mtime);
    }

    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot read: " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw BypassException.internal("SHA-256 is not available in this JVM", e);
        }
    }

    static RegisteredDevice device(Path dev, String field) {
        try {
            Map<String, Object> a = Files.readAttributes(dev, "unix:mode,rdev,uid,gid");
            int mode = (Integer) a.get("mode");
            int fmt = mode & 0170000;
            char type;
            if (fmt == 0020000) {
                type = 'c';
            } else if (fmt == 0060000) {
                type = 'b';
            } else {
                throw BypassException.badInput(field + ": " + dev + " is not a device node");
            }
            long rdev = (Long) a.get("rdev");
            // Linux's encoding of dev_t (glibc's gnu_dev_major/minor).
            int major = (int) (((rdev >>> 32) & 0xfffff000L) | ((rdev >>> 8) & 0xfffL));
            int minor = (int) (((rdev >>> 12) & 0xffffff00L) | (rdev & 0xffL));
            return new RegisteredDevice(dev.toString(), type, major, minor, mode & 07777, (Integer) a.get("uid"),
                    (Integer) a.get("gid"));
        } catch (IOException | UnsupportedOperationException e) {
            throw BypassException.badInput(field + ": cannot stat " + dev + ": " + e.getMessage());
        }
    }

    private static List<Path> expandOrEmpty(String pattern, String field) {
        try {
            return expand(pattern, field);
        } catch (BypassException e) {
            return List.of();
        }
    }

    /** Expands a glob (in any component) on the host; a pattern that matches nothing is an error. */
    static List<Path> expand(String pattern, String field) {
        if (!hasGlob(pattern)) {
            Path p = Path.of(pattern);
            if (!Files.exists(p)) {
                throw BypassException.badInput(field + ": " + pattern + " does not exist on the host");
            }
            return List.of(p);
        }
        String[] parts = pattern.substring(1).split("/");
        List<Path> current = List.of(Path.of("/"));
        for (String part : parts) {
            if (part.isEmpty()) {
                continue;
            }
            List<Path> next = new ArrayList<>();
            for (Path dir : current) {
                if (!hasGlob(part)) {
                    Path p = dir.resolve(part);
                    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                        next.add(p);
                    }
                    continue;
                }
                PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + part);
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                    for (Path p : ds) {
                        if (m.matches(p.getFileName())) {
                            next.add(p);
                            if (next.size() > MAX_GLOB_MATCHES) {
                                throw BypassException.badInput(field + ": " + pattern + " matches more than " + MAX_GLOB_MATCHES
                                        + " files");
                            }
                        }
                    }
                } catch (IOException e) {
                    // Not a directory or unreadable: no match below it.
                }
            }
            next.sort(null);
            current = next;
        }
        if (current.isEmpty()) {
            throw BypassException.badInput(field + ": " + pattern + " matches no file on the host");
        }
        return current;
    }

    private static boolean hasGlob(String s) {
        return s.indexOf('*') >= 0 || s.indexOf('?') >= 0 || s.indexOf('[') >= 0 || s.indexOf('{') >= 0;
    }

    /** The host's glibc version (from its libc.so.6 version definitions), or null. */
    private String hostGlibc() {
        Optional<LibraryResolver.Loaded> libc = resolver.find("libc.so.6", null, null);
        if (libc.isEmpty()) {
            return null;
        }
        return Versions.highest(libc.get().facts().versionDefinitions(), "GLIBC_");
    }
}
