package io.bypass.apply;

import io.bypass.cache.FileIdentity;
import io.bypass.container.ContainerProfile;
import io.bypass.plan.Plan;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

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
                                List<FileIdentity> expectations) {
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
    public static String renderExpectations(String rootfs, List<FileIdentity> files) {
        List<String> lines = new ArrayList<>(files.size() + 2);
        lines.add(HEADER);
        expectationLines(lines, rootfs, files);
        return String.join("\n", lines) + "\n";
    }

    /** expect-root, then one expect-* line per identity (the same in a mount plan, after root). */
    private static void expectationLines(List<String> lines, String rootfs, List<FileIdentity> files) {
        lines.add("expect-root " + encode(rootfs));
        for (FileIdentity f : files) {
            StringBuilder sb = new StringBuilder(120);
            switch (f.type()) {
                case FileIdentity.MISSING -> sb.append("expect-missing ").append(encode(f.path()));
                case FileIdentity.RESOLVE -> sb.append("expect-resolve ").append(encode(f.path()))
                        .append(f.mode() == 1 ? " follow " : " nofollow ").append(f.sha256());
                default -> {
                    sb.append("expect-").append(f.type()).append(' ').append(encode(f.path())).append(' ')
                            .append(Long.toUnsignedString(f.ino())).append(' ').append(f.size()).append(' ')
                            .append(f.mtimeNs()).append(' ').append(Integer.toOctalString(f.mode())).append(' ')
                            .append(f.sha256() == null ? "-" : f.sha256());
                    if (FileIdentity.FILE.equals(f.type())) {
                        sb.append(' ');
                        if (f.ranges().isEmpty()) {
                            sb.append('-');
                        }
                        for (int i = 0; i < f.ranges().size(); i++) {
                            FileIdentity.Range r = f.ranges().get(i);
                            sb.append(i == 0 ? "" : ",").append(r.offset()).append('+').append(r.length());
                        }
                    }
                }
            }
            lines.add(sb.toString());
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

    /** The inverse of {@link #encode}: %XX (either case) is the byte XX; the bytes are UTF-8. */
    static String decode(String field) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(field.length());
        byte[] b = field.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '%') {
                int hi = i + 2 < b.length ? Character.digit(b[i + 1], 16) : -1;
                int lo = hi >= 0 ? Character.digit(b[i + 2], 16) : -1;
                if (lo < 0 || (hi == 0 && lo == 0)) {
                    throw new IllegalArgumentException("bad percent-encoding in " + field);
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                out.write(b[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Percent-encodes what would break the line format: space, control characters, '%'. */
    static String encode(String path) {
        if (plain(path)) {
            return path;
        }
        StringBuilder sb = new StringBuilder(path.length());
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c <= 0x20 || c == 0x7f || c == '%') {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            } else {
                sb.append((char) c);
            }
        }
        // Non-ASCII bytes were appended as Latin-1 chars above; re-encode them as raw bytes.
        return new String(sb.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /**
     * Whether path is printable ASCII without '%', so that it is its own encoding: nearly every
     * path, and a hit's plan has one per recorded file (a hundred for an MPI image).
     */
    private static boolean plain(String path) {
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '%') {
                return false;
            }
        }
        return true;
    }
}
