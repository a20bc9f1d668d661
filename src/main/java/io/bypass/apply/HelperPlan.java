package io.bypass.apply;

import io.bypass.cache.Expectations;
import io.bypass.container.ContainerProfile;
import io.bypass.plan.Plan;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static io.bypass.util.LineFields.encode;

/**
 * Writes a {@link Plan} in the native helper's line format (native-shims/README.md). Pure: the
 * text depends only on the plan, the container and the paths given.
 */
public final class HelperPlan {
    public static final String HEADER = "bypass-plan 1";
    /** Where bypass' own files live in the container: a tmpfs, gone with the container. */
    public static final String RUN_DIR = "/opt/bypass";
    // ldconfig may write only into a tmpfs of the plan, and the cache's directory must be that
    // tmpfs' root (the helper makes just that mount writable for it).
    static final String CONF = RUN_DIR + "/ld.so.conf";
    static final String CACHE = RUN_DIR + "/ld.so.cache";

    private HelperPlan() {
    }

    /**
     * @param ldSoConf host file (private scratch) with the loader configuration, or null when the
     *                 plan adds no library (then the container's ld.so.cache is left as it is)
     * @param ldconfig the host's ldconfig
     */
    public static String render(Plan plan, int pid, String rootfs, String ldSoConf, String ldconfig) {
        return render(plan, pid, rootfs, ldSoConf, ldconfig, null);
    }

    /**
     * @param expectations a decision-cache hit's files, checked by the helper in the hook's
     *                     namespace before it does anything (exit 17 when one no longer holds);
     *                     null for none
     */
    public static String render(Plan plan, int pid, String rootfs, String ldSoConf, String ldconfig,
                                Expectations expectations) {
        List<String> lines = new ArrayList<>();
        lines.add(HEADER);
        lines.add("ns " + pid);
        lines.add("root " + encode(rootfs));
        if (expectations != null) {
            expectationLines(lines, rootfs, expectations);
        }
        boolean adds = plan.libraryDir() != null;
        for (Plan.Mount m : plan.mounts()) {
            if (m.kind() != Plan.Mount.Kind.ADD) {
                lines.add("bind " + encode(m.source()) + " " + encode(m.target()) + (m.readOnly() ? " ro" : " rw"));
            }
        }
        if (adds) {
            lines.add("tmpfs " + RUN_DIR + " 0755");
            lines.add("mkdir " + encode(plan.libraryDir()) + " 0755");
            for (Plan.Mount m : plan.mounts()) {
                if (m.kind() == Plan.Mount.Kind.ADD) {
                    lines.add("bind " + encode(m.source()) + " " + encode(m.target()) + " ro");
                }
            }
            lines.add("bind " + encode(ldSoConf) + " " + CONF + " ro");
            lines.add("ldconfig " + encode(ldconfig) + " " + CONF + " " + CACHE);
            lines.add("remount-ro " + RUN_DIR);
            lines.add("bind-inner " + CACHE + " /etc/ld.so.cache ro");
        }
        for (Plan.Device d : plan.devices()) {
            lines.add("dev " + encode(d.host().path()) + " " + encode(d.target()));
        }
        return String.join("\n", lines) + "\n";
    }

    /**
     * A validate-only plan (native-shims/README.md, "expect-*"): the helper re-checks each recorded
     * identity of a decision-cache entry inside rootfs, in the hook's own mount namespace, and
     * exits 17 at the first that no longer holds. It joins no namespace and changes nothing.
     */
    public static String renderExpectations(String rootfs, Expectations files) {
        List<String> lines = new ArrayList<>(3);
        lines.add(HEADER);
        expectationLines(lines, rootfs, files);
        return String.join("\n", lines) + "\n";
    }

    /** expect-root, then the entry's expect-* lines (the same in a mount plan, after root). */
    private static void expectationLines(List<String> lines, String rootfs, Expectations files) {
        lines.add("expect-root " + encode(rootfs));
        String text = files.lines();
        if (!text.isEmpty()) {
            lines.add(text.substring(0, text.length() - 1));    // its last newline is the join's
        }
    }

    /**
     * The loader configuration: bypass' directory first, then the directories the plan puts on
     * LD_LIBRARY_PATH (e.g. the image's CUDA forward-compatibility libraries), then the container's
     * own directories.
     */
    public static String ldSoConf(Plan plan, ContainerProfile profile) {
        Set<String> dirs = new LinkedHashSet<>();
        dirs.add(plan.libraryDir());
        for (Plan.EnvEdit e : plan.env()) {
            if (e.name().equals("LD_LIBRARY_PATH") && e.action() == Plan.EnvEdit.Action.PREPEND) {
                dirs.add(e.value());
            }
        }
        dirs.addAll(profile.loaderDirs());
        return String.join("\n", dirs) + "\n";
    }
}
