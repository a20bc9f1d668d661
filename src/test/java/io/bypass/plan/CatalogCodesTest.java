package io.bypass.plan;

import io.bypass.Finding;
import io.bypass.container.ContainerProfile;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredFile;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.bypass.plan.Fixtures.LIBDIR;
import static io.bypass.plan.Fixtures.container;
import static io.bypass.plan.Fixtures.hostMpich;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The planner's codes that no other test raises, each from the input that must raise it. */
class CatalogCodesTest {
    static final Set<String> MPI3 = PlannerTest.MPI3;

    static Finding only(Plan plan, String code) {
        List<Finding> hits = plan.findings().stream().filter(f -> f.code().equals(code)).toList();
        assertEquals(1, hits.size(), () -> code + " in " + plan.findings());
        return hits.get(0);
    }

    @Test
    void anotherSonameMajorIsAbiMajorMismatch() {
        Plan plan = Planner.plan(container().mpich("11.5.5", MPI3).program("MPI_Init").build(),
                List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.REFUSE, plan.verdict());
        assertEquals("abi-major-mismatch", plan.firstError().code());
        assertTrue(plan.firstError().message().contains("12.2.2"), plan.firstError().message());
    }

    @Test
    void aContainerMpiWithoutVersionIsAbiUnknown() {
        ContainerProfile base = container().program("MPI_Init").build();
        io.bypass.container.ContainerLibrary lib = new io.bypass.container.ContainerLibrary("libmpich.so", LIBDIR + "/libmpich.so",
                LIBDIR + "/libmpich.so", "libmpich.so", "", List.of(), MPI3, "ld.so.cache");
        ContainerProfile p = new ContainerProfile(base.rootfs(), base.elfClass(), base.machine(), base.libc(), true,
                base.loaderDirs(), base.libraries(), new ContainerProfile.Mpi("mpich", "libmpich.so", "", Map.of("libmpich.so", lib)),
                null, null, base.exec(), base.annotations(), base.env(), List.of());
        Plan plan = Planner.plan(p, List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.REFUSE, plan.verdict());
        assertEquals("abi-unknown", plan.firstError().code());
    }

    @Test
    void anMpiBundleAskedForByAContainerWithoutMpiIsAdded() {
        Plan plan = Planner.plan(container().annotation(Planner.ANN_BUNDLES, "host-mpich").build(),
                List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict(), () -> plan.findings().toString());
        assertEquals(Finding.Severity.INFO, only(plan, "mpi-added").severity());
    }

    @Test
    void anMpiBundleWithoutItsLibraryIsIncomplete() {
        RegisteredFile ucp = Fixtures.file(LIBDIR + "/libucp.so.0.0.0", RegisteredFile.Role.LIBRARY, "libucp.so.0",
                List.of("libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5")), Set.of());
        BundleEntry b = Fixtures.entry("host-mpich", BundleKind.MPI, List.of(ucp), Map.of("mpi.family", "mpich"), List.of(), null);
        Plan plan = Planner.plan(container().mpich("12.4.1", MPI3).build(), List.of(b), Policy.DEFAULT);
        assertEquals(Plan.Verdict.REFUSE, plan.verdict(), () -> plan.findings().toString());
        assertEquals("mpi-bundle-incomplete", plan.firstError().code());
    }

    @Test
    void aDependencyNobodyProvidesIsReported() {
        RegisteredFile lib = Fixtures.file(LIBDIR + "/libtool.so.1.0", RegisteredFile.Role.LIBRARY, "libtool.so.1",
                List.of("libnowhere.so.3", "libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5")), Set.of());
        BundleEntry b = Fixtures.entry("tool", BundleKind.GENERIC, List.of(lib), Map.of(), List.of(),
                new BundleDescriptor.Activation(Map.of(), List.of(), true));
        Plan plan = Planner.plan(container().build(), List.of(b), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict(), () -> plan.findings().toString());
        assertTrue(only(plan, "dependency-missing").message().contains("libnowhere.so.3"));
    }

    @Test
    void aFabricBundleWithoutLibfabricIsIncomplete() {
        BundleEntry b = Fixtures.entry("fabric", BundleKind.LIBFABRIC,
                List.of(StackRulesTest.lib("libother.so.1.0", "libother.so.1", List.of())), Map.of(), List.of(),
                new BundleDescriptor.Activation(Map.of(), List.of(), true));
        Plan plan = Planner.plan(StackRulesTest.fabricProgram("FABRIC_1.3"), List.of(b), Policy.DEFAULT);
        assertEquals(Plan.Verdict.REFUSE, plan.verdict(), () -> plan.findings().toString());
        assertEquals("fabric-bundle-incomplete", plan.firstError().code());
    }

    @Test
    void aFabricBundleWithoutAProgramIsNotChecked() {
        ContainerProfile p = container().lib("libfabric.so.1", "libfabric.so.1.27.0", List.of("FABRIC_1.8")).build();
        Plan plan = Planner.plan(p, List.of(StackRulesTest.fabric()), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict(), () -> plan.findings().toString());
        assertEquals(Finding.Severity.WARNING, only(plan, "fabric-not-checked").severity());
    }

    @Test
    void unknownCudaCapabilitiesAndDevicesAreWarnings() {
        Plan plan = Planner.plan(container().env("NVIDIA_VISIBLE_DEVICES", "0,GPU-abc").env("NVIDIA_DRIVER_CAPABILITIES",
                "compute,warp").build(), List.of(StackRulesTest.driver()), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict(), () -> plan.findings().toString());
        assertTrue(only(plan, "cuda-capability-unknown").message().contains("'warp'"));
        assertTrue(only(plan, "cuda-device-unknown").message().contains("'GPU-abc'"));
    }

    @Test
    void anOptedOutContainerIsDisabled() {
        Plan plan = Planner.plan(container().mpich("12.4.1", MPI3).annotation(Planner.ANN_ENABLED, "FALSE").build(),
                List.of(hostMpich("12.2.2", "2.34", MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.NONE, plan.verdict());
        assertEquals("disabled", plan.findings().get(plan.findings().size() - 1).code());
    }
}
