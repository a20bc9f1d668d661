package io.bypass.plan;

import io.bypass.Finding;
import io.bypass.container.ContainerProfile;
import io.bypass.db.AbiCheck;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.bypass.plan.Fixtures.LIBDIR;
import static io.bypass.plan.Fixtures.container;
import static io.bypass.plan.Fixtures.hostMpich;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlannerTest {
    static final Set<String> MPI3 = Set.of("MPI_Init", "MPI_Finalize", "MPI_Comm_rank", "MPI_Get_library_version");
    static final Set<String> MPI41 = Set.of("MPI_Init", "MPI_Finalize", "MPI_Comm_rank", "MPI_Get_library_version",
            "MPI_Comm_attach_buffer");

    /**
     * Sarus' published version pairs (its MPI hook unit tests), host library against container
     * library, under each of its modes; plus bypass' SYMBOLS mode, which compares like FULL and
     * leaves HOST_MINOR_OLDER to the symbol check.
     */
    @ParameterizedTest(name = "{0}: host {1} vs container {2} -> {3}")
    @CsvSource({
            "major,  12.5.5, 12.5.5, COMPATIBLE",
            "major,  12.5.5, 12.5.0, COMPATIBLE",
            "major,  12.5.5, 12.5.10, COMPATIBLE",
            "major,  12.5.5, 12.4.0, COMPATIBLE",
            "major,  12.5.5, 12.6, COMPATIBLE",
            "major,  12.5.5, 11.5.5, INCOMPATIBLE_MAJOR",
            "major,  12.5.5, 13.5.5, INCOMPATIBLE_MAJOR",
            "major,  12.5.5, '', NO_VERSION",
            "major,  '', 12.5.5, NO_VERSION",
            "major,  12.1, 12, COMPATIBLE",
            "major,  12, 12.0, COMPATIBLE",
            "major,  12, 12.1, COMPATIBLE",
            "full,   12.5.5, 12.5.5, COMPATIBLE",
            "full,   12.5.5, 12.5.0, COMPATIBLE",
            "full,   12.5.5, 12.5.10, COMPATIBLE",
            "full,   12.5.5, 12.4.0, COMPATIBLE",
            "full,   12.5.5, 12.6, HOST_MINOR_OLDER",
            "full,   12.5.5, 11.5.5, INCOMPATIBLE_MAJOR",
            "full,   12.5.5, 13.5.5, INCOMPATIBLE_MAJOR",
            "full,   12.5.5, '', NO_VERSION",
            "full,   '', 12.5.5, NO_VERSION",
            "full,   12.1, 12, COMPATIBLE",
            "full,   12, 12.0, COMPATIBLE",
            "full,   12, 12.1, HOST_MINOR_OLDER",
            "strict, 12.5.5, 12.5.5, COMPATIBLE",
            "strict, 12.5.5, 12.5.0, COMPATIBLE",
            "strict, 12.5.5, 12.5.10, COMPATIBLE",
            "strict, 12.5.5, 12.4.0, INCOMPATIBLE_MINOR",
            "strict, 12.5.5, 12.6, INCOMPATIBLE_MINOR",
            "strict, 12.5.5, 11.5.5, INCOMPATIBLE_MAJOR",
            "strict, 12.5.5, 13.5.5, INCOMPATIBLE_MAJOR",
            "strict, 12.5.5, '', NO_VERSION",
            "strict, '', 12.5.5, NO_VERSION",
            "strict, 12.1, 12, INCOMPATIBLE_MINOR",
            "strict, 12, 12.0, INCOMPATIBLE_MINOR",
            "strict, 12, 12.1, INCOMPATIBLE_MINOR",
            "symbols, 12.2.2, 12.4.1, HOST_MINOR_OLDER",
            "symbols, 12.4.1, 12.2.2, COMPATIBLE",
            "symbols, 12.2.2, 12.2.2, COMPATIBLE",
            "symbols, 12.2.2, 3.4.1, INCOMPATIBLE_MAJOR",
    })
    void abiVersionTable(String mode, String host, String containerVersion, Planner.AbiOutcome expected) {
        assertEquals(expected, Planner.compareVersions(AbiCheck.parse(mode, "test"), host == null ? "" : host,
                containerVersion == null ? "" : containerVersion));
    }

    /** Whole decisions: container glibc and MPI against a host MPICH 12.2.2 needing GLIBC_2.34. */
    @ParameterizedTest(name = "glibc {0}, MPI {1}, imports {2}, check {3} -> {4} {5}")
    @CsvSource({
            // the seed case with real distributions: Debian 11 (2.31) under a Debian 12 host MPI
            "2.31, 12.1.1, mpi3,  symbols, refuse, glibc-too-old",
            // Debian 13: host minor older, program uses only what the host has
            "2.41, 12.4.1, mpi3,  symbols, inject, abi-minor-older",
            // Debian 13: program calls an MPI-4.1 function the host lacks
            "2.41, 12.4.1, mpi41, symbols, refuse, missing-symbols",
            "2.41, 12.4.1, mpi41, full,    inject, abi-minor-older",
            "2.41, 12.4.1, mpi3,  strict,  refuse, abi-minor-mismatch",
            "2.41, 12.4.1, mpi41, major,   inject, abi-compatible",
            "2.36, 12.2.2, mpi41, symbols, inject, abi-compatible",
            "2.34, 12.1.0, mpi3,  symbols, inject, abi-compatible",
            "2.33, 12.1.0, mpi3,  symbols, refuse, glibc-too-old",
    })
    void decisions(String glibc, String containerMpi, String imports, String check, String verdict, String code) {
        ContainerProfile p = container().glibc(glibc).mpich(containerMpi, MPI41)
                .program((imports.equals("mpi3") ? MPI3 : MPI41).toArray(String[]::new)).build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), new Policy(AbiCheck.parse(check, "test")));
        assertEquals(verdict, plan.verdict().id(), () -> plan.findings().toString());
        assertTrue(plan.findings().stream().anyMatch(f -> f.code().equals(code)), () -> plan.findings().toString());
    }

    @Test
    void glibcRefusalNamesFileVersionAndContainerGlibc() {
        ContainerProfile p = container().glibc("2.31").mpich("12.1.1", MPI3).program("MPI_Init").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        Finding f = plan.firstError();
        assertEquals("glibc-too-old", f.code());
        assertTrue(f.message().contains(LIBDIR + "/libmpich.so.12.2.2"), f.message());
        assertTrue(f.message().contains("GLIBC_2.34"), f.message());
        assertTrue(f.message().contains("2.31"), f.message());
        assertTrue(plan.mounts().isEmpty(), "a refused plan carries no edits");
    }

    @Test
    void missingSymbolsAreNamed() {
        ContainerProfile p = container().mpich("12.4.1", MPI41).program("MPI_Init", "MPI_Comm_attach_buffer").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.REFUSE, plan.verdict());
        assertTrue(plan.firstError().message().contains("MPI_Comm_attach_buffer"), plan.firstError().message());
    }

    @Test
    void injectionReplacesTheContainersFileAndAddsMissingDependencies() {
        ContainerProfile p = container().mpich("12.4.1", MPI41).program("MPI_Init").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict());
        Plan.Mount main = plan.mounts().get(0);
        assertEquals(LIBDIR + "/libmpich.so.12.2.2", main.source());
        assertEquals(LIBDIR + "/libmpich.so.12.4.1", main.target(), "mounted over the real file the cache resolves");
        assertEquals(Plan.Mount.Kind.REPLACE, main.kind());
        Plan.Mount ucp = plan.mounts().get(1);
        assertEquals(Plan.LIBRARY_DIR + "/libucp.so.0", ucp.target());
        assertEquals(Plan.Mount.Kind.ADD, ucp.kind());
        assertEquals(Plan.LIBRARY_DIR, plan.libraryDir());
        assertEquals("LD_LIBRARY_PATH", plan.env().get(0).name());
        assertTrue(plan.mounts().stream().noneMatch(m -> m.source().contains("libc.so")), "glibc is never injected");
    }

    @Test
    void containerCopyOfADependencyIsKeptWhenCompatible() {
        ContainerProfile p = container().mpich("12.4.1", MPI41).lib("libucp.so.0", "libucp.so.0.0.0", List.of())
                .program("MPI_Init").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(1, plan.mounts().size(), plan.mounts().toString());
        assertNull(plan.libraryDir());
    }

    @Test
    void versionedDependencyIsReplacedWhenTheContainersCopyIsTooOld() {
        RegisteredFile main = Fixtures.file(LIBDIR + "/libmpich.so.12.2.2", RegisteredFile.Role.LIBRARY, "libmpich.so.12",
                List.of("libgfortran.so.5"), Map.of("libgfortran.so.5", List.of("GFORTRAN_10")), MPI3);
        RegisteredFile gf = Fixtures.file(LIBDIR + "/libgfortran.so.5.0.0", RegisteredFile.Role.DEPENDENCY, "libgfortran.so.5",
                List.of(), Map.of(), Set.of());
        BundleEntry b = Fixtures.entry("m", BundleKind.MPI, List.of(main, gf), Map.of("mpi.family", "mpich"), List.of(), null);
        ContainerProfile p = container().mpich("12.2.2", MPI3).lib("libgfortran.so.5", "libgfortran.so.5.0.0", List.of("GFORTRAN_8"))
                .build();
        Plan plan = Planner.plan(p, List.of(b), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict());
        Plan.Mount m = plan.mounts().get(1);
        assertEquals(Plan.Mount.Kind.REPLACE, m.kind());
        assertEquals(LIBDIR + "/libgfortran.so.5.0.0", m.target());
    }

    @Test
    void noMpiMeansNothingToInject() {
        Plan plan = Planner.plan(container().build(), List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.NONE, plan.verdict());
        assertTrue(plan.findings().stream().anyMatch(f -> f.code().equals("nothing-to-inject")));
    }

    @Test
    void openMpiContainerIsLeftAloneByAnMpichBundle() {
        Plan plan = Planner.plan(container().openmpi("40.30.2").build(), List.of(hostMpich("12.2.2", "2.34", MPI3)),
                Policy.DEFAULT);
        assertEquals(Plan.Verdict.NONE, plan.verdict());
    }

    @Test
    void explicitSelectionOfAnotherFamilyIsRefused() {
        ContainerProfile p = container().openmpi("40.30.2").annotation(Planner.ANN_BUNDLES, "host-mpich").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals("mpi-family-mismatch", plan.firstError().code());
    }

    @Test
    void unknownBundleNameIsAnError() {
        ContainerProfile p = container().annotation(Planner.ANN_BUNDLES, "nope").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.REFUSE, plan.verdict());
        assertEquals("unknown-bundle", plan.firstError().code());
    }

    @Test
    void muslContainerIsRefusedForGlibcBundles() {
        ContainerProfile p = container().musl().annotation("org.supercontainers.mpi.portability.mode", "mpi_system").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals("libc-mismatch", plan.firstError().code());
    }

    @Test
    void disabledByAnnotation() {
        ContainerProfile p = container().mpich("12.2.2", MPI3).annotation(Planner.ANN_ENABLED, "false").build();
        assertEquals(Plan.Verdict.NONE, Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT).verdict());
    }

    @Test
    void libfabricInjectModeKeepsTheContainersMpi() {
        ContainerProfile p = container().mpich("12.2.2", MPI3).annotation("org.supercontainers.mpi.portability.mode",
                "libfabric_inject").build();
        assertEquals(Plan.Verdict.NONE, Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT).verdict());
    }

    @Test
    void mpiSystemModeAddsTheHostMpiToAContainerWithout() {
        ContainerProfile p = container().annotation("org.supercontainers.mpi.portability.mode", "mpi_system").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict());
        assertEquals(Plan.LIBRARY_DIR + "/libmpich.so.12", plan.mounts().get(0).target());
    }

    @Test
    void devicesEnvAndActivationBySoname() {
        RegisteredDevice dev = new RegisteredDevice("/dev/null", 'c', 1, 3, 0666, 0, 0);
        BundleEntry b = Fixtures.entry("dev", BundleKind.GENERIC, List.of(), Map.of(), List.of(dev),
                new BundleDescriptor.Activation(Map.of(), List.of("libm.so.6"), false));
        Plan plan = Planner.plan(container().build(), List.of(b), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict());
        assertEquals("/dev/null", plan.devices().get(0).target());
        assertNotNull(plan.toJson().get("plan").get("devices"));
    }

    @Test
    void activationByAnnotationWithWildcard() {
        RegisteredDevice dev = new RegisteredDevice("/dev/null", 'c', 1, 3, 0666, 0, 0);
        BundleEntry b = Fixtures.entry("dev", BundleKind.GENERIC, List.of(), Map.of(), List.of(dev),
                new BundleDescriptor.Activation(Map.of("site.example/gpu", "*"), List.of(), false));
        assertEquals(Plan.Verdict.NONE, Planner.plan(container().build(), List.of(b), Policy.DEFAULT).verdict());
        assertEquals(Plan.Verdict.INJECT, Planner.plan(container().annotation("site.example/gpu", "yes").build(), List.of(b),
                Policy.DEFAULT).verdict());
    }

    @Test
    void optInGlibcBundleReplacesAnOlderContainerGlibc() {
        RegisteredFile libc = new RegisteredFile(LIBDIR + "/libc.so.6", RegisteredFile.Role.LIBRARY, "libc.so.6", "libc.so.6", "6",
                "0".repeat(64), 1, "ELF64", "x86_64", List.of(), Fixtures.glibcVersions("2.36"), Map.of(), null, List.of());
        BundleDescriptor d = new BundleDescriptor("host-glibc", BundleKind.GLIBC, "2.36", null, List.of(LIBDIR + "/libc.so.6"),
                BundleDescriptor.Dependencies.NONE, List.of(), List.of(), List.of(), Map.of(), BundleDescriptor.Activation.DEFAULT,
                BundleDescriptor.MpiSettings.DEFAULT, new BundleDescriptor.GlibcSettings(true), Map.of());
        BundleEntry glibc = new BundleEntry(d, "now", "2.36", List.of(libc), List.of(), List.of(), Map.of("glibc.version", "2.36"));
        ContainerProfile p = container().glibc("2.31").mpich("12.1.1", MPI3).program("MPI_Init").build();
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3), glibc), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict(), () -> plan.findings().toString());
        assertTrue(plan.findings().stream().anyMatch(f -> f.code().equals("glibc-replaced")));
        assertTrue(plan.mounts().stream().anyMatch(m -> m.source().equals(LIBDIR + "/libc.so.6")));

        ContainerProfile newer = container().glibc("2.41").mpich("12.2.2", MPI3).build();
        Plan noDowngrade = Planner.plan(newer, List.of(hostMpich("12.2.2", "2.34", MPI3), glibc), Policy.DEFAULT);
        assertTrue(noDowngrade.mounts().stream().noneMatch(m -> m.source().endsWith("libc.so.6")), "never downgrades");
    }
}
