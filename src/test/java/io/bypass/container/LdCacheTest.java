package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class LdCacheTest {
    private static final int X86_64 = LdCache.flagsFor("ELF64", "x86_64");
    private static final int I386 = LdCache.flagsFor("ELF32", "i386");

    @TempDir
    Path tmp;

    // ---- real caches ----

    @Test
    void hostCacheMatchesLdconfigPrint() throws Exception {
        Path hostCache = Path.of("/etc/ld.so.cache");
        assumeTrue(Files.isRegularFile(hostCache), "no /etc/ld.so.cache on this machine");
        LdCache cache = LdCache.read(hostCache);
        List<String> expected = ldconfigPrint(hostCache);
        assertFalse(expected.isEmpty());
        assertEquals(expected, pairs(cache), "same entries, same order as ldconfig -p");

        List<String> libc = cache.lookup("libc.so.6", X86_64);
        assertFalse(libc.isEmpty(), "libc.so.6 for x86-64 in the host cache");
        assertTrue(List.of("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6").contains(libc.get(0)),
                libc.toString());
        for (LdCache.Entry e : cache.entries()) {
            assertTrue(e.path().startsWith("/"), e.toString());
        }
    }

    /** Caches written by this machine's ldconfig over a directory of real libraries, in each format it writes. */
    @ParameterizedTest(name = "ldconfig -c {0}")
    @ValueSource(strings = {"new", "compat", "old"})
    void cacheWrittenByLdconfig(String format) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Path lib = Files.createDirectories(root.resolve("opt/lib"));
        Files.copy(Path.of("/usr/lib/x86_64-linux-gnu/libz.so.1").toRealPath(), lib.resolve("libz.so.1"));
        Files.copy(Path.of("/usr/lib/x86_64-linux-gnu/libm.so.6").toRealPath(), lib.resolve("libm.so.6"));
        boolean with32 = Files.isRegularFile(Path.of("/usr/lib32/libm.so.6"));
        if (with32) {
            Files.copy(Path.of("/usr/lib32/libm.so.6").toRealPath(),
                    Files.createDirectories(root.resolve("opt/lib32")).resolve("libm.so.6"));
        }
        Files.writeString(root.resolve("ld.so.conf"), "/opt/lib\n/opt/lib32\n");
        // -r: ldconfig chroots into the fixture tree, so the cache holds only its libraries
        // (that needs root); -X: no symlinks are made.
        assumeTrue("root".equals(System.getProperty("user.name")), "ldconfig -r needs root");
        Run r = run("ldconfig", "-X", "-c", format, "-r", root.toString(), "-f", "/ld.so.conf", "-C", "/ld.so.cache");
        assumeTrue(r.rc() == 0, "this ldconfig does not write the " + format + " format: " + r.out());
        Path cacheFile = root.resolve("ld.so.cache");

        LdCache cache = LdCache.read(cacheFile);
        assertEquals(ldconfigPrint(cacheFile), pairs(cache));
        assertEquals(List.of("/opt/lib/libz.so.1"), cache.lookup("libz.so.1", X86_64));
        assertEquals(List.of("/opt/lib/libm.so.6"), cache.lookup("libm.so.6", X86_64));
        assertEquals(List.of(), cache.lookup("libz.so.1", I386), "a 64-bit library never serves a 32-bit program");
        assertEquals(List.of(), cache.lookup("libnothere.so.1", LdCache.FLAG_ANY));
        if (with32) {
            assertEquals(List.of("/opt/lib32/libm.so.6"), cache.lookup("libm.so.6", I386));
            assertEquals(2, cache.lookup("libm.so.6", LdCache.FLAG_ANY).size());
        }
        for (LdCache.Entry e : cache.entries()) {
            assertEquals(0, e.hwcap(), e.toString());
            assertFalse(e.isHwcapSubdirectory());
        }
        // Every truncation and every single-byte change of a real cache either parses or gives
        // one BypassException: never another exception, never a hang.
        byte[] data = Files.readAllBytes(cacheFile);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (int len = 0; len < data.length; len++) {
                parseOrBadInput(Arrays.copyOf(data, len));
            }
            for (int i = 0; i < data.length; i++) {
                for (int v : new int[] {0x00, 0x7f, 0xff}) {
                    byte[] c = data.clone();
                    c[i] = (byte) v;
                    parseOrBadInput(c);
                }
            }
        });
    }

    // ---- synthesized caches ----

    @Test
    void oldFormat() {
        byte[] data = oldCache(new int[] {0x0303, 0x0303, 0x0003},
                "libbar.so.2", "/usr/lib/libbar.so.2", "libfoo.so.1", "/lib/libfoo.so.1", "libfoo.so.1", "/lib32/libfoo.so.1");
        LdCache cache = LdCache.parse(data, "old");
        assertEquals(List.of(new LdCache.Entry("libbar.so.2", "/usr/lib/libbar.so.2", 0x0303, 0),
                new LdCache.Entry("libfoo.so.1", "/lib/libfoo.so.1", 0x0303, 0),
                new LdCache.Entry("libfoo.so.1", "/lib32/libfoo.so.1", 0x0003, 0)), cache.entries());
        assertEquals(List.of("/lib/libfoo.so.1"), cache.lookup("libfoo.so.1", X86_64));
        assertEquals(List.of("/lib32/libfoo.so.1"), cache.lookup("libfoo.so.1", I386));
    }

    @Test
    void compatLayoutReadsTheNewPart() {
        // The old part says /old/..., the embedded new cache says /new/...: the loader reads the new one.
        byte[] oldPart = oldCache(new int[] {0x0303}, "libfoo.so.1", "/old/libfoo.so.1");
        byte[] newPart = newCache(ByteOrder.LITTLE_ENDIAN, 2, entry(0x0303, "libfoo.so.1", "/new/libfoo.so.1", 0));
        int oldEntriesEnd = 16 + 12;
        byte[] data = new byte[oldEntriesEnd + newPart.length];
        System.arraycopy(oldPart, 0, data, 0, oldEntriesEnd);
        System.arraycopy(newPart, 0, data, oldEntriesEnd, newPart.length);
        assertEquals(List.of("/new/libfoo.so.1"), LdCache.parse(data, "compat").lookup("libfoo.so.1", X86_64));
    }

    @ParameterizedTest(name = "byte order {0}, flag {1}")
    @CsvSource({"LITTLE_ENDIAN, 2", "BIG_ENDIAN, 3", "NATIVE, 0"})
    void newFormatByteOrders(String orderName, int flag) {
        ByteOrder order = switch (orderName) {
            case "LITTLE_ENDIAN" -> ByteOrder.LITTLE_ENDIAN;
            case "BIG_ENDIAN" -> ByteOrder.BIG_ENDIAN;
            default -> ByteOrder.nativeOrder();
        };
        byte[] data = newCache(order, flag,
                entry(0x0a03, "libfoo.so.1", "/lib/aarch64-linux-gnu/libfoo.so.1", 0),
                entry(0x0303, "libfoo.so.1", "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1",
                        LdCache.HWCAP_EXTENSION | 2),
                entry(0x0303, "libfoo.so.1", "/lib/x86_64-linux-gnu/libfoo.so.1", 0));
        LdCache cache = LdCache.parse(data, "cache");
        assertEquals(List.of("/lib/aarch64-linux-gnu/libfoo.so.1"),
                cache.lookup("libfoo.so.1", LdCache.flagsFor("ELF64", "aarch64")));
        assertEquals(List.of("/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.1", "/lib/x86_64-linux-gnu/libfoo.so.1"),
                cache.lookup("libfoo.so.1", X86_64), "file order: hwcaps entry first");
        LdCache.Entry hw = cache.entries().get(1);
        assertEquals(LdCache.HWCAP_EXTENSION | 2, hw.hwcap());
        assertTrue(hw.isHwcapSubdirectory());
        assertFalse(cache.entries().get(2).isHwcapSubdirectory());
    }

    @Test
    void sharedAndTailMergedStrings() {
        // ldconfig points the soname into the tail of the path; several entries may share strings.
        byte[] strings = "/lib/libz.so.1\0".getBytes(StandardCharsets.US_ASCII);
        int base = 48 + 2 * 24;
        ByteBuffer b = newHeader(ByteOrder.LITTLE_ENDIAN, 2, 2, strings.length, base + strings.length);
        b.putInt(0x0303).putInt(base + 5).putInt(base).putInt(0).putLong(0);
        b.putInt(0x0003).putInt(base + 5).putInt(base).putInt(0).putLong(0);
        b.put(strings);
        LdCache cache = LdCache.parse(b.array(), "merged");
        assertEquals(List.of("/lib/libz.so.1"), cache.lookup("libz.so.1", X86_64));
        assertEquals(List.of("/lib/libz.so.1", "/lib/libz.so.1"), cache.lookup("libz.so.1", LdCache.FLAG_ANY));
    }

    @Test
    void flagsForAndMatching() {
        assertEquals(0x0303, LdCache.flagsFor("ELF64", "x86_64"));
        assertEquals(0x0a03, LdCache.flagsFor("ELF64", "aarch64"));
        assertEquals(0x0003, LdCache.flagsFor("ELF32", "i386"));
        assertEquals(LdCache.FLAG_I386, LdCache.flagsFor("ELF32", "i386"));
        assertEquals(LdCache.FLAG_ELF_LIBC6 | LdCache.FLAG_X8664_LIB64, X86_64);
        assertEquals(LdCache.FLAG_ELF_LIBC6 | LdCache.FLAG_AARCH64_LIB64, LdCache.flagsFor("ELF64", "aarch64"));
        assertEquals(0x0803, LdCache.flagsFor("ELF32", "x86_64"), "x32");
        assertEquals(0x0503, LdCache.flagsFor("ELF64", "ppc64"));

        assertTrue(LdCache.flagsMatch(0x0303, 0x0303));
        assertFalse(LdCache.flagsMatch(0x0303, 0x0003), "x86-64 entry, i386 program");
        assertFalse(LdCache.flagsMatch(0x0003, 0x0303), "i386 entry, x86-64 program");
        assertFalse(LdCache.flagsMatch(0x0a03, 0x0303), "aarch64 entry, x86-64 program");
        assertFalse(LdCache.flagsMatch(0x0302, 0x0303), "libc5 entry");
        assertTrue(LdCache.flagsMatch(0x0001, 0x0003), "plain ELF entry, like glibc's generic loader");
        assertFalse(LdCache.flagsMatch(0x0001, 0x0303));
        assertTrue(LdCache.flagsMatch(0x1234, LdCache.FLAG_ANY));
    }

    // ---- malformed input ----

    static Stream<Object[]> malformed() {
        byte[] good = newCache(ByteOrder.LITTLE_ENDIAN, 2, entry(0x0303, "libfoo.so.1", "/lib/libfoo.so.1", 0));
        byte[] goodOld = oldCache(new int[] {0x0303}, "libfoo.so.1", "/lib/libfoo.so.1");
        List<Object[]> cases = new ArrayList<>(List.of(
                new Object[] {"empty file", new byte[0], "empty"},
                new Object[] {"unknown magic", "not a cache at all".getBytes(StandardCharsets.US_ASCII), "unknown magic"},
                new Object[] {"new magic only", "glibc-ld.so.cache".getBytes(StandardCharsets.US_ASCII), "truncated"},
                new Object[] {"truncated new header", Arrays.copyOf(good, 30), "truncated"},
                new Object[] {"truncated old header", Arrays.copyOf(goodOld, 13), "truncated"},
                new Object[] {"huge nlibs", withInt(good, 20, 0x7fffffff, ByteOrder.LITTLE_ENDIAN), "entries"},
                new Object[] {"nlibs 2^32-1", withInt(good, 20, -1, ByteOrder.LITTLE_ENDIAN), "entries"},
                new Object[] {"nlibs past the end", withInt(good, 20, 3, ByteOrder.LITTLE_ENDIAN), "truncated"},
                new Object[] {"entries cut off", Arrays.copyOf(good, 48 + 20), "truncated"},
                new Object[] {"old format, huge nlibs", withInt(goodOld, 12, 0x7fffffff, ByteOrder.nativeOrder()), "entries"},
                new Object[] {"old format, one entry too many", withInt(goodOld, 12, 5, ByteOrder.nativeOrder()), "truncated"},
                new Object[] {"key offset out of range", withInt(good, 48 + 4, 0x7fff0000, ByteOrder.LITTLE_ENDIAN), "outside the file"},
                new Object[] {"value offset 2^32-1", withInt(good, 48 + 8, -1, ByteOrder.LITTLE_ENDIAN), "outside the file"},
                new Object[] {"offset just past the end", withInt(good, 48 + 8, good.length, ByteOrder.LITTLE_ENDIAN), "outside the file"},
                new Object[] {"old format, offset out of range", withInt(goodOld, 16 + 8, 1 << 20, ByteOrder.nativeOrder()), "outside the file"},
                new Object[] {"missing NUL", Arrays.copyOf(good, good.length - 1), "runs past the end"},
                new Object[] {"old format, missing NUL", Arrays.copyOf(goodOld, goodOld.length - 1), "runs past the end"},
                new Object[] {"string over 4096 bytes", longString(), "longer than 4096"},
                new Object[] {"bad version", withByte(good, 19, (byte) '9'), "version"},
                new Object[] {"invalid byte-order flag", withByte(good, 28, (byte) 1), "invalid"},
                new Object[] {"too many entries", tooManyEntries(), "at most 1000000"},
                new Object[] {"self-referential strings", selfReferential(), "MiB of strings"}));
        // Random garbage, bare and behind each magic (seeded: the same bytes every run).
        Random r = new Random(20240611);
        for (int i = 0; i < 20; i++) {
            byte[] bytes = new byte[1 + r.nextInt(4096)];
            r.nextBytes(bytes);
            String magic = switch (i % 3) {
                case 0 -> "";
                case 1 -> "ld.so-1.7.0";
                default -> "glibc-ld.so.cache1.1";
            };
            byte[] m = magic.getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(m, 0, bytes, 0, Math.min(m.length, bytes.length));
            cases.add(new Object[] {"random " + i + " after '" + magic + "'", bytes, null});
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedCachesGiveOneLineErrors(String name, byte[] data, String expectedText) {
        BypassException e = assertTimeoutPreemptively(Duration.ofSeconds(3),
                () -> assertThrows(BypassException.class, () -> LdCache.parse(data, "cache-under-test")));
        assertEquals(ExitCodes.BAD_INPUT, e.exitCode());
        assertTrue(e.getMessage().startsWith("cache-under-test: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        if (expectedText != null) {
            assertTrue(e.getMessage().contains(expectedText), e.getMessage());
        }
    }

    // ---- read() ----

    @Test
    void readRefusesWhatIsNotARegularFile() throws Exception {
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, run("mkfifo", fifo.toString()).rc());
        Path real = tmp.resolve("real.cache");
        Files.write(real, newCache(ByteOrder.LITTLE_ENDIAN, 2, entry(0x0303, "libfoo.so.1", "/lib/libfoo.so.1", 0)));
        Path link = Files.createSymbolicLink(tmp.resolve("link.cache"), real);
        assertEquals(1, LdCache.read(real).entries().size());
        assertTimeoutPreemptively(Duration.ofSeconds(3), () -> {
            assertTrue(assertThrows(BypassException.class, () -> LdCache.read(fifo)).getMessage().contains("not a regular file"));
            assertTrue(assertThrows(BypassException.class, () -> LdCache.read(link)).getMessage().contains("not a regular file"));
            assertTrue(assertThrows(BypassException.class, () -> LdCache.read(tmp)).getMessage().contains("not a regular file"));
            assertTrue(assertThrows(BypassException.class, () -> LdCache.read(tmp.resolve("missing"))).getMessage()
                    .startsWith(tmp.resolve("missing") + ": "));
        });
    }

    @Test
    void readRefusesFilesOver64MiB() throws IOException {
        Path big = tmp.resolve("big.cache");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(LdCache.MAX_BYTES + 1);   // sparse: no disk used
        }
        BypassException e = assertThrows(BypassException.class, () -> LdCache.read(big));
        assertEquals(big + ": ld.so.cache larger than 64 MiB", e.getMessage());
    }

    // ---- helpers ----

    private static void parseOrBadInput(byte[] data) {
        try {
            LdCache.parse(data, "mutated");
        } catch (BypassException e) {
            assertEquals(ExitCodes.BAD_INPUT, e.exitCode());
            assertTrue(e.getMessage().startsWith("mutated: "), e.getMessage());
        }
    }

    private static List<String> pairs(LdCache cache) {
        List<String> out = new ArrayList<>();
        for (LdCache.Entry e : cache.entries()) {
            out.add(e.soname() + " => " + e.path());
        }
        return out;
    }

    /** "soname => path" for each entry `ldconfig -p` prints, in its (the file's) order. */
    private static List<String> ldconfigPrint(Path cacheFile) throws Exception {
        Run r = run("ldconfig", "-p", "-C", cacheFile.toString());
        assertEquals(0, r.rc(), r.out());
        List<String> out = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            // "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
            int arrow = line.lastIndexOf(" => ");
            if (line.startsWith("\t") && arrow > 0) {
                String soname = line.substring(1, line.indexOf(' '));
                out.add(soname + " => " + line.substring(arrow + 4));
            }
        }
        return out;
    }

    private record Run(int rc, String out) {
    }

    private static Run run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }

    private record Raw(int flags, String key, String value, long hwcap) {
    }

    private static Raw entry(int flags, String key, String value, long hwcap) {
        return new Raw(flags, key, value, hwcap);
    }

    private static ByteBuffer newHeader(ByteOrder order, int endianFlag, int nlibs, int lenStrings, int size) {
        ByteBuffer b = ByteBuffer.allocate(size).order(order);
        b.put("glibc-ld.so.cache1.1".getBytes(StandardCharsets.US_ASCII));
        b.putInt(nlibs).putInt(lenStrings).put((byte) endianFlag).put(new byte[3]).putInt(0).put(new byte[12]);
        return b;
    }

    /** A new-format cache: header, entries, then each key and value as its own string. */
    static byte[] newCache(ByteOrder order, int endianFlag, Raw... entries) {
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        int base = 48 + entries.length * 24;
        int[][] offsets = new int[entries.length][2];
        for (int i = 0; i < entries.length; i++) {
            offsets[i][0] = base + strings.size();
            strings.writeBytes((entries[i].key() + "\0").getBytes(StandardCharsets.UTF_8));
            offsets[i][1] = base + strings.size();
            strings.writeBytes((entries[i].value() + "\0").getBytes(StandardCharsets.UTF_8));
        }
        ByteBuffer b = newHeader(order, endianFlag, entries.length, strings.size(), base + strings.size());
        for (int i = 0; i < entries.length; i++) {
            b.putInt(entries[i].flags()).putInt(offsets[i][0]).putInt(offsets[i][1]).putInt(0).putLong(entries[i].hwcap());
        }
        b.put(strings.toByteArray());
        return b.array();
    }

    /** An old-format cache (native byte order, as ldconfig wrote it): flags[i] with key/value pairs. */
    static byte[] oldCache(int[] flags, String... pairs) {
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        int n = flags.length;
        ByteBuffer head = ByteBuffer.allocate(16 + n * 12).order(ByteOrder.nativeOrder());
        head.put("ld.so-1.7.0\0".getBytes(StandardCharsets.US_ASCII)).putInt(n);
        for (int i = 0; i < n; i++) {
            int k = strings.size();
            strings.writeBytes((pairs[2 * i] + "\0").getBytes(StandardCharsets.US_ASCII));
            int v = strings.size();
            strings.writeBytes((pairs[2 * i + 1] + "\0").getBytes(StandardCharsets.US_ASCII));
            head.putInt(flags[i]).putInt(k).putInt(v);
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(head.array());
        all.writeBytes(strings.toByteArray());
        return all.toByteArray();
    }

    private static byte[] longString() {
        return newCache(ByteOrder.LITTLE_ENDIAN, 2, entry(0x0303, "libfoo.so.1", "/" + "x".repeat(5000), 0));
    }

    /** 1,000,001 entries: a few MiB that must be refused by count, not parsed. */
    private static byte[] tooManyEntries() {
        int n = LdCache.MAX_ENTRIES + 1;
        byte[] strings = "a\0".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = newHeader(ByteOrder.LITTLE_ENDIAN, 2, n, strings.length, 48 + n * 24 + strings.length);
        return b.array();
    }

    /** 1,000,000 entries all pointing at one 4000-byte string: 8 GB of text if taken at face value. */
    private static byte[] selfReferential() {
        int n = LdCache.MAX_ENTRIES;
        int base = 48 + n * 24;
        byte[] s = ("/" + "y".repeat(3998) + "\0").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = newHeader(ByteOrder.LITTLE_ENDIAN, 2, n, s.length, base + s.length);
        for (int i = 0; i < n; i++) {
            b.putInt(0x0303).putInt(base).putInt(base).putInt(0).putLong(0);
        }
        b.put(s);
        return b.array();
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
