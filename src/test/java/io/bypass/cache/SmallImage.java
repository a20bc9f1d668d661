package io.bypass.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The cache tests' image: /usr/lib/libx.so.1.2 (8 KiB of a known pattern), libx.so.1 linking to it, /lib -> usr/lib. */
final class SmallImage {
    private SmallImage() {
    }

    /** Builds it under rootfs; returns the library's path. */
    static Path build(Path rootfs) throws IOException {
        Path dir = Files.createDirectories(rootfs.resolve("usr/lib"));
        Path lib = dir.resolve("libx.so.1.2");
        byte[] b = new byte[8192];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 7);
        }
        Files.write(lib, b);
        Files.createSymbolicLink(dir.resolve("libx.so.1"), Path.of("libx.so.1.2"));
        Files.createSymbolicLink(rootfs.resolve("lib"), Path.of("usr/lib"));
        return lib;
    }
}
