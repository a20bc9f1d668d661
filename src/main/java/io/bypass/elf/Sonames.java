package io.bypass.elf;

import java.util.List;

/** Facts about well-known sonames and library file names that the rules depend on. */
public final class Sonames {
    private static final List<String> GLIBC_PREFIXES = List.of(
            "libc.so.", "libm.so.", "libpthread.so.", "libdl.so.", "librt.so.", "libresolv.so.", "libutil.so.",
            "libanl.so.", "libBrokenLocale.so.", "libmvec.so.", "libnss_", "libthread_db.so.", "libc_malloc_debug.so.",
            "libnsl.so.1", "libcrypt.so.1", "ld-linux", "ld64.so.", "ld.so.", "ld-linux-x86-64.so.", "libmemusage.so",
            "libpcprofile.so", "libSegFault.so");

    private Sonames() {
    }

    /**
     * The libraries glibc itself ships: they must come from the same glibc build as the loader, so
     * they are never injected one by one (only a whole glibc bundle may replace them).
     */
    public static boolean isGlibcFamily(String soname) {
        if (soname == null) {
            return false;
        }
        if (soname.equals("libcrypt.so.1")) {
            // libxcrypt has taken over libcrypt.so.1 on current distributions; it is versioned XCRYPT_*.
            return false;
        }
        for (String p : GLIBC_PREFIXES) {
            if (soname.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /** The loader's soname for a machine's ELF class, e.g. ld-linux-x86-64.so.2. */
    public static boolean isLoader(String soname) {
        return soname != null && (soname.startsWith("ld-linux") || soname.startsWith("ld64.so.") || soname.startsWith("ld.so."));
    }

    /**
     * The version numbers after ".so." in a file name: libmpich.so.12.4.1 → "12.4.1",
     * libmpi.so.40 → "40", libfoo.so → "" (no version), libc-2.31.so → "".
     */
    public static String versionSuffix(String fileName) {
        int i = fileName.lastIndexOf(".so.");
        if (i < 0) {
            return "";
        }
        String v = fileName.substring(i + 4);
        for (int k = 0; k < v.length(); k++) {
            char c = v.charAt(k);
            if (!(c == '.' || (c >= '0' && c <= '9'))) {
                return "";
            }
        }
        return v;
    }

    /** The name before ".so", e.g. libmpich.so.12 → libmpich. */
    public static String stem(String soname) {
        int i = soname.indexOf(".so");
        return i < 0 ? soname : soname.substring(0, i);
    }

    /** The family of the MPI-5 standard ABI (libmpi_abi.so.1), which every implementation may provide. */
    public static final String MPI_ABI = "mpi-abi";

    /** libmpi_abi.so.N (and libpmpi_abi.so.N, for an implementation that splits the profiling layer off). */
    public static boolean isStandardMpiAbi(String soname) {
        if (soname == null) {
            return false;
        }
        String stem = stem(soname);
        return (stem.equals("libmpi_abi") || stem.equals("libpmpi_abi")) && major(soname) >= 0;
    }

    /**
     * The implementation whose Fortran bindings a vendor Fortran MPI library is ("mpich" for
     * libmpichfort/libmpichf90, "openmpi" for libmpi_mpifh, libmpi_usempif08, ...), else null. The
     * MPI standard defines no Fortran ABI: these work only with the MPI they were built with.
     */
    public static String fortranMpiVendor(String soname) {
        if (soname == null) {
            return null;
        }
        return switch (stem(soname)) {
            case "libmpichfort", "libmpichf90", "libmpifort" -> "mpich";
            case "libmpi_mpifh", "libmpi_usempif08", "libmpi_usempi_ignore_tkr", "libmpi_usempi" -> "openmpi";
            default -> null;
        };
    }

    /** "mpich" for the MPICH ABI sonames, "openmpi" for Open MPI's, "mpi-abi" for the standard ABI, else null. */
    public static String mpiFamily(String soname) {
        if (soname == null) {
            return null;
        }
        if (isStandardMpiAbi(soname)) {
            return MPI_ABI;
        }
        String stem = stem(soname);
        String ver = versionSuffix(soname);
        String major = ver.isEmpty() ? "" : ver.split("\\.")[0];
        switch (stem) {
            case "libmpich", "libmpichcxx", "libmpichf90", "libmpichfort", "libmpicxx", "libmpifort", "libmpl", "libopa":
                return stem.equals("libmpl") || stem.equals("libopa") ? null : "mpich";
            case "libmpi":
                return major.equals("12") ? "mpich" : (major.isEmpty() ? null : "openmpi");
            case "libmpi_cxx", "libmpi_mpifh", "libmpi_usempif08", "libmpi_usempi_ignore_tkr", "libmpi_usempi", "libopen-rte",
                 "libopen-pal", "libmpi_java":
                return "openmpi";
            default:
                return null;
        }
    }

    /** The soname major (first number after .so.), or -1. */
    public static int major(String soname) {
        String v = versionSuffix(soname);
        if (v.isEmpty()) {
            return -1;
        }
        String first = v.split("\\.")[0];
        try {
            return Integer.parseInt(first);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
