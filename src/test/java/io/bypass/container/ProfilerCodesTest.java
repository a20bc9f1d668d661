package io.bypass.container;

import io.bypass.Finding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The profiler's codes that no other test raises, from a small rootfs of real ELF files (host libc, test fixtures). */
class ProfilerCodesTest {
    @TempDir
    Path tmp;

    Path rootfs() throws Exception {
        Path r = tmp.resolve("root");
        Path lib = Files.createDirectories(r.resolve("usr/lib/x86_64-linux-gnu"));
        Files.copy(Path.of("/lib/x86_64-linux-gnu/libc.so.6"), lib.resolve("libc.so.6"));
        Files.copy(Path.of("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), lib.resolve("ld-linux-x86-64.so.2"));
        Path fixtures = Path.of(System.getProperty("bypass.fixtures", "target/fixtures"));
        // A program whose libfix.so.1 the container lacks.
        Files.createDirectories(r.resolve("app"));
        Files.copy(fixtures.resolve("libuser.so.1"), r.resolve("app/prog"));
        // Both MPI ABIs installed.
        Files.copy(fixtures.resolve("libfix.so.1"), lib.resolve("libmpich.so.12"));
        Files.copy(fixtures.resolve("libfix.so.1"), lib.resolve("libmpi.so.40"));
        return r;
    }

    static List<String> codes(ContainerProfile p) {
        return p.findings().stream().map(Finding::code).toList();
    }

    static Finding only(ContainerProfile p, String code) {
        List<Finding> hits = p.findings().stream().filter(f -> f.code().equals(code)).toList();
        assertEquals(1, hits.size(), () -> code + " in " + p.findings());
        return hits.get(0);
    }

    @Test
    void theProfilersWarnings() throws Exception {
        Path r = rootfs();
        ContainerProfile p = Profiler.profile(new Profiler.Request(r, Map.of(Profiler.ANN_MPI_IMPLEMENTATION, "lam",
                Profiler.ANN_MPI_MODE, "mpi_teleport"), Map.of(), "/app/prog", false,
                Set.of("libc.so.6", "libmpich.so.12", "libmpi.so.40", "libmpi.so.12")));
        assertTrue(only(p, "library-not-found").message().contains("libfix.so.1"), p.findings().toString());
        assertEquals(Finding.Severity.INFO, only(p, "mpi-several").severity());
        List<Finding> unknown = p.findings().stream().filter(f -> f.code().equals("annotation-unknown")).toList();
        assertEquals(2, unknown.size(), p.findings().toString());
    }

    @Test
    void anAnnotationTheRootfsContradicts() throws Exception {
        ContainerProfile p = Profiler.profile(new Profiler.Request(rootfs(), Map.of(Profiler.ANN_LIBC_IMPLEMENTATION, "musl"),
                Map.of(), null, false, Set.of("libc.so.6")));
        assertTrue(only(p, "annotation-mismatch").message().contains("musl"), p.findings().toString());
    }

    @Test
    void aProgramThatIsNotThereIsNotChecked() throws Exception {
        ContainerProfile p = Profiler.profile(new Profiler.Request(rootfs(), Map.of(), Map.of(), "/app/missing", false,
                Set.of("libc.so.6")));
        assertEquals(Finding.Severity.INFO, only(p, "program-not-checked").severity(), codes(p).toString());
    }
}
