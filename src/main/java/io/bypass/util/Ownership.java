package io.bypass.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * Whether a file that decides what runs as root (the database, the configuration, the helper,
 * ldconfig) can be changed by anyone but root. One rule for all of them.
 */
public final class Ownership {
    private static final int UNMAPPED = unmappedOwnerInUserNamespace();

    private Ownership() {
    }

    /**
     * null when the file is root's and writable by nobody else; else what is wrong, to be put
     * after the path in a message ("is writable by non-root users", ...).
     */
    public static String problem(Path file, boolean followLinks) throws IOException {
        LinkOption[] opts = followLinks ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
        Map<String, Object> a = Files.readAttributes(file, "unix:uid,mode", opts);
        return problem((Integer) a.get("uid"), (Integer) a.get("mode"));
    }

    /** The same rule over a stat's owner and st_mode (one a caller has already made). */
    public static String problem(int uid, int mode) {
        if ((mode & 0170000) == 0120000) {
            return "is a symbolic link";
        }
        if (uid != 0 && uid != UNMAPPED) {
            return "is not owned by root";
        }
        if ((mode & 022) != 0) {
            return "is writable by non-root users";
        }
        return null;
    }

    /**
     * Inside a user namespace (rootless podman runs its hooks there), the host's root owns files as
     * the overflow uid, and cannot be told from other unmapped owners: that uid is accepted there,
     * still only for files nobody else can write. -1 in the initial namespace.
     */
    static int unmappedOwnerInUserNamespace() {
        try {
            // Split by hand: the hook's first regex costs a runtime-generated method handle (4 ms).
            String[] f = words(ProcFiles.read(Path.of("/proc/self/uid_map")));
            if (f.length == 3 && f[0].equals("0") && f[1].equals("0") && f[2].equals("4294967295")) {
                return -1;
            }
            return Integer.parseInt(ProcFiles.read(Path.of("/proc/sys/kernel/overflowuid")).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** The whitespace-separated words of s. */
    static String[] words(String s) {
        java.util.List<String> out = new java.util.ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < s.length() && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i > start) {
                out.add(s.substring(start, i));
            }
        }
        return out.toArray(new String[0]);
    }
}
