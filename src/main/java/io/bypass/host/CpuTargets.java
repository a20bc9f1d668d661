package io.bypass.host;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Named CPU targets as archspec names them (the names images use in
 * org.supercontainers.hardware.cpu.optimized.version), each defined by its vendor, its parent and
 * the /proc/cpuinfo flags it adds. A CPU runs a target when it has every flag of the target and
 * its ancestors; the most specific such target is the CPU's own.
 */
public final class CpuTargets {

    /** @param vendor "GenuineIntel", "AuthenticAMD", or null for a generic target */
    public record Target(String name, String vendor, String parent, int level, Set<String> adds) {
    }

    private static final Map<String, Target> TARGETS = new LinkedHashMap<>();

    static {
        add("x86_64", null, null, 1, "cmov cx8 fpu fxsr mmx syscall sse sse2");
        add("x86_64_v2", null, "x86_64", 2, "cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3");
        add("x86_64_v3", null, "x86_64_v2", 3, "avx avx2 bmi1 bmi2 f16c fma abm movbe xsave");
        add("x86_64_v4", null, "x86_64_v3", 4, "avx512f avx512bw avx512cd avx512dq avx512vl");
        add("nehalem", "GenuineIntel", "x86_64_v2", 2, "");
        add("westmere", "GenuineIntel", "nehalem", 2, "aes pclmulqdq");
        add("sandybridge", "GenuineIntel", "westmere", 2, "avx");
        add("ivybridge", "GenuineIntel", "sandybridge", 2, "rdrand f16c");
        add("haswell", "GenuineIntel", "ivybridge", 3, "avx2 bmi1 bmi2 fma abm movbe");
        add("broadwell", "GenuineIntel", "haswell", 3, "rdseed adx");
        add("skylake", "GenuineIntel", "broadwell", 3, "clflushopt xsavec xsaveopt");
        add("skylake_avx512", "GenuineIntel", "skylake", 4, "avx512f avx512cd avx512bw avx512dq avx512vl clwb");
        add("cascadelake", "GenuineIntel", "skylake_avx512", 4, "avx512_vnni");
        add("cooperlake", "GenuineIntel", "cascadelake", 4, "avx512_bf16");
        add("icelake", "GenuineIntel", "cascadelake", 4,
                "avx512vbmi avx512_vbmi2 avx512_bitalg avx512_vpopcntdq avx512ifma gfni vaes vpclmulqdq sha_ni");
        add("sapphirerapids", "GenuineIntel", "icelake", 4, "avx512_bf16 avx512_fp16 amx_tile amx_bf16 amx_int8 avx_vnni");
        add("zen", "AuthenticAMD", "x86_64_v3", 3, "aes pclmulqdq rdseed adx clflushopt clzero sha_ni xsavec");
        add("zen2", "AuthenticAMD", "zen", 3, "clwb");
        add("zen3", "AuthenticAMD", "zen2", 3, "vaes vpclmulqdq pku");
        add("zen4", "AuthenticAMD", "zen3", 4, "avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 avx512_vnni gfni");
        add("zen5", "AuthenticAMD", "zen4", 4, "avx_vnni avx512_vp2intersect");
    }

    private CpuTargets() {
    }

    private static void add(String name, String vendor, String parent, int level, String adds) {
        Set<String> s = new HashSet<>(adds.isBlank() ? List.of() : List.of(adds.split(" ")));
        TARGETS.put(name, new Target(name, vendor, parent, level, s));
    }

    public static Target get(String name) {
        return TARGETS.get(name);
    }

    /** Every flag a target needs, its ancestors' included. */
    public static Set<String> features(Target t) {
        Set<String> all = new HashSet<>();
        for (Target x = t; x != null; x = x.parent() == null ? null : TARGETS.get(x.parent())) {
            all.addAll(x.adds());
        }
        return all;
    }

    static Set<String> levelFeatures(int level) {
        return features(TARGETS.get(level == 1 ? "x86_64" : "x86_64_v" + level));
    }

    /** Whether a CPU can run code built for the target: its vendor (when the target has one) and every flag. */
    public static boolean runs(CpuInfo cpu, Target t) {
        return cpu.flags().containsAll(features(t));
    }

    /** The target's depth in its chain: more specific targets are deeper. */
    static int depth(Target t) {
        int d = 0;
        for (Target x = t; x.parent() != null; x = TARGETS.get(x.parent())) {
            d++;
        }
        return d;
    }

    /** The most specific target of the CPU's vendor it runs, else the highest generic level. */
    public static Target bestFor(CpuInfo cpu) {
        Target best = null;
        for (Target t : TARGETS.values()) {
            boolean vendorOk = t.vendor() == null || t.vendor().equals(cpu.vendor());
            if (!vendorOk || !runs(cpu, t)) {
                continue;
            }
            if (best == null || (t.vendor() != null && best.vendor() == null) || (sameKind(t, best) && depth(t) > depth(best))) {
                best = t;
            }
        }
        return best == null ? new Target(cpu.arch(), null, null, 0, Set.of()) : best;
    }

    private static boolean sameKind(Target a, Target b) {
        return (a.vendor() == null) == (b.vendor() == null);
    }

    /** The names, for messages. */
    public static List<String> names() {
        return new ArrayList<>(TARGETS.keySet());
    }
}
