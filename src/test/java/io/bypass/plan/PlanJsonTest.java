package io.bypass.plan;

import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredDevice;
import io.bypass.util.Json;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static io.bypass.plan.Fixtures.container;
import static io.bypass.plan.Fixtures.hostMpich;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plan.fromJson gives back exactly the plan toJson wrote (the decision cache stores plans so). */
class PlanJsonTest {

    private static Plan roundTrip(Plan plan) {
        byte[] bytes = Json.compact(plan.toJson()).getBytes(StandardCharsets.UTF_8);
        return Plan.fromJson(Json.parse(bytes, "test"));
    }

    @Test
    void injectWithReplacementsAddedLibrariesAndEnv() {
        Plan plan = Planner.plan(container().mpich("12.4.1", PlannerTest.MPI41).program("MPI_Init").build(),
                List.of(hostMpich("12.2.2", "2.34", PlannerTest.MPI3)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict());
        assertFalse(plan.env().isEmpty(), "the real plan sets LD_LIBRARY_PATH");
        assertNotNull(plan.libraryDir());
        assertTrue(plan.mounts().stream().anyMatch(m -> m.kind() == Plan.Mount.Kind.ADD));
        assertTrue(plan.mounts().stream().anyMatch(m -> m.kind() == Plan.Mount.Kind.REPLACE && m.soname() != null));
        assertEquals(plan, roundTrip(plan));
    }

    @Test
    void injectWithDevices() {
        RegisteredDevice dev = new RegisteredDevice("/dev/null", 'c', 1, 3, 0640, 0, 44);
        BundleEntry b = Fixtures.entry("dev", BundleKind.GENERIC, List.of(), Map.of(), List.of(dev),
                new BundleDescriptor.Activation(Map.of(), List.of("libm.so.6"), false));
        Plan plan = Planner.plan(container().build(), List.of(b), Policy.DEFAULT);
        assertEquals(1, plan.devices().size());
        Plan back = roundTrip(plan);
        assertEquals(plan, back);
        assertEquals(44, back.devices().get(0).host().gid(), "uid and gid survive");
    }

    @Test
    void refuseWithFindingsHintsAndBundles() {
        Plan plan = Planner.plan(container().glibc("2.31").mpich("12.1.1", PlannerTest.MPI3).program("MPI_Init").build(),
                List.of(hostMpich("12.2.2", "2.34", PlannerTest.MPI3)), Policy.DEFAULT);
        assertTrue(plan.refused());
        assertTrue(plan.findings().stream().anyMatch(f -> f.hint() != null && f.bundle() != null));
        Plan back = roundTrip(plan);
        assertEquals(plan, back);
        assertEquals(plan.firstError().refusalLine(), back.firstError().refusalLine());
    }

    @Test
    void noneRoundTrips() {
        Plan plan = Planner.plan(container().build(), List.of(), Policy.DEFAULT);
        assertEquals(Plan.Verdict.NONE, plan.verdict());
        assertEquals(plan, roundTrip(plan));
    }

    @Test
    void anythingElseIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(Json.parse(
                "{\"verdict\":\"maybe\",\"bundles\":[],\"findings\":[],\"plan\":{\"mounts\":[],\"devices\":[],\"env\":[]}}"
                        .getBytes(StandardCharsets.UTF_8), "t")));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(Json.parse(
                "{\"verdict\":\"inject\",\"bundles\":[],\"findings\":[],\"plan\":{\"mounts\":[{\"source\":\"/a\"}],\"devices\":[],\"env\":[]}}"
                        .getBytes(StandardCharsets.UTF_8), "t")));
        assertThrows(IllegalArgumentException.class, () -> Plan.fromJson(Json.parse(
                "{\"verdict\":\"none\",\"bundles\":[1],\"findings\":[],\"plan\":{\"mounts\":[],\"devices\":[],\"env\":[]}}"
                        .getBytes(StandardCharsets.UTF_8), "t")));
    }
}
