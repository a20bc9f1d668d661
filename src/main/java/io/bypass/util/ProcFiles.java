package io.bypass.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads procfs and sysfs files, whose reported size (often 0 or 4096) says nothing of their content. */
public final class ProcFiles {
    private static final int MAX = 1 << 20;

    private ProcFiles() {
    }

    /** Reads until end of file (at most 1 MiB); Files.readString trusts the size and can cut these short. */
    public static String read(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return new String(in.readNBytes(MAX), StandardCharsets.UTF_8);
        }
    }

    /**
     * This process' pid, from /proc/self: {@code ProcessHandle.current()} initialises the JDK's
     * process machinery (a thread pool and its lambdas, 8-9 ms in a fresh JVM here), which a hook
     * starts on another thread while it writes its files.
     */
    public static long selfPid() {
        try {
            return Long.parseLong(Files.readSymbolicLink(Path.of("/proc/self")).toString());
        } catch (IOException | NumberFormatException | UnsupportedOperationException e) {
            return ProcessHandle.current().pid();
        }
    }
}
