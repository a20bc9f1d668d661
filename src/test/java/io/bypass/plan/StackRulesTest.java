package io.bypass.plan;

import io.bypass.container.ContainerProfile;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static io.bypass.plan.Fixtures.LIBDIR;
import static io.bypass.plan.Fixtures.container;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StackRulesTest {

    static RegisteredFile lib(String real, String soname, List<String> defs) {
        return new RegisteredFile(LIBDIR + "/" + real, RegisteredFile.Role.LIBRARY, real, soname, "", "0".repeat(64), 1, "ELF64",
                "x86_64", List.of("libc.so.6"), defs, Map.of("libc.so.6", List.of("GLIBC_2.2.5")), "2.2.5", List.of());
    }

    static RegisteredDevice dev(String name, int minor) {
        return new RegisteredDevice("/dev/" + name, 'c', 195, minor, 0666, 0, 0);
    }

    static BundleEntry driver() {
        List<RegisteredFile> files = List.of(lib("libcuda.so.535.104.05", "libcuda.so.1", List.of()),
                lib("libnvidia-ml.so.535.104.05", "libnvidia-ml.so.1", List.of()),
                lib("libnvidia-encode.so.535.104.05", "libnvidia-encode.so.1", List.of()));
        List<RegisteredDevice> devices = List.of(dev("nvidia0", 0), dev("nvidia1", 1), dev("nvidiactl", 255), dev("nvidia-uvm", 254));
        BundleEntry e = Fixtures.entry("nvidia", BundleKind.CUDA, files, Map.of("cuda.driver", "535.104.05", "cuda.version", "12.2",
                "cuda.brand", "Tesla", "capability.libcuda.so.1", "compute", "capability.libnvidia-ml.so.1", "utility",
                "capability.libnvidia-encode.so.1", "video"), devices, null);
        return e;
    }

    static List<String> names(Plan plan) {
        List<String> out = new ArrayList<>();
        plan.mounts().forEach(m -> out.add(m.soname()));
        plan.devices().forEach(d -> out.add(d.target().substring(5)));
        return new ArrayList<>(new TreeSet<>(out));
    }

    /** visible | capabilities | requirement | verdict | what the container gets (sorted) */
    @ParameterizedTest(name = "VISIBLE={0} CAPS={1} REQUIRE={2} -> {3} {4}")
    @CsvSource(delimiter = '|', value = {
            "0       |                 | cuda>=12.0        | inject | libcuda.so.1 libnvidia-ml.so.1 nvidia-uvm nvidia0 nvidiactl",
            "all     | all             | cuda>=12.0        | inject | libcuda.so.1 libnvidia-encode.so.1 libnvidia-ml.so.1 nvidia-uvm nvidia0 nvidia1 nvidiactl",
            "1       | utility         |                   | inject | libnvidia-ml.so.1 nvidia-uvm nvidia1 nvidiactl",
            "none    | compute,utility |                   | inject | libcuda.so.1 libnvidia-ml.so.1 nvidia-uvm nvidiactl",
            "0,1     | video           |                   | inject | libnvidia-encode.so.1 nvidia-uvm nvidia0 nvidia1 nvidiactl",
            "void    |                 |                   | none   | ''",
            "all     |                 | cuda>=12.4        | refuse | cuda-requirement",
            "all     |                 | brand>=tesla      | refuse | cuda-require-invalid",
            "3       |                 |                   | refuse | cuda-device-missing",
    })
    void cudaContainers(String visible, String caps, String require, String verdict, String expected) {
        Fixtures.ProfileBuilder c = container().env("NVIDIA_VISIBLE_DEVICES", visible);
        if (caps != null) {
            c.env("NVIDIA_DRIVER_CAPABILITIES", caps);
        }
        if (require != null) {
            c.env("NVIDIA_REQUIRE_CUDA", require);
        }
        Plan plan = Planner.plan(c.build(), List.of(driver()), Policy.DEFAULT);
        assertEquals(verdict, plan.verdict().id(), () -> plan.findings().toString());
        if (verdict.equals("refuse")) {
            assertEquals(expected, plan.firstError().code());
        } else {
            assertEquals(expected == null ? "" : expected, String.join(" ", names(plan)));
        }
    }

    @Test
    void refusalOfACudaRequirementSaysToUpdateTheDriver() {
        Plan plan = Planner.plan(container().env("NVIDIA_VISIBLE_DEVICES", "all").env("CUDA_VERSION", "12.4.1").build(),
                List.of(driver()), Policy.DEFAULT);
        assertTrue(plan.firstError().message().contains("'cuda>=12.4'"), plan.firstError().message());
        assertTrue(plan.firstError().hint().contains("update the host's NVIDIA driver"));
    }

    @Test
    void newerForwardCompatibilityLibrariesReplaceTheHostsLibcuda() {
        ContainerProfile base = container().env("NVIDIA_VISIBLE_DEVICES", "0").env("NVIDIA_REQUIRE_CUDA", "cuda>=12.4").build();
        ContainerProfile p = new ContainerProfile(base.rootfs(), base.elfClass(), base.machine(), base.libc(), true, base.loaderDirs(),
                base.libraries(), null, null, new ContainerProfile.CudaCompat("/usr/local/cuda/compat", "550.54.15"), null,
                base.annotations(), base.env(), List.of());
        Plan plan = Planner.plan(p, List.of(driver()), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict(), () -> plan.findings().toString());
        assertTrue(plan.mounts().stream().noneMatch(m -> "libcuda.so.1".equals(m.soname())), "the image's own libcuda is used");
        assertTrue(plan.env().stream().anyMatch(e -> e.value().equals("/usr/local/cuda/compat")));
        assertTrue(plan.findings().stream().anyMatch(f -> f.code().equals("cuda-forward-compat")));
    }

    static BundleEntry fabric() {
        List<String> defs = List.of("FABRIC_1.0", "FABRIC_1.1", "FABRIC_1.2", "FABRIC_1.3", "FABRIC_1.4", "FABRIC_1.5", "FABRIC_1.6");
        return Fixtures.entry("fabric", BundleKind.LIBFABRIC, List.of(lib("libfabric.so.1.20.0", "libfabric.so.1", defs)), Map.of(),
                List.of(), new BundleDescriptor.Activation(Map.of(), List.of(), true));
    }

    static ContainerProfile fabricProgram(String version) {
        ContainerProfile base = container().lib("libfabric.so.1", "libfabric.so.1.27.0", List.of("FABRIC_1.8")).build();
        ContainerProfile.Exec exec = new ContainerProfile.Exec("/app/fabric", "/app/fabric", List.of("/app/fabric"), Map.of(),
                List.of(new ContainerProfile.Import("fi_getinfo", version, "/app/fabric")));
        return new ContainerProfile(base.rootfs(), base.elfClass(), base.machine(), base.libc(), true, base.loaderDirs(),
                base.libraries(), null, null, null, exec, base.annotations(), base.env(), List.of());
    }

    @ParameterizedTest(name = "program needs {0} -> {1}")
    @CsvSource({"FABRIC_1.3, inject", "FABRIC_1.6, inject", "FABRIC_1.8, refuse"})
    void libfabricSymbolVersions(String needed, String verdict) {
        Plan plan = Planner.plan(fabricProgram(needed), List.of(fabric()), Policy.DEFAULT);
        assertEquals(verdict, plan.verdict().id(), () -> plan.findings().toString());
        if (verdict.equals("refuse")) {
            assertEquals("fabric-too-old", plan.firstError().code());
            assertTrue(plan.firstError().message().contains("needs FABRIC_1.8"), plan.firstError().message());
            assertTrue(plan.firstError().message().contains("defines up to FABRIC_1.6"), plan.firstError().message());
        }
    }
}
