package io.bypass.plan;

import io.bypass.BypassException;
import io.bypass.Finding;
import io.bypass.container.ContainerProfile;
import io.bypass.db.BundleEntry;
import io.bypass.db.CudaDriver;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;
import io.bypass.util.Versions;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The rules of the CUDA and libfabric stacks: which of a bundle's libraries and devices a container
 * gets, and when it must be refused. Pure, like the planner that calls it.
 */
final class StackRules {
    /** What a bundle contributes to one container. */
    record Selection(List<RegisteredFile> roots, List<RegisteredDevice> devices, List<Plan.EnvEdit> env) {
    }

    private static final Pattern GPU_NODE = Pattern.compile("nvidia(\\d+)");
    private static final Set<String> CONTROL_NODES = Set.of("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset");
    /** What /usr/local/cuda/compat provides in place of the host's. */
    private static final Set<String> COMPAT_LIBRARIES = Set.of("libcuda", "libnvidia-ptxjitcompiler", "libnvidia-nvvm",
            "libcudadebugger");

    private StackRules() {
    }

    static Selection all(BundleEntry b) {
        return new Selection(b.libraries(), b.devices(), List.of());
    }

    // ---------------------------------------------------------------- CUDA

    /** null when refused (the finding says why). */
    static Selection cuda(BundleEntry b, ContainerProfile p, List<Finding> findings) {
        String driver = b.property("cuda.driver");
        String cuda = b.property("cuda.version");
        boolean compat = false;
        ContainerProfile.CudaCompat cc = p.cudaCompat();
        if (cc != null && driver != null && Versions.compare(cc.driverVersion(), driver) > 0) {
            String compatCuda = CudaDriver.cudaVersionFor(cc.driverVersion());
            if (compatCuda != null) {
                compat = true;
                findings.add(Finding.info("cuda-forward-compat", "the image's CUDA forward-compatibility libraries in " + cc.dir()
                        + " (driver " + cc.driverVersion() + ", CUDA " + compatCuda + ") are newer than the host driver "
                        + driver + ": they are used instead of the host's libcuda").forBundle(b.name()));
                cuda = compatCuda;
            }
        }
        NvidiaRequire.Host host = new NvidiaRequire.Host(cuda, driver, b.property("cuda.brand"), b.property("cuda.arch"));
        NvidiaRequire.Result r;
        try {
            r = NvidiaRequire.check(p.env(), host);
        } catch (BypassException e) {
            findings.add(Finding.error("cuda-require-invalid", e.getMessage(), "fix the image's NVIDIA_REQUIRE_* variable")
                    .forBundle(b.name()));
            return null;
        }
        if (!r.satisfied()) {
            findings.add(Finding.error("cuda-requirement", r.message(), NvidiaRequire.hint(r)).forBundle(b.name()));
            return null;
        }
        Set<String> caps = capabilities(p.env().get("NVIDIA_DRIVER_CAPABILITIES"), findings, b.name());
        List<RegisteredFile> roots = new ArrayList<>();
        for (RegisteredFile f : b.libraries()) {
            String cap = b.property("capability." + f.soname());
            if (cap != null && !caps.contains(cap)) {
                continue;
            }
            if (compat && COMPAT_LIBRARIES.contains(io.bypass.elf.Sonames.stem(f.soname()))) {
                continue;
            }
            roots.add(f);
        }
        List<RegisteredDevice> devices = devices(b, p.env().getOrDefault("NVIDIA_VISIBLE_DEVICES", ""), findings);
        List<Plan.EnvEdit> env = new ArrayList<>();
        if (compat) {
            env.add(new Plan.EnvEdit("LD_LIBRARY_PATH", cc.dir(), Plan.EnvEdit.Action.PREPEND, b.name()));
        }
        return new Selection(roots, devices, env);
    }

    /** NVIDIA_DRIVER_CAPABILITIES: comma-separated, "all", default "utility,compute". */
    static Set<String> capabilities(String value, List<Finding> findings, String bundle) {
        if (value == null || value.isBlank()) {
            return Set.of("utility", "compute");
        }
        Set<String> out = new HashSet<>();
        for (String c : value.split(",")) {
            String cap = c.trim().toLowerCase(Locale.ROOT);
            if (cap.isEmpty()) {
                continue;
            }
            if (cap.equals("all")) {
                return CudaDriver.CAPABILITIES;
            }
            if (!CudaDriver.CAPABILITIES.contains(cap)) {
                findings.add(Finding.warning("cuda-capability-unknown", "NVIDIA_DRIVER_CAPABILITIES names '" + cap
                        + "', which bypass does not know", "use compute, utility, video, graphics, display, compat32 or all")
                        .forBundle(bundle));
                continue;
            }
            out.add(cap);
        }
        return out;
    }

    /**
     * NVIDIA_VISIBLE_DEVICES: "all", "none" (driver files and control nodes, no GPU), GPU indices
     * ("0,2"); "void" or unset means not a GPU container (such containers do not activate CUDA
     * bundles at all). GPU UUIDs cannot be mapped to nodes without the driver's management library.
     */
    static List<RegisteredDevice> devices(BundleEntry b, String visible, List<Finding> findings) {
        Set<Integer> indices = new LinkedHashSet<>();
        boolean all = false;
        for (String t : visible.split(",")) {
            String token = t.trim();
            if (token.isEmpty() || token.equals("none")) {
                continue;
            }
            if (token.equals("all")) {
                all = true;
            } else if (token.matches("\\d+")) {
                indices.add(Integer.parseInt(token));
            } else {
                findings.add(Finding.warning("cuda-device-unknown", "NVIDIA_VISIBLE_DEVICES names '" + token
                        + "', which bypass cannot map to a device node", "use GPU indices or all").forBundle(b.name()));
            }
        }
        Map<Integer, RegisteredDevice> gpus = new TreeMap<>();
        List<RegisteredDevice> out = new ArrayList<>();
        for (RegisteredDevice d : b.devices()) {
            String name = d.path().substring(d.path().lastIndexOf('/') + 1);
            Matcher m = GPU_NODE.matcher(name);
            if (m.matches()) {
                gpus.put(Integer.parseInt(m.group(1)), d);
            } else if (CONTROL_NODES.contains(name) || !name.startsWith("nvidia")) {
                out.add(d);
            }
        }
        for (Map.Entry<Integer, RegisteredDevice> g : gpus.entrySet()) {
            if (all || indices.contains(g.getKey())) {
                out.add(g.getValue());
            }
        }
        for (Integer i : indices) {
            if (!gpus.containsKey(i)) {
                findings.add(Finding.error("cuda-device-missing", "NVIDIA_VISIBLE_DEVICES asks for GPU " + i + ", which bundle "
                        + b.name() + " does not have", "ask for one of: " + gpus.keySet()).forBundle(b.name()));
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- libfabric

    /** null when refused: the container's binaries need a FABRIC_1.x the host libfabric lacks. */
    static Selection libfabric(BundleEntry b, ContainerProfile p, List<Finding> findings) {
        RegisteredFile host = null;
        for (RegisteredFile f : b.libraries()) {
            if (f.soname().startsWith("libfabric.so.")) {
                host = f;
            }
        }
        if (host == null) {
            findings.add(Finding.error("fabric-bundle-incomplete", "bundle " + b.name() + " lists no libfabric.so.1",
                    "add the library to the descriptor and register it again").forBundle(b.name()));
            return null;
        }
        String highest = Versions.highest(host.versionDefinitions(), "FABRIC_");
        if (p.exec() == null) {
            findings.add(Finding.warning("fabric-not-checked", "the FABRIC_1.x versions the program needs were not checked",
                    "give the program (--exec) to check them").forBundle(b.name()));
            return all(b);
        }
        for (ContainerProfile.Import imp : p.exec().imports()) {
            String v = imp.version() == null ? null : Versions.suffixVersion(imp.version(), "FABRIC_");
            if (v != null && !host.versionDefinitions().contains(imp.version())) {
                findings.add(Finding.error("fabric-too-old", imp.importedBy() + " needs " + imp.version() + " from "
                        + host.soname() + " (" + imp.symbol() + "), but the host's " + host.fileName() + " (bundle " + b.name()
                        + ") defines up to FABRIC_" + highest, "use an image built against libfabric FABRIC_" + highest
                        + " or older, or a newer host libfabric").forBundle(b.name()));
                return null;
            }
        }
        return all(b);
    }
}
