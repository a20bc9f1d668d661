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
}
