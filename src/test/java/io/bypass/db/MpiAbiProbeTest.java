package io.bypass.db;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MpiAbiProbeTest {
    @TempDir
    Path dir;

    private RegisteredFile lib(Path file, String soname, List<String> needed) {
        return new RegisteredFile(file.toString(), RegisteredFile.Role.LIBRARY, file.toString(), soname, "1.0.0", "0".repeat(64),
                1, "ELF64", "x86_64", needed, List.of(), Map.of(), null, List.of());
    }

    @Test
    void implementationFromNeededThenStringsThenUnknown() throws IOException {
        Path ompi = Files.write(dir.resolve("libmpi_abi_openmpi.so.1.0.0"), new byte[16]);
        Map<String, String> p = MpiAbiProbe.properties(List.of(lib(ompi, "libmpi_abi.so.1", List.of("libopen_mpi.so.40"))), Map.of());
        assertEquals("openmpi", p.get(MpiAbiProbe.IMPLEMENTATION));
        assertEquals("DT_NEEDED libopen_mpi.so.40", p.get(MpiAbiProbe.IMPLEMENTATION_FROM));
        assertEquals("mpi-abi", p.get(MpiAbiProbe.FAMILIES));

        // The banner straddles the probe's 1 MiB read chunks: still found.
        byte[] big = new byte[(1 << 20) + 100];
        byte[] banner = "MPICH Version:      %s".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(banner, 0, big, (1 << 20) - 5, banner.length);
        Path mpich = Files.write(dir.resolve("libmpi_abi_mpich.so.1.0.0"), big);
        p = MpiAbiProbe.properties(List.of(lib(mpich, "libmpi_abi.so.1", List.of("libucp.so.0"))), Map.of());
        assertEquals("mpich", p.get(MpiAbiProbe.IMPLEMENTATION));
        assertTrue(p.get(MpiAbiProbe.IMPLEMENTATION_FROM).contains("MPICH Version:"));

        Path other = Files.write(dir.resolve("libmpi_abi.so.1.0.0"), "nothing to see".getBytes(StandardCharsets.US_ASCII));
        p = MpiAbiProbe.properties(List.of(lib(other, "libmpi_abi.so.1", List.of())), Map.of());
        assertEquals("unknown", p.get(MpiAbiProbe.IMPLEMENTATION));
        p = MpiAbiProbe.properties(List.of(lib(other, "libmpi_abi.so.1", List.of())), Map.of(MpiAbiProbe.IMPLEMENTATION, "mpich"));
        assertEquals("mpich", p.get(MpiAbiProbe.IMPLEMENTATION));
        assertEquals("the descriptor's properties", p.get(MpiAbiProbe.IMPLEMENTATION_FROM));
    }

    @Test
    void versionFromTheStandardHeaderElseTheSoname() throws IOException {
        Path so = Files.write(dir.resolve("libmpi_abi_mpich.so.1.0.0"), "MPICH Version:".getBytes(StandardCharsets.US_ASCII));
        Map<String, String> p = MpiAbiProbe.properties(List.of(lib(so, "libmpi_abi.so.1", List.of())), Map.of());
        assertEquals("1", p.get(MpiAbiProbe.VERSION));
        assertEquals("the soname libmpi_abi.so.1", p.get(MpiAbiProbe.VERSION_FROM));
        Path header = dir.resolve("mpi_abi_mpich/include/mpi.h");
        Files.createDirectories(header.getParent());
        Files.writeString(header, "/* MPI */\n#define MPI_VERSION 5\n#define MPI_ABI_VERSION    1\n#  define MPI_ABI_SUBVERSION 2\n");
        p = MpiAbiProbe.properties(List.of(lib(so, "libmpi_abi.so.1", List.of())), Map.of());
        assertEquals("1.2", p.get(MpiAbiProbe.VERSION));
        assertEquals("MPI_ABI_VERSION in " + header, p.get(MpiAbiProbe.VERSION_FROM));
        Files.writeString(dir.resolve("plain.h"), "#define MPI_VERSION 4\n");
        assertNull(MpiAbiProbe.headerVersion(dir.resolve("plain.h")));
        assertNull(MpiAbiProbe.headerVersion(dir.resolve("absent.h")));
    }

    @Test
    void familiesOfABundleWithBothAbis() throws IOException {
        Path a = Files.write(dir.resolve("libmpich.so.12.6.2"), new byte[4]);
        Path b = Files.write(dir.resolve("libmpi_abi_mpich.so.1.0.0"), "MPICH Version:".getBytes(StandardCharsets.US_ASCII));
        Map<String, String> p = MpiAbiProbe.properties(List.of(lib(a, "libmpich.so.12", List.of()),
                lib(b, "libmpi_abi.so.1", List.of())), Map.of());
        assertEquals("mpich,mpi-abi", p.get(MpiAbiProbe.FAMILIES));
        assertEquals("mpich", p.get(MpiAbiProbe.IMPLEMENTATION));
        assertTrue(MpiAbiProbe.properties(List.of(lib(a, "libmpich.so.12", List.of())), Map.of()).get(MpiAbiProbe.IMPLEMENTATION) == null);
    }
}
