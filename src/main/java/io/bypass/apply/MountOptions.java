package io.bypass.apply;

import java.util.List;

/** The mount options of every mount bypass adds, whichever front writes it (config edit, CDI spec). */
public final class MountOptions {
    /** The tmpfs at {@link HelperPlan#RUN_DIR} that holds the mount points of added libraries. */
    public static final List<String> TMPFS = List.of("nosuid", "nodev", "mode=755", "size=4m");
    private static final List<String> BIND_RO = List.of("rbind", "ro", "nosuid", "nodev");
    private static final List<String> BIND_RW = List.of("rbind", "nosuid", "nodev");

    private MountOptions() {
    }

    /** A bind mount of a host file or directory: never suid, never devices; read-only unless the bundle says otherwise. */
    public static List<String> bind(boolean readOnly) {
        return readOnly ? BIND_RO : BIND_RW;
    }
}
