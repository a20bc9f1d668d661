package io.bypass.util;

import io.bypass.elf.Sonames;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class VersionsTest {
    @ParameterizedTest(name = "{0} vs {1}")
    @CsvSource({"2.31, 2.34, -1", "2.34, 2.34, 0", "2.34.0, 2.34, 0", "2.4, 2.34, -1", "535.104.05, 535.104.5, 0",
            "12.4.1, 12.2.2, 1", "3, 2.99, 1"})
    void compare(String a, String b, int sign) {
        assertEquals(sign, Integer.signum(Versions.compare(a, b)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(value = {"GLIBC_2.34, 2.34", "GLIBC_2.2.5, 2.2.5", "GLIBC_PRIVATE, NULL", "FABRIC_1.7, NULL"}, nullValues = "NULL")
    void glibcVersionOf(String name, String version) {
        assertEquals(version, Versions.glibcVersionOf(name));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(value = {
            "libmpi.so.12, mpich, 12", "libmpich.so.12, mpich, 12", "libmpichfort.so.12, mpich, 12",
            "libmpi.so.40, openmpi, 40", "libmpi_mpifh.so.40, openmpi, 40", "libfabric.so.1, NULL, 1", "libmpi.so, NULL, -1"},
            nullValues = "NULL")
    void mpiSonames(String soname, String family, int major) {
        assertEquals(family, Sonames.mpiFamily(soname));
        assertEquals(major, Sonames.major(soname));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"libc.so.6, true", "libm.so.6, true", "ld-linux-x86-64.so.2, true", "libpthread.so.0, true",
            "libcrypt.so.1, false", "libucp.so.0, false", "libnss_files.so.2, true", "libgcc_s.so.1, false"})
    void glibcFamily(String soname, boolean family) {
        assertEquals(family, Sonames.isGlibcFamily(soname));
    }
}
