package io.bypass;

import io.bypass.Finding.Severity;

import java.util.HashMap;
import java.util.Map;

/**
 * Every code bypass can report: the findings of the profiler and the planner, and the codes the
 * front layer gives a decision it could not make (these reach the audit log and, for the hook, the
 * user). One place answers "why was I refused [CODE]": {@code bypass explain CODE} prints the entry.
 *
 * <p>Adding a code is one line here. {@link Finding}'s constructor rejects a code that is not in
 * this catalog, or one raised with another severity, and a unit test checks every
 * {@code Finding.error/warning/info("...")} in the sources, the docs' table and that some test
 * asserts each code.
 */
public enum FindingCode {
    // id, severity, meaning, rule (who raises it, from which fields of the decision), what to do
    DISABLED("disabled", Severity.INFO, "the container opted out with org.supercontainers.bypass.enabled=false",
            "front/planner: annotation org.supercontainers.bypass.enabled", "nothing; remove the annotation to use bypass"),
    ALREADY_APPLIED("already-applied", Severity.INFO, "precreate or patch-bundle already edited this container's config",
            "front: annotation org.supercontainers.bypass.applied of config.json", "nothing; the edit in the config is used"),
    NOTHING_TO_INJECT("nothing-to-inject", Severity.INFO, "no registered bundle applies to this container, or it lacks nothing",
            "planner: bundle selection (annotations, MPI/libfabric/CUDA seen in the rootfs) against the database",
            "nothing; annotate org.supercontainers.bypass.bundles=NAME to ask for a bundle"),
    UNKNOWN_BUNDLE("unknown-bundle", Severity.ERROR, "an annotation names a bundle the site did not register",
            "planner: annotation org.supercontainers.bypass.bundles against the database", "see `bypass db list` for the site's bundles"),
    MPI_ADDED("mpi-added", Severity.INFO, "the container has no MPI; the requested MPI bundle is added",
            "planner MPI rule: profile.mpi (none) and the requested bundle", "nothing"),
    MPI_SEVERAL("mpi-several", Severity.INFO, "the rootfs has both MPICH-ABI and Open MPI libraries; one family is considered",
            "profiler: MPI sonames in the container's ld.so.cache and library directories",
            "give the program (--exec) or remove the other family from the image"),
    MPI_FAMILY_MISMATCH("mpi-family-mismatch", Severity.ERROR, "the container's MPI family (MPICH ABI or Open MPI) is not the host's",
            "planner MPI rule: profile.mpi.family against the bundle's mpi.family", "use an image built against the site's MPI family"),
    MPI_BUNDLE_INCOMPLETE("mpi-bundle-incomplete", Severity.ERROR, "an MPI bundle lists no libmpi or libmpich library",
            "planner MPI rule: the bundle's files", "add the MPI library to the descriptor; bypass db register it again"),
    MPI_BUNDLE_PARTIAL("mpi-bundle-partial", Severity.WARNING, "an MPI bundle has sibling libraries (libmpichfort, "
            + "libmpi_mpifh, ...) but no libmpi or libmpich: they replace the container's, whose own main MPI library stays",
            "planner MPI rule: the bundle's files against profile.libraries, the consumers' imports of each sibling",
            "register the host's main MPI library in the bundle to run on the host MPI"),
    ABI_COMPATIBLE("abi-compatible", Severity.INFO, "host and container MPI ABI versions agree under the site's abiCheck",
            "planner MPI rule: libtool versions of both sides, policy abiCheck", "nothing"),
    ABI_UNKNOWN("abi-unknown", Severity.ERROR, "an MPI library file name carries no version, so the ABIs cannot be compared",
            "planner MPI rule: libtool versions of both sides", "MPI library file names must carry at least the soname major"),
    ABI_MAJOR_MISMATCH("abi-major-mismatch", Severity.ERROR, "the MPI soname majors differ: the ABIs are incompatible",
            "planner MPI rule: soname major of both sides", "use an image built against an MPI of the host's ABI major"),
    ABI_MINOR_MISMATCH("abi-minor-mismatch", Severity.ERROR, "the MPI versions differ and the site's abiCheck is strict",
            "planner MPI rule: full libtool versions, policy abiCheck=strict",
            "use an image built against the host's exact MPI version, or a less strict abiCheck"),
    ABI_MINOR_OLDER("abi-minor-older", Severity.WARNING, "the host MPI is older than the container's, and is used anyway",
            "planner MPI rule: libtool minors, policy abiCheck, the program's imports",
            "give the program (--exec) so its imported symbols are checked"),
    MISSING_SYMBOLS("missing-symbols", Severity.ERROR, "the host MPI is older and lacks symbols the container's program imports",
            "planner MPI rule: the program's imports against the host library's defined symbols",
            "use an image built against the host's MPI version or older, or a newer host MPI"),
    PROFILE_BUDGET("profile-budget", Severity.ERROR, "the profile of the container was stopped by one of its limits "
            + "(search-list entries, lookups, symlinks, files, bytes, directory entries, CPU or elapsed time)",
            "profiler: ProfileBudget, counted over everything read from the rootfs",
            "simplify the image's search paths (LD_LIBRARY_PATH, RUNPATH) or directories; under onError: skip the "
                    + "container starts untouched"),
    SCAN_INCOMPLETE("scan-incomplete", Severity.WARNING, "the image-wide search for MPI libraries and their consumers "
            + "stopped at one of its limits", "profiler: ImageScan over the loader's directories, PATH and software prefixes",
            "keep software in fewer files under /opt, /usr/local and /app, or give the program to check"),
    CONSUMERS_IMAGE("consumers-image", Severity.INFO, "every MPI consumer in the image is checked, because the entrypoint "
            + "is an interpreter or a script whose targets cannot be known", "profiler: EntryPoint over process.args",
            "nothing; name the program (exec it from the script by path) to check only what it loads"),
    MPI_FORTRAN_ABI("mpi-fortran-abi", Severity.ERROR, "a consumer needs a vendor's Fortran MPI library and the host's "
            + "standard-ABI library is another vendor's: the MPI standard defines no Fortran ABI",
            "planner standard-ABI rule: Fortran sonames loaded, the bundle's implementation",
            "use a host bundle of the image's MPI vendor, or run the image on its own MPI"),
    MPI_FORTRAN_MISSING("mpi-fortran-missing", Severity.WARNING, "a consumer needs a Fortran MPI library the same-vendor "
            + "host bundle does not provide: the image's own copy stays",
            "planner standard-ABI rule: Fortran sonames loaded, the bundle's files", "add the Fortran library to the bundle"),
    MPI_LAUNCHER("mpi-launcher", Severity.INFO, "which launcher and PMI the injected standard-ABI library expects",
            "planner standard-ABI rule: the bundle's implementation", "start the job with that launcher"),
    MPI_LAUNCHER_MISMATCH("mpi-launcher-mismatch", Severity.WARNING, "the injected standard-ABI library is another "
            + "vendor's than the image's: the job needs the host implementation's launcher and PMI",
            "planner standard-ABI rule: the bundle's and the image's implementations",
            "start the job with the host MPI's launcher (srun --mpi=pmi2 for MPICH, --mpi=pmix for Open MPI)"),
    ABI_SYMBOLS_UNCHECKED("abi-symbols-unchecked", Severity.WARNING, "a standard-ABI decision without a program: "
            + "the symbols it imports were not checked", "planner standard-ABI rule: profile.exec",
            "give the program (--exec) to check them"),
    LIBC_MISMATCH("libc-mismatch", Severity.ERROR, "the container's libc is musl and the bundle is linked against glibc",
            "planner glibc rule: profile.libc.implementation", "use a glibc-based image"),
    LIBC_UNKNOWN("libc-unknown", Severity.ERROR, "the container has no libc.so.6 bypass can find, so nothing can be checked",
            "planner glibc rule: profile.libc", "use a glibc-based image with a dynamic loader"),
    GLIBC_TOO_OLD("glibc-too-old", Severity.ERROR, "a host file needs a GLIBC_x.y version the container's glibc does not define",
            "planner glibc rule: each injected file's required GLIBC versions against profile.libc.version",
            "use an image with the glibc named, or ask the site for a glibc bundle"),
    GLIBC_REPLACED("glibc-replaced", Severity.WARNING, "the container's glibc is older than a bundle needs and the site's glibc bundle replaces it",
            "planner glibc rule: profile.libc.version, a registered glibc bundle", "nothing; the site chose this"),
    DEPENDENCY_MISSING("dependency-missing", Severity.WARNING, "a host library needs a soname neither the bundle nor the container provides",
            "planner dependency rule: DT_NEEDED of the bundle's files, the container's libraries",
            "register the bundle with dependencies: closure, or install the library in the image"),
    LIBRARY_NOT_FOUND("library-not-found", Severity.WARNING, "the container's loader finds no library a program needs",
            "profiler: the program's DT_NEEDED through the container's search path", "the program may fail unless a bundle provides it"),
    LD_CACHE_UNUSABLE("ld-cache-unusable", Severity.WARNING, "the container's /etc/ld.so.cache cannot be read; default directories were searched",
            "profiler: the container's /etc/ld.so.cache", "rebuild the image's cache with ldconfig"),
    PROGRAM_NOT_CHECKED("program-not-checked", Severity.INFO, "the program is not an ELF file bypass can read (a script, or missing)",
            "profiler: process.args[0] or --exec", "give the ELF program with --exec to check its imports"),
    ANNOTATION_MISMATCH("annotation-mismatch", Severity.WARNING, "an annotation says one thing and the rootfs shows another",
            "profiler: org.supercontainers.* annotations against the rootfs", "fix the image's annotation; the rootfs is what counts"),
    ANNOTATION_UNKNOWN("annotation-unknown", Severity.WARNING, "an annotation value names nothing bypass knows",
            "profiler: org.supercontainers.mpi.* annotations", "use one of the values the message lists"),
    FABRIC_BUNDLE_INCOMPLETE("fabric-bundle-incomplete", Severity.ERROR, "a libfabric bundle lists no libfabric.so.1",
            "planner libfabric rule: the bundle's files", "add the library to the descriptor; bypass db register it again"),
    FABRIC_NOT_CHECKED("fabric-not-checked", Severity.WARNING, "the FABRIC_1.x versions the program needs were not checked",
            "planner libfabric rule: no program known", "give the program (--exec) to check them"),
    FABRIC_TOO_OLD("fabric-too-old", Severity.ERROR, "the program needs a FABRIC_1.x version the host libfabric does not define",
            "planner libfabric rule: the program's imports against the host library's version definitions",
            "use an image built against the host's libfabric API or older"),
    CUDA_REQUIREMENT("cuda-requirement", Severity.ERROR, "the image's NVIDIA_REQUIRE_* is not met by the host driver",
            "planner CUDA rule: NVIDIA_REQUIRE_* env against the bundle's driver and CUDA versions",
            "use an image for the host's CUDA version, or update the driver"),
    CUDA_REQUIRE_INVALID("cuda-require-invalid", Severity.ERROR, "the image's NVIDIA_REQUIRE_* cannot be parsed",
            "planner CUDA rule: NVIDIA_REQUIRE_* env", "fix the image's NVIDIA_REQUIRE_* variable"),
    CUDA_FORWARD_COMPAT("cuda-forward-compat", Severity.INFO, "the image's CUDA forward-compatibility libraries are used instead of the host's libcuda",
            "planner CUDA rule: the image's compat libraries against the host driver", "nothing"),
    CUDA_CAPABILITY_UNKNOWN("cuda-capability-unknown", Severity.WARNING, "NVIDIA_DRIVER_CAPABILITIES names a capability bypass does not know",
            "planner CUDA rule: NVIDIA_DRIVER_CAPABILITIES env", "use compute, utility, video, graphics, display, compat32 or all"),
    CUDA_DEVICE_UNKNOWN("cuda-device-unknown", Severity.WARNING, "NVIDIA_VISIBLE_DEVICES names something bypass cannot map to a device",
            "planner CUDA rule: NVIDIA_VISIBLE_DEVICES env", "use GPU indices or all"),
    CUDA_DEVICE_MISSING("cuda-device-missing", Severity.ERROR, "NVIDIA_VISIBLE_DEVICES asks for a GPU the bundle does not have",
            "planner CUDA rule: NVIDIA_VISIBLE_DEVICES env against the bundle's devices", "ask for one of the GPUs the message lists"),
    // Raised by the front layer when it cannot decide or apply (exit 1 or 2; onError decides the start).
    DATABASE_MISSING("database-missing", Severity.ERROR, "the site database does not exist",
            "front: --db, the install's database, /etc/bypass/db", "create it: packaging/install.sh, or bypass --db DIR db init"),
    DATABASE_UNTRUSTED("database-untrusted", Severity.ERROR, "the database can be changed by someone other than root",
            "front: owner and mode of the database directory and entries", "chown root and chmod go-w the path named"),
    STALE_FILE("stale-file", Severity.ERROR, "a registered host file changed or vanished since bypass db register",
            "front freshness check: size and mtime of each file to be mounted", "bypass db register the bundle again"),
    APPLY_FAILED("apply-failed", Severity.ERROR, "the plan could not be applied (helper, mounts, device rules, config edit)",
            "front: the apply step of the hook, precreate or patch-bundle", "read the message; bypass --debug shows more"),
    BAD_INPUT("bad-input", Severity.ERROR, "an input could not be used (container state, config.json, rootfs, site config)",
            "front: the inputs of the decision", "fix the file or field the message names"),
    INTERNAL_ERROR("internal-error", Severity.ERROR, "bypass failed unexpectedly", "any", "report it with the output of --debug");

    private static final Map<String, FindingCode> BY_ID = new HashMap<>();

    static {
        for (FindingCode c : values()) {
            BY_ID.put(c.id, c);
        }
    }

    private final String id;
    private final Severity severity;
    private final String meaning;
    private final String rule;
    private final String action;

    FindingCode(String id, Severity severity, String meaning, String rule, String action) {
        this.id = id;
        this.severity = severity;
        this.meaning = meaning;
        this.rule = rule;
        this.action = action;
    }

    public String id() {
        return id;
    }

    public Severity severity() {
        return severity;
    }

    public String meaning() {
        return meaning;
    }

    /** Which rule raises it, and the fields of the decision it depends on. */
    public String rule() {
        return rule;
    }

    public String action() {
        return action;
    }

    /** The entry for an id, or null. */
    public static FindingCode of(String id) {
        return BY_ID.get(id);
    }
}
