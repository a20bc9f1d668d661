package io.bypass.host;

import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Golden files: /proc/cpuinfo recorded on an AVX-512 Skylake server, an AMD Zen 2 server and this
 * machine (a Sapphire Rapids VM), against annotation sets.
 */
class MatcherTest {

    static CpuInfo cpu(String file) throws IOException {
        try (InputStream in = MatcherTest.class.getResourceAsStream("/match/" + file)) {
            return CpuInfo.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "x86_64");
        }
    }

    @ParameterizedTest(name = "{0}: level {1}, target {2}")
    @CsvSource({
            "cpuinfo-skylake-avx512.txt, 4, skylake_avx512",
            "cpuinfo-zen2.txt, 3, zen2",
            "cpuinfo-sapphirerapids-vm.txt, 4, sapphirerapids",
    })
    void recordedCpus(String file, int level, String target) throws IOException {
        CpuInfo c = cpu(file);
        assertEquals(level, c.x86Level());
        assertEquals(target, c.target());
    }

    static List<BundleEntry> site() {
        RegisteredFile fab = new RegisteredFile("/usr/lib/libfabric.so.1.20.0", RegisteredFile.Role.LIBRARY, "x", "libfabric.so.1", "1.20.0",
                "0".repeat(64), 1, "ELF64", "x86_64", List.of(), List.of("FABRIC_1.5", "FABRIC_1.6"), Map.of(), "2.34", List.of());
        return List.of(
                io.bypass.plan.FixturesAccess.entry("mpich", BundleKind.MPI, List.of(), Map.of("mpi.family", "mpich", "glibc.required", "2.34")),
                io.bypass.plan.FixturesAccess.entry("fabric", BundleKind.LIBFABRIC, List.of(fab), Map.of()),
                io.bypass.plan.FixturesAccess.entry("nvidia", BundleKind.CUDA, List.of(),
                        Map.of("cuda.driver", "535.104.05", "cuda.version", "12.2", "cuda.brand", "Tesla")));
    }

    /** cpuinfo | annotations (k=v;k=v) | kernel | expected colours: overall cpu kernel glibc mpi libfabric cuda */
    @ParameterizedTest(name = "{0} [{1}] -> {3}")
    @CsvSource(delimiter = '|', value = {
            "cpuinfo-skylake-avx512.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.36 | 5.14.0 | green green green green green green green",
            "cpuinfo-zen2.txt           | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.36 | 5.14.0 | red red green green green green green",
            "cpuinfo-zen2.txt           | org.supercontainers.hardware.cpu.optimized.version=skylake_avx512;org.supercontainers.glibc.version=2.36 | 5.14.0 | red red green green green green green",
            "cpuinfo-zen2.txt           | org.supercontainers.hardware.cpu.optimized.version=zen2;org.supercontainers.glibc.version=2.36 | 5.14.0 | green green green green green green green",
            "cpuinfo-skylake-avx512.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v2;org.supercontainers.glibc.version=2.36 | 5.14.0 | orange orange green green green green green",
            "cpuinfo-skylake-avx512.txt | org.supercontainers.hardware.cpu.optimized.version=sapphirerapids;org.supercontainers.glibc.version=2.36 | 5.14.0 | red red green green green green green",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.hardware.cpu.optimized.version=sapphirerapids;org.supercontainers.glibc.version=2.41 | 6.18.44 | green green green green green green green",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.31 | 6.18.44 | red green green red green green green",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.36;org.supercontainers.host.kernel.version.min=6.20 | 6.18.44 | red green red green green green green",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.36;org.supercontainers.mpi.implementation=openmpi | 6.18.44 | orange green green green orange green green",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.36;org.supercontainers.mpi.implementation=mpich;org.supercontainers.libfabric.abi.version=1.8 | 6.18.44 | red green green green green red green",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.36;NVIDIA_REQUIRE_CUDA=cuda>=12.0 | 6.18.44 | green green green green green green green",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.hardware.cpu.optimized.version=x86_64_v4;org.supercontainers.glibc.version=2.36;NVIDIA_REQUIRE_CUDA=cuda>=12.4 | 6.18.44 | red green green green green green red",
            "cpuinfo-sapphirerapids-vm.txt | org.supercontainers.glibc.version=2.36 | 6.18.44 | orange orange green green green green green",
    })
    void colours(String cpuinfo, String annotations, String kernel, String expected) throws IOException {
        Map<String, String> ann = new LinkedHashMap<>();
        for (String kv : annotations.split(";")) {
            int eq = kv.indexOf('=');
            ann.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        Fingerprint host = new Fingerprint(cpu(cpuinfo), kernel, "2.36", site(), List.of(), List.of());
        Matcher.Result r = Matcher.match(host, ann, null, null);
        StringBuilder got = new StringBuilder(r.overall().id());
        for (String dim : List.of("cpu", "kernel", "glibc", "mpi", "libfabric", "cuda")) {
            got.append(' ').append(r.dimensions().stream().filter(d -> d.name().equals(dim)).findFirst().orElseThrow().colour().id());
        }
        assertEquals(expected, got.toString(), () -> r.dimensions().toString());
    }
}
