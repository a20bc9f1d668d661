package io.bypass.container;

import io.bypass.Finding;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a container provides and needs, read from its rootfs, annotations and environment without
 * executing anything of it. The planner's only view of the container.
 *
 * @param loaderDirs the directories the container's loader searches by default: those of its
 *                   ld.so.cache entries in cache order, or the standard ones that exist
 * @param libraries the libraries looked up, by soname (absent sonames are not in the map)
 * @param findings  observations made while profiling (e.g. an annotation contradicting the rootfs)
 * @param consumerScope "program" (the entrypoint's closure), "script" (the programs a script runs,
 *                  with their closures), "image" (every consumer in the image: an interpreter, a
 *                  script whose targets cannot be known, no program) or "none"
 * @param consumers the objects whose imports were taken ({@link Exec#imports()} holds them)
 * @param providers for each soname of interest, every file of the image providing it
 */
public record ContainerProfile(
        String rootfs,
        String elfClass,
        String machine,
        Libc libc,
        boolean hasLdCache,
        List<String> loaderDirs,
        Map<String, ContainerLibrary> libraries,
        Mpi mpi,
        Libfabric libfabric,
        CudaCompat cudaCompat,
        Exec exec,
        Map<String, String> annotations,
        Map<String, String> env,
        List<Finding> findings,
        String consumerScope,
        List<Consumer> consumers,
        Map<String, List<String>> providers) {

    /** A profile without image-wide analysis (tests, and a profile stopped by its budget). */
    public ContainerProfile(String rootfs, String elfClass, String machine, Libc libc, boolean hasLdCache,
                            List<String> loaderDirs, Map<String, ContainerLibrary> libraries, Mpi mpi, Libfabric libfabric,
                            CudaCompat cudaCompat, Exec exec, Map<String, String> annotations, Map<String, String> env,
                            List<Finding> findings) {
        this(rootfs, elfClass, machine, libc, hasLdCache, loaderDirs, libraries, mpi, libfabric, cudaCompat, exec,
                annotations, env, findings, exec == null ? "none" : "program", List.of(), Map.of());
    }

    public ContainerProfile {
        consumers = List.copyOf(consumers);
        providers = Map.copyOf(providers);
        loaderDirs = List.copyOf(loaderDirs);
        libraries = Map.copyOf(libraries);
        annotations = Map.copyOf(annotations);
        env = Map.copyOf(env);
        findings = List.copyOf(findings);
    }

    public Optional<ContainerLibrary> library(String soname) {
        return Optional.ofNullable(libraries.get(soname));
    }

    /**
     * @param implementation "glibc", "musl" or "unknown"
     * @param version        e.g. "2.31" (from the library's banner, else its highest GLIBC_x.y), or null
     * @param versions       the GLIBC_x.y names libc.so.6 defines
     */
    public record Libc(String implementation, String version, String path, List<String> versions) {
        public Libc {
            versions = List.copyOf(versions);
        }

        public boolean isGlibc() {
            return "glibc".equals(implementation);
        }
    }

    /**
     * The container's MPI.
     *
     * @param family         "mpich" (MPICH ABI), "openmpi" or "mpi-abi" (the MPI-5 standard ABI)
     * @param libraries      the MPI libraries present, by soname
     * @param libtoolVersion of the main library (libmpi/libmpich), e.g. "12.4.1"
     */
    public record Mpi(String family, String mainSoname, String libtoolVersion, Map<String, ContainerLibrary> libraries) {
        public Mpi {
            libraries = Map.copyOf(libraries);
        }
    }

    /**
     * CUDA forward-compatibility libraries shipped in the image (/usr/local/cuda/compat), which
     * let a newer CUDA run on an older host driver.
     *
     * @param driverVersion from the compat libcuda.so.VERSION file name
     */
    public record CudaCompat(String dir, String driverVersion) {
    }

    /** The container's libfabric.so.1 and the FABRIC_1.x versions it defines. */
    public record Libfabric(ContainerLibrary library, List<String> versions) {
        public Libfabric {
            versions = List.copyOf(versions);
        }
    }

    /**
     * The program the container runs, and what it and its libraries import.
     *
     * @param loaded  canonical paths of every object loaded, in load order
     * @param missing sonames the container's loader would not find, with who needs them
     * @param imports undefined symbols of the program and its libraries, with the importing object
     */
    public record Exec(String path, String canonicalPath, List<String> loaded, Map<String, String> missing,
                       List<Import> imports) {
        public Exec {
            loaded = List.copyOf(loaded);
            missing = Map.copyOf(missing);
            imports = List.copyOf(imports);
        }
    }

    /**
     * An object of the image that binds to an MPI or libfabric library: its imports are checked
     * against what the host library that replaces it defines.
     *
     * @param why     how it was found ("loaded by /app/solver", "in the image: /usr/lib/python3/...")
     * @param bindNow bound at load: a missing symbol stops the program at start
     */
    public record Consumer(String path, String why, boolean bindNow, List<String> needed) {
        public Consumer {
            needed = List.copyOf(needed);
        }
    }

    /** The files of the image that provide a soname (every copy, in any searched place). */
    public List<String> providersOf(String soname) {
        return providers.getOrDefault(soname, List.of());
    }

    /** The consumer at a path, if it is one. */
    public Optional<Consumer> consumer(String path) {
        for (Consumer c : consumers) {
            if (c.path().equals(path)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    /** @param weak a weak undefined reference: the loader leaves it null when nothing defines it */
    public record Import(String symbol, String version, String importedBy, boolean weak) {
        public Import(String symbol, String version, String importedBy) {
            this(symbol, version, importedBy, false);
        }
    }
}
