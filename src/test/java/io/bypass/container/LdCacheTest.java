package io.bypass.container;

import io.bypass.BypassException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LdCacheTest {
    @TempDir
    Path tmp;

    @Test
    void hostCacheMatchesLdconfigPrint() throws Exception {
        LdCache cache = LdCache.read(Path.of("/etc/ld.so.cache"));
        Process p = new ProcessBuilder("ldconfig", "-p").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        Set<String> expected = new HashSet<>();
        for (String line : out.split("\n")) {
            int arrow = line.indexOf(" => ");
            if (line.startsWith("\t") && arrow > 0) {
                String soname = line.trim().split(" ")[0];
                expected.add(soname + "=" + line.substring(arrow + 4).trim());
            }
        }
        Set<String> parsed = new HashSet<>();
        for (LdCache.Entry e : cache.entries()) {
            parsed.add(e.soname() + "=" + e.path());
        }
        assertFalse(expected.isEmpty());
        assertEquals(expected, parsed);
        List<String> libc = cache.lookup("libc.so.6", LdCache.flagsFor("ELF64", "x86_64"));
        assertTrue(libc.get(0).endsWith("/libc.so.6"), libc.toString());
    }

    @Test
    void cacheWrittenByLdconfigForADirectory() throws Exception {
        Path lib = Files.createDirectories(tmp.resolve("root/opt/lib"));
        Files.copy(Path.of("/usr/lib/x86_64-linux-gnu/libz.so.1").toRealPath(), lib.resolve("libz.so.1"));
        Files.writeString(tmp.resolve("root/ld.so.conf"), "/opt/lib\n");
        Path cacheFile = tmp.resolve("root/ld.so.cache");
        Process p = new ProcessBuilder("ldconfig", "-X", "-r", tmp.resolve("root").toString(), "-f", "/ld.so.conf",
                "-C", "/ld.so.cache").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor());
        LdCache cache = LdCache.read(cacheFile);
        assertEquals(List.of("/opt/lib/libz.so.1"), cache.lookup("libz.so.1", LdCache.flagsFor("ELF64", "x86_64")));
        assertEquals(List.of(), cache.lookup("libz.so.1", LdCache.flagsFor("ELF32", "i386")), "another ABI's entries do not match");
    }

    /** The old format, synthesized: glibc 2.36's ldconfig no longer writes it. */
    @Test
    void oldFormat() {
        byte[] data = oldCache(List.of("libfoo.so.1", "/lib/libfoo.so.1", "libbar.so.2", "/usr/lib/libbar.so.2"));
        LdCache cache = LdCache.parse(data, "old");
        assertEquals(2, cache.entries().size());
        assertEquals(List.of("/usr/lib/libbar.so.2"), cache.lookup("libbar.so.2", 0x0303));
    }

    @Test
    void bigEndianNewFormat() {
        byte[] data = newCache(ByteOrder.BIG_ENDIAN, 3, "libfoo.so.1", "/lib/libfoo.so.1");
        assertEquals(List.of("/lib/libfoo.so.1"), LdCache.parse(data, "be").lookup("libfoo.so.1", -1));
    }

    static Stream<Object[]> malformed() {
        byte[] good = newCache(ByteOrder.LITTLE_ENDIAN, 2, "libfoo.so.1", "/lib/libfoo.so.1");
        Random r = new Random(7);
        byte[] random = new byte[2048];
        r.nextBytes(random);
        return Stream.of(
                new Object[] {"empty", new byte[0]},
                new Object[] {"unknown magic", "not a cache at all".getBytes(StandardCharsets.US_ASCII)},
                new Object[] {"truncated header", Arrays.copyOf(good, 30)},
                new Object[] {"huge nlibs", withInt(good, 20, 0x7fffffff, ByteOrder.LITTLE_ENDIAN)},
                new Object[] {"string offset out of range", withInt(good, 48 + 4, 0x7fff0000, ByteOrder.LITTLE_ENDIAN)},
                new Object[] {"missing NUL", Arrays.copyOf(good, good.length - 1)},
                new Object[] {"bad version", withByte(good, 19, (byte) '9')},
                new Object[] {"bad byte-order flag", withByte(good, 28, (byte) 1)},
                new Object[] {"old format with huge nlibs", withInt(oldCache(List.of("a", "b")), 12, 0x7fffffff, ByteOrder.LITTLE_ENDIAN)},
                new Object[] {"random", random});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedCachesGiveOneLineErrors(String name, byte[] data) {
        BypassException e = assertTimeoutPreemptively(Duration.ofSeconds(3),
                () -> assertThrows(BypassException.class, () -> LdCache.parse(data, "cache-under-test")));
        assertTrue(e.getMessage().startsWith("cache-under-test: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void fifoIsRefused() throws Exception {
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        assertTimeoutPreemptively(Duration.ofSeconds(3), () -> assertThrows(BypassException.class, () -> LdCache.read(fifo)));
    }

    static byte[] newCache(ByteOrder order, int endianFlag, String key, String value) {
        byte[] strings = (key + "\0" + value + "\0").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(48 + 24 + strings.length).order(order);
        b.put("glibc-ld.so.cache1.1".getBytes(StandardCharsets.US_ASCII));
        b.putInt(1).putInt(strings.length).put((byte) endianFlag).put(new byte[3]).putInt(0).put(new byte[12]);
        int base = 48 + 24;
        b.putInt(0x0303).putInt(base).putInt(base + key.length() + 1).putInt(0).putLong(0);
        b.put(strings);
        return b.array();
    }

    static byte[] oldCache(List<String> pairs) {
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        int n = pairs.size() / 2;
        ByteBuffer head = ByteBuffer.allocate(16 + n * 12).order(ByteOrder.LITTLE_ENDIAN);
        head.put("ld.so-1.7.0\0".getBytes(StandardCharsets.US_ASCII)).putInt(n);
        for (int i = 0; i < n; i++) {
            int k = strings.size();
            strings.writeBytes((pairs.get(2 * i) + "\0").getBytes(StandardCharsets.US_ASCII));
            int v = strings.size();
            strings.writeBytes((pairs.get(2 * i + 1) + "\0").getBytes(StandardCharsets.US_ASCII));
            head.putInt(0x0303).putInt(k).putInt(v);
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(head.array());
        all.writeBytes(strings.toByteArray());
        return all.toByteArray();
    }

    static byte[] withInt(byte[] data, int at, int value, ByteOrder order) {
        byte[] c = data.clone();
        ByteBuffer.wrap(c).order(order).putInt(at, value);
        return c;
    }

    static byte[] withByte(byte[] data, int at, byte value) {
        byte[] c = data.clone();
        c[at] = value;
        return c;
    }
}
