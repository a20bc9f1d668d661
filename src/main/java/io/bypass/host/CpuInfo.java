package io.bypass.host;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The first processor of /proc/cpuinfo: vendor, model, flags (x86) or features (aarch64), and
 * what they mean: the x86-64 micro-architecture level (psABI v1-v4) and the most specific named
 * target (archspec's names) whose features the CPU has.
 */
public record CpuInfo(String vendor, String modelName, String family, String model, String arch, Set<String> flags) {

    public CpuInfo {
        flags = Set.copyOf(flags);
    }

    public static CpuInfo parse(String cpuinfo, String arch) {
        String vendor = null;
        String modelName = null;
        String family = null;
        String model = null;
        Set<String> flags = new LinkedHashSet<>();
        for (String line : cpuinfo.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                if (line.isBlank() && !flags.isEmpty()) {
                    break; // the first processor is enough: they are alike on the nodes bypass runs on
                }
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            switch (key) {
                case "vendor_id" -> vendor = vendor == null ? value : vendor;
                case "CPU implementer" -> vendor = vendor == null ? implementer(value) : vendor;
                case "model name" -> modelName = modelName == null ? value : modelName;
                case "cpu family" -> family = family == null ? value : family;
                case "model", "CPU part" -> model = model == null ? value : model;
                case "flags", "Features" -> {
                    if (flags.isEmpty()) {
                        flags.addAll(List.of(value.split("\\s+")));
                    }
                }
                default -> {
                }
            }
        }
        return new CpuInfo(vendor == null ? "unknown" : vendor, modelName, family, model, arch, flags);
    }

    private static String implementer(String code) {
        return switch (code.toLowerCase()) {
            case "0x41" -> "ARM";
            case "0x46" -> "Fujitsu";
            case "0x48" -> "HiSilicon";
            case "0x4e" -> "NVIDIA";
            case "0x51" -> "Qualcomm";
            case "0xc0" -> "Ampere";
            default -> "implementer " + code;
        };
    }

    /** The x86-64 psABI level (1-4), or 0 for another architecture. */
    public int x86Level() {
        if (!"x86_64".equals(arch)) {
            return 0;
        }
        int level = 0;
        for (int l = 1; l <= 4; l++) {
            if (flags.containsAll(CpuTargets.levelFeatures(l))) {
                level = l;
            } else {
                break;
            }
        }
        return level;
    }

    /** The most specific named target this CPU runs, e.g. "sapphirerapids", "zen3", "x86_64_v3". */
    public String target() {
        return CpuTargets.bestFor(this).name();
    }
}
