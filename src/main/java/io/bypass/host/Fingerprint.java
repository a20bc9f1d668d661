package io.bypass.host;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.container.HostView;
import io.bypass.container.LibraryResolver;
import io.bypass.db.BundleEntry;
import io.bypass.util.Json;
import io.bypass.util.ProcFiles;
import io.bypass.util.Versions;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What this node offers a container: CPU (vendor, model, x86-64 level, named target), kernel,
 * glibc, the registered bundles, GPUs and fabric devices. Read from /proc and /sys; paths are
 * parameters so tests can use recorded files.
 */
public record Fingerprint(CpuInfo cpu, String kernel, String glibc, List<BundleEntry> bundles, List<String> gpus,
                          List<String> fabricDevices) {

    public Fingerprint {
        bundles = List.copyOf(bundles);
        gpus = List.copyOf(gpus);
        fabricDevices = List.copyOf(fabricDevices);
    }

    public static Fingerprint of(Path cpuinfo, String kernel, List<BundleEntry> bundles) {
        String arch = hostArch();
        CpuInfo cpu;
        try {
            cpu = CpuInfo.parse(ProcFiles.read(cpuinfo), arch);
        } catch (IOException e) {
            cpu = new CpuInfo("unknown", null, null, null, arch, java.util.Set.of());
        }
        return new Fingerprint(cpu, kernel, hostGlibc(), bundles, readGpus(), readFabricDevices());
    }

    static String hostArch() {
        return io.bypass.util.HostArch.machine();
    }

    static String hostGlibc() {
        Optional<LibraryResolver.Loaded> libc = new LibraryResolver(new HostView(), "ELF64", hostArch(), List.of())
                .find("libc.so.6", null, null);
        String highest = null;
        if (libc.isPresent()) {
            highest = Versions.highest(libc.get().facts().versionDefinitions(), "GLIBC_");
        }
        return highest;
    }

    /** NVIDIA GPUs the driver knows (/proc/driver/nvidia/gpus/BUS/information), else the device nodes. */
    static List<String> readGpus() {
        List<String> out = new ArrayList<>();
        Path dir = Path.of("/proc/driver/nvidia/gpus");
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
                for (Path bus : ds) {
                    String model = "NVIDIA GPU";
                    try {
                        for (String line : ProcFiles.read(bus.resolve("information")).split("\n")) {
                            if (line.startsWith("Model:")) {
                                model = line.substring(6).trim();
                            }
                        }
                    } catch (IOException e) {
                        // keep the generic name
                    }
                    out.add(model + " (" + bus.getFileName() + ")");
                }
            } catch (IOException e) {
                // none readable
            }
        }
        if (out.isEmpty()) {
            out.addAll(list(Path.of("/dev"), "nvidia[0-9]*"));
        }
        out.sort(null);
        return out;
    }

    static List<String> readFabricDevices() {
        List<String> out = new ArrayList<>();
        out.addAll(list(Path.of("/dev/infiniband"), "*"));
        out.addAll(list(Path.of("/dev"), "cxi*"));
        out.addAll(list(Path.of("/dev"), "hfi1*"));
        out.sort(null);
        return out;
    }

    private static List<String> list(Path dir, String glob) {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            for (Path p : ds) {
                out.add(p.toString());
            }
        } catch (IOException e) {
            // nothing to list
        }
        return out;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        ObjectNode c = o.putObject("cpu");
        c.put("arch", cpu.arch());
        c.put("vendor", cpu.vendor());
        c.put("model", cpu.modelName());
        c.put("family", cpu.family());
        c.put("modelNumber", cpu.model());
        c.put("x86_64Level", cpu.x86Level());
        c.put("target", cpu.target());
        o.put("kernel", kernel);
        o.put("glibc", glibc);
        ArrayNode b = o.putArray("bundles");
        for (BundleEntry e : bundles) {
            ObjectNode bo = b.addObject();
            bo.put("name", e.name());
            bo.put("kind", e.kind().id());
            bo.put("version", e.descriptor().version());
            e.properties().forEach((k, v) -> {
                if (!k.startsWith("capability.")) {
                    bo.put(k, v);
                }
            });
        }
        o.set("gpus", Json.array(gpus));
        o.set("fabricDevices", Json.array(fabricDevices));
        return o;
    }
}
