package io.bypass.container;

import io.bypass.elf.ElfReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * libc's "release version" banner, wherever it lies in the scanned range: the scan goes in 16 KiB
 * chunks from the end back, so the chunk boundaries and the range's ends are the cases.
 */
class BannerVersionTest {
    private static final int CHUNK = 16 << 10;

    /** A file of 'x' bytes (not an ELF file: the whole file is the range) with the banner at offset. */
    static ElfReader.Source fileWithBanner(int size, int offset, String version) {
        byte[] bytes = new byte[size];
        java.util.Arrays.fill(bytes, (byte) 'x');
        if (version != null) {
            byte[] banner = ("GNU C Library (Debian GLIBC " + version + "-1) release version " + version + ".\n")
                    .getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(banner, 0, bytes, offset, banner.length);
        }
        return sourceOf(bytes);
    }

    /** The bytes as a file, at most 1000 of them a read: the scan must cope with short reads. */
    static ElfReader.Source sourceOf(byte[] bytes) {
        return new ElfReader.Source() {
            @Override
            public long size() {
                return bytes.length;
            }

            @Override
            public int read(ByteBuffer dst, long position) {
                if (position >= bytes.length) {
                    return -1;
                }
                int n = (int) Math.min(Math.min(dst.remaining(), 1000), bytes.length - position);
                dst.put(bytes, (int) position, n);
                return n;
            }
        };
    }

    @ParameterizedTest(name = "size {0}, banner at {1}")
    @CsvSource({
            "200, 0",
            "200, 100",
            "100000, 0",
            "100000, 50000",
            // straddling a chunk boundary, counted from the end (the first chunk read is the last)
            "100000, " + (100000 - CHUNK - 20),
            "100000, " + (100000 - CHUNK - 40),
            "100000, " + (100000 - 2 * CHUNK + 64 - 30),
            "100000, " + (100000 - 70),
            "" + (3 * CHUNK) + ", " + (CHUNK - 10),
    })
    void findsTheBannerAnywhere(int size, int offset) throws IOException {
        assertEquals("2.41", Profiler.bannerVersion(fileWithBanner(size, offset, "2.41")));
    }

    @Test
    void threePartVersionsAndNone() throws IOException {
        assertEquals("2.3.4", Profiler.bannerVersion(fileWithBanner(40000, 30000, "2.3.4")));
        assertNull(Profiler.bannerVersion(fileWithBanner(40000, 0, null)));
        assertNull(Profiler.bannerVersion(fileWithBanner(10, 0, null)));
    }

    @Test
    void theHostLibc() throws IOException {
        byte[] libc = java.nio.file.Files.readAllBytes(Path.of("/lib/x86_64-linux-gnu/libc.so.6"));
        // gnu_get_libc_version() of this very JVM's libc names the same release.
        assertEquals(hostGlibc(), Profiler.bannerVersion(sourceOf(libc)));
    }

    static String hostGlibc() {
        return com.sun.jna.Function.getFunction("c", "gnu_get_libc_version").invokeString(new Object[0], false);
    }
}
