package io.bypass.container;

import io.bypass.Finding;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Profiles one rootfs N times in one JVM and prints, per distinct outcome, how often it was seen:
 * for tests/integration/t-container-reads.sh, which races the profile against a hostile tree and
 * needs hundreds of profiles without hundreds of JVM starts.
 *   java -cp bypass.jar:test-classes io.bypass.container.ProfileHarness ROOTFS N [EXEC]
 * Output: one line "COUNT x libc=V mpi=V findings=CODES" per outcome, then "profiles: N in MS ms".
 */
public final class ProfileHarness {
    private ProfileHarness() {
    }

    public static void main(String[] args) {
        Path rootfs = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        String exec = args.length > 2 ? args[2] : null;
        Map<String, Integer> outcomes = new TreeMap<>();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            ContainerProfile p = Profiler.profile(new Profiler.Request(rootfs, Map.of(), Map.of(), exec, false,
                    List.of("libc.so.6")));
            StringBuilder codes = new StringBuilder();
            for (Finding f : p.findings()) {
                codes.append(codes.length() == 0 ? "" : ",").append(f.code());
            }
            String key = "libc=" + p.libc().version() + " mpi=" + (p.mpi() == null ? "none" : p.mpi().libtoolVersion())
                    + " findings=" + (codes.length() == 0 ? "-" : codes);
            outcomes.merge(key, 1, Integer::sum);
        }
        outcomes.forEach((k, v) -> System.out.println(v + " x " + k));
        System.out.println("profiles: " + n + " in " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }
}
