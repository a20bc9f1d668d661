package io.bypass.elf;

import io.bypass.BypassException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ElfReaderTest {
    static final Path FIXTURES = Path.of(System.getProperty("bypass.fixtures", "target/fixtures"));

    @TempDir
    Path tmp;

    static boolean hasSymbol(List<ElfFacts.DynamicSymbol> symbols, String name, String version) {
        return symbols.stream().anyMatch(s -> s.name().equals(name) && java.util.Objects.equals(version, s.version()));
    }

    @Test
    void versionedLibrary() {
        ElfFacts f = ElfReader.read(FIXTURES.resolve("libfix.so.1"));
        assertEquals("ELF64", f.elfClass());
        assertEquals("LSB", f.byteOrder());
        assertEquals("x86_64", f.machine());
        assertEquals("DYN", f.type());
        assertEquals("libfix.so.1", f.soname());
        assertEquals(List.of("FIX_1.0", "FIX_2.0"), f.versionDefinitions());
        assertTrue(hasSymbol(f.definedSymbols(), "fix_one", "FIX_1.0"));
        assertTrue(hasSymbol(f.definedSymbols(), "fix_two", "FIX_2.0"));
        assertTrue(hasSymbol(f.definedSymbols(), "fix_old", "FIX_1.0"), "the non-default version of a symbol");
        assertTrue(hasSymbol(f.definedSymbols(), "fix_old", "FIX_2.0"), "the default version of a symbol");
        assertTrue(hasSymbol(f.definedSymbols(), "fix_data", "FIX_1.0"));
    }

    @Test
    void requirementsRunpathAndRpath() {
        ElfFacts user = ElfReader.read(FIXTURES.resolve("libuser.so.1"));
        assertEquals(List.of("libfix.so.1", "libc.so.6"), user.needed());
        assertEquals(List.of("$ORIGIN/../lib"), user.runpath());
        assertEquals(List.of(), user.rpath());
        ElfFacts.VersionRequirement fix = user.versionRequirements().stream().filter(r -> r.file().equals("libfix.so.1"))
                .findFirst().orElseThrow();
        assertEquals(List.of("FIX_1.0", "FIX_2.0"), fix.versions().stream().sorted().toList());
        assertTrue(hasSymbol(user.undefinedSymbols(), "fix_two", "FIX_2.0"));
        assertTrue(user.versionRequirements().stream().anyMatch(r -> r.file().equals("libc.so.6")));
        ElfFacts rpath = ElfReader.read(FIXTURES.resolve("libuser-rpath.so.1"));
        assertEquals(List.of("/opt/fix/lib"), rpath.rpath());
        assertEquals(List.of(), rpath.runpath());
    }

    @Test
    void executableNeedsGlibcVersions() {
        ElfFacts app = ElfReader.read(FIXTURES.resolve("app"));
        assertTrue(app.interpreter().startsWith("/lib"), app.interpreter());
        assertTrue(app.versionRequirements().stream().anyMatch(r -> r.file().equals("libc.so.6")
                && r.versions().stream().anyMatch(v -> v.startsWith("GLIBC_2."))));
        assertNull(app.soname());
    }

    @Test
    void strippedLibraryIsReadFromTheDynamicSegment() {
        ElfFacts full = ElfReader.read(FIXTURES.resolve("libfix.so.1"));
        ElfFacts stripped = ElfReader.read(FIXTURES.resolve("libfix-stripped.so.1"));
        assertEquals(full.soname(), stripped.soname());
        assertEquals(full.versionDefinitions(), stripped.versionDefinitions());
        assertEquals(full.definedSymbols(), stripped.definedSymbols());
    }

    @Test
    void thirtyTwoBit() {
        Path lib = FIXTURES.resolve("libfix32.so.1");
        Assumptions.assumeTrue(Files.exists(lib), "gcc -m32 is not available");
        ElfFacts f = ElfReader.read(lib);
        assertEquals("ELF32", f.elfClass());
        assertEquals("i386", f.machine());
        assertTrue(hasSymbol(f.definedSymbols(), "fix_two", "FIX_2.0"));
    }

    @Test
    void realSystemLibraries() {
        ElfFacts libc = ElfReader.read(Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assertTrue(libc.versionDefinitions().contains("GLIBC_2.2.5"));
        assertTrue(libc.versionDefinitions().contains("GLIBC_2.34"));
        assertTrue(hasSymbol(libc.definedSymbols(), "printf", "GLIBC_2.2.5"));
        Path mpich = Path.of("/usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2");
        Assumptions.assumeTrue(Files.exists(mpich), "Debian's MPICH is not installed");
        ElfFacts m = ElfReader.read(mpich);
        assertEquals("libmpich.so.12", m.soname());
        assertTrue(hasSymbol(m.definedSymbols(), "MPI_Init", null));
        assertTrue(m.versionRequirements().stream().anyMatch(r -> r.file().equals("libc.so.6") && r.versions().contains("GLIBC_2.34")));
    }

    static Stream<Object[]> synthetic() {
        return Stream.of(new Object[] {true, ByteOrder.LITTLE_ENDIAN, 62, "ELF64", "LSB", "x86_64"},
                new Object[] {true, ByteOrder.BIG_ENDIAN, 22, "ELF64", "MSB", "s390x"},
                new Object[] {false, ByteOrder.BIG_ENDIAN, 20, "ELF32", "MSB", "ppc"},
                new Object[] {false, ByteOrder.LITTLE_ENDIAN, 3, "ELF32", "LSB", "i386"});
    }

    @ParameterizedTest(name = "{3} {4} {5}")
    @MethodSource("synthetic")
    void synthesizedFilesOfEveryClassAndByteOrder(boolean is64, ByteOrder order, int machine, String cls, String bo, String name)
            throws IOException {
        ElfWriter w = new ElfWriter();
        w.is64 = is64;
        w.order = order;
        w.machine = machine;
        Path p = tmp.resolve("synth.so");
        Files.write(p, w.build());
        ElfFacts f = ElfReader.read(p);
        assertEquals(cls, f.elfClass());
        assertEquals(bo, f.byteOrder());
        assertEquals(name, f.machine());
        assertEquals("libsynth.so.1", f.soname());
        assertEquals(List.of("libc.so.6"), f.needed());
        assertTrue(hasSymbol(f.definedSymbols(), "synth_function", null));
    }

    static Stream<Object[]> malformed() {
        ElfWriter w = new ElfWriter();
        byte[] good = w.build();
        return Stream.of(
                new Object[] {"empty", (UnaryOperator<byte[]>) b -> new byte[0]},
                new Object[] {"three bytes", (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, 3)},
                new Object[] {"bad magic", (UnaryOperator<byte[]>) b -> { b[1] = 'X'; return b; }},
                new Object[] {"bad class", (UnaryOperator<byte[]>) b -> { b[4] = 7; return b; }},
                new Object[] {"truncated after header", (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, 70)},
                new Object[] {"phoff past EOF", (UnaryOperator<byte[]>) b -> put64(b, 32, 1L << 40)},
                new Object[] {"huge phnum", (UnaryOperator<byte[]>) b -> put16(b, 56, 0xffff)},
                new Object[] {"strtab outside the file", (UnaryOperator<byte[]>) b -> setDyn(b, 5, 1L << 33)},
                new Object[] {"huge strsz", (UnaryOperator<byte[]>) b -> setDyn(b, 10, 1L << 40)},
                new Object[] {"soname offset outside strtab", (UnaryOperator<byte[]>) b -> setDyn(b, 14, 100000)},
                new Object[] {"huge symbol count", (UnaryOperator<byte[]>) b -> hashCount(b, 0x7fffffff)},
                new Object[] {"verneed loop", (UnaryOperator<byte[]>) b -> verneedLoop(b)},
                new Object[] {"verdef count huge", (UnaryOperator<byte[]>) b -> setDyn(setDyn(b, 0x6ffffffcL, 64), 0x6ffffffdL, 1L << 31)},
                new Object[] {"random bytes after magic", (UnaryOperator<byte[]>) b -> randomAfterMagic(b)},
                new Object[] {"good file", null}).map(a -> a[1] == null ? new Object[] {a[0], null, good}
                : new Object[] {a[0], a[1], ((UnaryOperator<byte[]>) a[1]).apply(good.clone())});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedFilesGiveOneLineErrors(String name, Object mutation, byte[] bytes) throws IOException {
        Path p = tmp.resolve("bad.so");
        Files.write(p, bytes);
        if (mutation == null) {
            ElfReader.read(p);
            return;
        }
        BypassException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(BypassException.class, () -> ElfReader.read(p)));
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertEquals(2, e.exitCode());
    }

    @Test
    void fifoAndSymlinkAreRefusedWithoutBlocking() throws Exception {
        Path fifo = tmp.resolve("fifo");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, p.waitFor());
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            BypassException e = assertThrows(BypassException.class, () -> ElfReader.read(fifo));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
            assertFalse(ElfReader.isElf(fifo));
        });
        Path link = tmp.resolve("link.so");
        Files.createSymbolicLink(link, FIXTURES.resolve("libfix.so.1").toAbsolutePath());
        BypassException e = assertThrows(BypassException.class, () -> ElfReader.read(link));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertTrue(ElfReader.isElf(FIXTURES.resolve("libfix.so.1")));
    }

    // --- mutations of the synthesized file (offsets follow ElfWriter's 64-bit LSB layout) ---

    private static byte[] put64(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
        return b;
    }

    private static byte[] put16(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(at, (short) v);
        return b;
    }

    /** Sets a dynamic entry, or adds it in the first DT_NULL slot (ElfWriter leaves spares). */
    private static byte[] setDyn(byte[] b, long tag, long value) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int dynOff = (int) bb.getLong(64 + 56 + 8);
        for (int at = dynOff; at + 32 <= dynOff + 12 * 16; at += 16) {
            long t = bb.getLong(at);
            if (t == tag || t == 0) {
                bb.putLong(at, tag);
                bb.putLong(at + 8, value);
                return b;
            }
        }
        return b;
    }

    private static byte[] hashCount(byte[] b, int count) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int dynOff = (int) bb.getLong(64 + 56 + 8);
        for (int at = dynOff; at + 16 <= b.length; at += 16) {
            if (bb.getLong(at) == 4) {
                bb.putInt((int) bb.getLong(at + 8) + 4, count);
            }
        }
        return b;
    }

    /** A verneed entry whose vn_next points back to itself, with a huge count. */
    private static byte[] verneedLoop(byte[] b) {
        byte[] out = Arrays.copyOf(b, b.length + 32);
        ByteBuffer bb = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int at = b.length;
        bb.putShort(at, (short) 1).putShort(at + 2, (short) 0).putInt(at + 4, 1).putInt(at + 8, 16).putInt(at + 12, 0);
        // vn_next = 0 would end the chain; a negative-looking offset must not loop forever either.
        bb.putInt(at + 12, 0xfffffff0);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(64 + 32, out.length); // p_filesz of PT_LOAD
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(64 + 40, out.length);
        setDyn(out, 0x6ffffffeL, at);
        setDyn(out, 0x6fffffffL, 1_000);
        return out;
    }

    private static byte[] randomAfterMagic(byte[] b) {
        Random r = new Random(42);
        byte[] out = new byte[4096];
        r.nextBytes(out);
        System.arraycopy(b, 0, out, 0, 6);
        return out;
    }
}
