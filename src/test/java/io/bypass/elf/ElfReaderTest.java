package io.bypass.elf;

import io.bypass.BypassException;
import io.bypass.elf.ElfFacts.DynamicSymbol;
import io.bypass.elf.ElfFacts.VersionRequirement;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class ElfReaderTest {
    static final Path FIXTURES = Path.of(System.getProperty("bypass.fixtures", "target/fixtures"));
    static final Duration QUICK = Duration.ofSeconds(5);

    @TempDir
    Path tmp;

    static boolean hasSymbol(List<DynamicSymbol> symbols, String name, String version) {
        return symbols.stream().anyMatch(s -> s.name().equals(name) && java.util.Objects.equals(version, s.version()));
    }

    static List<String> list(String commaSeparated) {
        return commaSeparated == null ? List.of() : List.of(commaSeparated.split(","));
    }

    static Path fixture(String name) {
        Path p = FIXTURES.resolve(name);
        if (name.equals("libfix32.so.1")) {
            Assumptions.assumeTrue(Files.exists(p), "gcc -m32 is not available");
        }
        assertTrue(Files.isRegularFile(p), p + " is missing: tests/fixtures/build-fixtures.sh did not run");
        return p;
    }

    // ---- the fixtures built from C by tests/fixtures/build-fixtures.sh ----

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "libfix.so.1          | ELF64 | x86_64 | DYN | libfix.so.1        | -                     | -              | -                    | FIX_1.0,FIX_2.0",
        "libfix-stripped.so.1 | ELF64 | x86_64 | DYN | libfix.so.1        | -                     | -              | -                    | FIX_1.0,FIX_2.0",
        "libfix32.so.1        | ELF32 | i386   | DYN | libfix.so.1        | -                     | -              | -                    | FIX_1.0,FIX_2.0",
        "libuser.so.1         | ELF64 | x86_64 | DYN | libuser.so.1       | libfix.so.1,libc.so.6 | $ORIGIN/../lib | -                    | -",
        "libuser-rpath.so.1   | ELF64 | x86_64 | DYN | libuser-rpath.so.1 | libfix.so.1,libc.so.6 | -              | /opt/fix/lib,$ORIGIN | -",
        "app                  | ELF64 | x86_64 | DYN | -                  | libc.so.6             | -              | -                    | -",
    })
    void fixtureFacts(String file, String cls, String machine, String type, String soname, String needed, String runpath,
                      String rpath, String verdefs) {
        ElfFacts f = ElfReader.read(fixture(file));
        assertEquals(cls, f.elfClass());
        assertEquals("LSB", f.byteOrder());
        assertEquals(machine, f.machine());
        // gcc here builds position-independent executables, so app is DYN too.
        assertEquals(type, f.type());
        assertEquals(soname, f.soname());
        assertEquals(list(needed), f.needed());
        assertEquals(list(runpath), f.runpath());
        assertEquals(list(rpath), f.rpath());
        assertEquals(list(verdefs), f.versionDefinitions());
    }

    @ParameterizedTest(name = "{0} {1} {2}@{3}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "libfix.so.1          | defined   | fix_one          | FIX_1.0     | FUNC",
        "libfix.so.1          | defined   | fix_two          | FIX_2.0     | FUNC",
        "libfix.so.1          | defined   | fix_old          | FIX_1.0     | FUNC",
        "libfix.so.1          | defined   | fix_old          | FIX_2.0     | FUNC",
        "libfix.so.1          | defined   | fix_data         | FIX_1.0     | OBJECT",
        "libfix.so.1          | undefined | __gmon_start__   | -           | NOTYPE",
        "libfix-stripped.so.1 | defined   | fix_old          | FIX_1.0     | FUNC",
        "libfix32.so.1        | defined   | fix_two          | FIX_2.0     | FUNC",
        "libfix32.so.1        | defined   | fix_old          | FIX_1.0     | FUNC",
        "libuser.so.1         | undefined | fix_two          | FIX_2.0     | FUNC",
        "libuser.so.1         | undefined | fix_data         | FIX_1.0     | OBJECT",
        "libuser.so.1         | undefined | printf           | GLIBC_2.2.5 | FUNC",
        "libuser.so.1         | defined   | user             | -           | FUNC",
        "app                  | undefined | __libc_start_main | GLIBC_2.34 | FUNC",
    })
    void fixtureSymbols(String file, String where, String name, String version, String kind) {
        ElfFacts f = ElfReader.read(fixture(file));
        List<DynamicSymbol> symbols = where.equals("defined") ? f.definedSymbols() : f.undefinedSymbols();
        assertTrue(symbols.stream().anyMatch(s -> s.name().equals(name) && java.util.Objects.equals(version, s.version())
                && s.kind().equals(kind)), name + "@" + version + " " + kind + " in " + symbols);
    }

    @Test
    void fixtureVersionRequirements() {
        ElfFacts user = ElfReader.read(fixture("libuser.so.1"));
        assertEquals(List.of("FIX_1.0", "FIX_2.0"), versionsOf(user, "libfix.so.1").stream().sorted().toList());
        assertEquals(List.of("GLIBC_2.2.5"), versionsOf(user, "libc.so.6"));
        ElfFacts app = ElfReader.read(fixture("app"));
        assertTrue(versionsOf(app, "libc.so.6").containsAll(List.of("GLIBC_2.2.5", "GLIBC_2.34")), app.toString());
        assertTrue(app.interpreter().startsWith("/lib"), app.interpreter());
        assertNull(ElfReader.read(fixture("libfix.so.1")).interpreter());
        // Local symbols (local: * in fix.map) are not part of the interface.
        assertFalse(hasSymbol(ElfReader.read(fixture("libfix.so.1")).definedSymbols(), "fix_old_v1", null));
    }

    static List<String> versionsOf(ElfFacts f, String file) {
        return f.versionRequirements().stream().filter(r -> r.file().equals(file)).findFirst()
                .map(VersionRequirement::versions).orElseThrow(() -> new AssertionError(file + " not in " + f));
    }

    /**
     * What sstrip does (no section headers, nothing after the last segment): the facts must come
     * out the same from the dynamic segment alone, the symbol count from DT_GNU_HASH.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"libfix.so.1", "libuser.so.1", "libuser-rpath.so.1", "app", "libfix32.so.1"})
    void sectionlessFilesGiveTheSameFacts(String file) throws IOException {
        Path p = fixture(file);
        byte[] stripped = sstrip(Files.readAllBytes(p));
        assertTrue(stripped.length < Files.size(p));
        assertEquals(ElfReader.read(p), ElfReader.parse(stripped, file + " (sstripped)"));
    }

    /** Little-endian only: the fixtures are built for this machine. */
    static byte[] sstrip(byte[] elf) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        boolean is64 = elf[4] == 2;
        long phoff = is64 ? b.getLong(32) : b.getInt(28);
        int phnum = Short.toUnsignedInt(b.getShort(is64 ? 56 : 44));
        int phentsize = is64 ? 56 : 32;
        long end = 0;
        for (int i = 0; i < phnum; i++) {
            int at = (int) phoff + i * phentsize;
            long off = is64 ? b.getLong(at + 8) : b.getInt(at + 4);
            long filesz = is64 ? b.getLong(at + 32) : b.getInt(at + 16);
            end = Math.max(end, off + filesz);
        }
        if (is64) {
            b.putLong(40, 0).putShort(60, (short) 0).putShort(62, (short) 0);
        } else {
            b.putInt(32, 0).putShort(48, (short) 0).putShort(50, (short) 0);
        }
        return Arrays.copyOf(elf, (int) end);
    }

    // ---- the machine's own libraries ----

    @Test
    void systemLibc() {
        Path libc = Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6");
        Assumptions.assumeTrue(Files.isRegularFile(libc), "not an x86_64 Debian-like system");
        ElfFacts f = ElfReader.read(libc);
        assertEquals("libc.so.6", f.soname());
        assertEquals("x86_64", f.machine());
        assertTrue(f.versionDefinitions().containsAll(List.of("GLIBC_2.2.5", "GLIBC_2.34")), f.versionDefinitions().toString());
        assertFalse(f.versionDefinitions().contains("libc.so.6"), "the base definition is the file's own name");
        assertTrue(hasSymbol(f.definedSymbols(), "printf", "GLIBC_2.2.5"));
        assertTrue(hasSymbol(f.definedSymbols(), "__libc_start_main", "GLIBC_2.34"));
        assertTrue(hasSymbol(f.definedSymbols(), "__libc_start_main", "GLIBC_2.2.5"), "the older, non-default version");
        assertTrue(f.needed().stream().anyMatch(n -> n.startsWith("ld-linux")), f.needed().toString());
    }

    @Test
    void systemMpich() throws IOException {
        Path link = Path.of("/usr/lib/x86_64-linux-gnu/libmpich.so.12");
        Assumptions.assumeTrue(Files.exists(link), "Debian's MPICH is not installed");
        // read() refuses symlinks; callers resolve them first (inside the right root).
        ElfFacts m = ElfReader.read(link.toRealPath());
        assertEquals("libmpich.so.12", m.soname());
        assertTrue(hasSymbol(m.definedSymbols(), "MPI_Init", null));
        List<String> glibc = versionsOf(m, "libc.so.6");
        assertFalse(glibc.isEmpty());
        assertTrue(glibc.stream().allMatch(v -> v.startsWith("GLIBC_")), glibc.toString());
    }

    /** The hook reads libraries on every container start: a big library must take milliseconds. */
    @Test
    void readingABigLibraryIsFast() throws IOException {
        Path link = Path.of("/usr/lib/x86_64-linux-gnu/libmpich.so.12");
        Path lib = Files.exists(link) ? link.toRealPath() : Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6");
        Assumptions.assumeTrue(Files.isRegularFile(lib));
        for (int i = 0; i < 200; i++) {
            ElfReader.read(lib);
        }
        int n = 50;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            ElfReader.read(lib);
        }
        double ms = (System.nanoTime() - t0) / 1e6 / n;
        // Measured about 0.2 ms; the bound is loose so that a busy CI machine does not fail it.
        assertTrue(ms < 25, lib + " took " + ms + " ms per read");
    }

    // ---- files written byte by byte: both classes, both byte orders, both hash styles ----

    static Stream<Arguments> variants() {
        List<Arguments> out = new ArrayList<>();
        for (boolean is64 : new boolean[] {true, false}) {
            for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
                for (ElfWriter.Hash hash : ElfWriter.Hash.values()) {
                    for (boolean sections : new boolean[] {false, true}) {
                        out.add(Arguments.of(is64, order, hash, sections));
                    }
                }
            }
        }
        return out.stream();
    }

    static ElfWriter writer(boolean is64, ByteOrder order, ElfWriter.Hash hash, boolean sections) {
        ElfWriter w = new ElfWriter();
        w.is64 = is64;
        w.order = order;
        w.hash = hash;
        w.sections = sections;
        boolean lsb = order == ByteOrder.LITTLE_ENDIAN;
        w.machine = is64 ? (lsb ? 62 : 22) : (lsb ? 3 : 20);
        return w;
    }

    static final List<DynamicSymbol> SYNTH_DEFINED = List.of(
            new DynamicSymbol("synth_function", "SYN_1.0", "GLOBAL", "FUNC"),
            new DynamicSymbol("synth_old", "SYN_1.0", "GLOBAL", "FUNC"),
            new DynamicSymbol("synth_old", "SYN_2.0", "GLOBAL", "FUNC"),
            new DynamicSymbol("synth_data", null, "GLOBAL", "OBJECT"));
    static final List<DynamicSymbol> SYNTH_UNDEFINED = List.of(
            new DynamicSymbol("puts", "GLIBC_2.2.5", "GLOBAL", "FUNC"),
            new DynamicSymbol("__gmon_start__", null, "WEAK", "NOTYPE"));

    @ParameterizedTest(name = "ELF64={0} {1} {2} sections={3}")
    @MethodSource("variants")
    void synthesizedFiles(boolean is64, ByteOrder order, ElfWriter.Hash hash, boolean sections) throws IOException {
        Path p = tmp.resolve("synth.so");
        Files.write(p, writer(is64, order, hash, sections).build());
        ElfFacts f = ElfReader.read(p);
        boolean lsb = order == ByteOrder.LITTLE_ENDIAN;
        assertEquals(is64 ? "ELF64" : "ELF32", f.elfClass());
        assertEquals(lsb ? "LSB" : "MSB", f.byteOrder());
        assertEquals(is64 ? (lsb ? "x86_64" : "s390x") : (lsb ? "i386" : "ppc"), f.machine());
        assertEquals("DYN", f.type());
        assertNull(f.interpreter());
        assertEquals("libsynth.so.1", f.soname());
        assertEquals(List.of("libc.so.6"), f.needed());
        assertEquals(List.of("$ORIGIN/../lib", "/opt/synth"), f.runpath());
        assertEquals(List.of(), f.rpath());
        assertEquals(List.of("SYN_1.0", "SYN_2.0"), f.versionDefinitions());
        assertEquals(List.of(new VersionRequirement("libc.so.6", List.of("GLIBC_2.2.5", "GLIBC_2.34"))),
                f.versionRequirements());
        assertEquals(SYNTH_DEFINED, f.definedSymbols());
        assertEquals(SYNTH_UNDEFINED, f.undefinedSymbols());
    }

    @ParameterizedTest(name = "e_machine {0}, e_type {1}")
    @CsvSource({"183, 3, aarch64, DYN", "40, 2, arm, EXEC", "21, 2, ppc64, EXEC", "243, 3, riscv, DYN",
        "258, 3, loongarch, DYN", "8, 1, mips, REL", "43, 4, sparc, CORE", "999, 65024, EM_999, ET_65024"})
    void machineAndTypeNames(int machine, int type, String machineName, String typeName) {
        ElfWriter w = new ElfWriter();
        w.machine = machine;
        w.type = type;
        ElfFacts f = ElfReader.parse(w.build(), "synth");
        assertEquals(machineName, f.machine());
        assertEquals(typeName, f.type());
    }

    @Test
    void symbolsCanBeSkipped() throws IOException {
        byte[] file = new ElfWriter().build();
        ElfFacts all = ElfReader.parse(file, "synth");
        Path p = tmp.resolve("synth.so");
        Files.write(p, file);
        ElfFacts none = ElfReader.read(p, "synth", false);
        assertEquals(List.of(), none.definedSymbols());
        assertEquals(List.of(), none.undefinedSymbols());
        assertEquals(all.soname(), none.soname());
        assertEquals(all.versionRequirements(), none.versionRequirements());
        assertEquals(all, ElfReader.read(p, "synth", facts -> facts.soname().equals("libsynth.so.1")));
    }

    @Test
    void sectionHeadersGiveTheCountOnlyWhereTheyAgreeWithTheDynamicSegment() {
        ElfWriter w = writer(true, ByteOrder.LITTLE_ENDIAN, ElfWriter.Hash.SYSV, true);
        byte[] good = w.build();
        int symShdr = w.shoff + 64;
        // DT_HASH claims far too many symbols: the agreeing section's exact size wins.
        byte[] badHash = w.put32(good.clone(), w.hashOff + 4, 3_000_000);
        assertEquals(SYNTH_DEFINED, ElfReader.parse(badHash, "synth").definedSymbols());
        // A section that describes another table (as a hostile file might) is not believed.
        byte[] lyingSection = w.putWord(w.putWord(good.clone(), symShdr + 16, 0x1000), symShdr + 32, 24);
        assertEquals(SYNTH_DEFINED, ElfReader.parse(lyingSection, "synth").definedSymbols());
        // Section headers past the end of the file are ignored, as the loader ignores them.
        byte[] cutSections = Arrays.copyOf(good, w.shoff + 10);
        assertEquals(SYNTH_DEFINED, ElfReader.parse(cutSections, "synth").definedSymbols());
    }

    // ---- malformed and hostile files ----

    /** Each is applied to two layouts: ELF64 LSB with DT_HASH, ELF32 MSB with DT_GNU_HASH. */
    static Stream<Arguments> malformed() {
        List<Arguments> out = new ArrayList<>();
        List<Object[]> cases = List.of(
            c("empty", w -> new byte[0]),
            c("three bytes", w -> Arrays.copyOf(w.build(), 3)),
            c("bad magic", w -> { byte[] b = w.build(); b[1] = 'X'; return b; }),
            c("bad class", w -> { byte[] b = w.build(); b[4] = 7; return b; }),
            c("bad byte order", w -> { byte[] b = w.build(); b[5] = 0; return b; }),
            c("truncated in the identification", w -> Arrays.copyOf(w.build(), 12)),
            c("truncated in the header", w -> Arrays.copyOf(w.build(), 40)),
            c("truncated after the header", w -> Arrays.copyOf(w.build(), w.is64 ? 70 : 56)),
            c("truncated in the symbol table", w -> { byte[] b = w.build(); return Arrays.copyOf(b, w.symOff + 5); }),
            c("truncated in the dynamic table", w -> { byte[] b = w.build(); return Arrays.copyOf(b, w.dynOff + 8); }),
            c("e_phoff past EOF", w -> w.putWord(w.build(), w.is64 ? 32 : 28, 0x7ffffff0L)),
            c("e_phoff negative", w -> w.putWord(w.build(), w.is64 ? 32 : 28, -64)),
            c("huge e_phnum", w -> w.put16(w.build(), w.is64 ? 56 : 44, 0xffff)),
            c("e_phentsize too small", w -> w.put16(w.build(), w.is64 ? 54 : 42, 8)),
            c("PT_DYNAMIC past EOF", w -> { byte[] b = w.build(); return w.putWord(b, phdr(w, 1) + (w.is64 ? 8 : 4), 0x7ffffff0L); }),
            c("PT_INTERP past EOF", w -> {
                byte[] b = w.put32(w.build(), phdr(w, 1), 3);
                return w.putWord(b, phdr(w, 1) + (w.is64 ? 8 : 4), 0x7ffffff0L);
            }),
            c("dynamic table without DT_NULL running off the file", w -> {
                byte[] b = w.build();
                for (int i = 0; i < w.dynCount; i++) {
                    int at = w.dynOff + i * (w.is64 ? 16 : 8);
                    if (isNullTag(w, b, at)) {
                        w.putWord(b, at, 0x6ffffffbL);
                    }
                }
                return w.putWord(b, phdr(w, 1) + (w.is64 ? 32 : 16), 0x7ffffff0L);
            }),
            c("DT_STRTAB outside the file", w -> w.setDyn(w.build(), 5, ElfWriter.BASE + 0x7fff0000L)),
            c("DT_STRTAB in no segment", w -> w.setDyn(w.build(), 5, 0x10)),
            c("DT_STRTAB without DT_STRSZ", w -> { byte[] b = w.build(); return w.putWord(b, dynEntry(w, b, 10), 0x6ffffffbL); }),
            c("huge DT_STRSZ", w -> w.setDyn(w.build(), 10, 0x7ffffff0L)),
            c("DT_STRSZ past EOF", w -> { byte[] b = w.build(); return w.setDyn(b, 10, b.length); }),
            c("DT_SONAME outside the string table", w -> w.setDyn(w.build(), 14, 100000)),
            c("DT_NEEDED outside the string table", w -> w.setDyn(w.build(), 1, 0x7fffffffL)),
            c("string longer than 64 KiB", w -> { w.runpath = "/x".repeat(40_000); return w.build(); }),
            c("wrong DT_SYMENT", w -> w.setDyn(w.build(), 11, 7)),
            c("DT_SYMTAB outside the file", w -> w.setDyn(w.build(), 6, ElfWriter.BASE + 0x7fff0000L)),
            c("huge symbol count", w -> w.hash == ElfWriter.Hash.SYSV ? w.put32(w.build(), w.hashOff + 4, 0x7fffffff)
                    : w.put32(w.build(), w.hashOff + 4, 0x7ffffff0)),
            c("symbol count past EOF", w -> w.hash == ElfWriter.Hash.SYSV ? w.put32(w.build(), w.hashOff + 4, 3_000_000)
                    : w.put32(w.build(), w.hashOff + 16 + (w.is64 ? 8 : 4), 3_000_000)),
            c("huge GNU hash bucket count", w -> { w.hash = ElfWriter.Hash.GNU; return w.put32(w.build(), w.hashOff, 0x7fffffff); }),
            c("hash table in no segment", w -> w.setDyn(w.build(), w.hash == ElfWriter.Hash.SYSV ? 4 : 0x6ffffef5L, 8)),
            c("symbol name outside the string table", w -> w.put32(w.build(), w.symOff + 4 * (w.is64 ? 24 : 16), 0x7fffffff)),
            c("symbol names totalling more than 64 MiB", w -> { w.bombName = "b".repeat(60_000); w.bombCount = 1200; return w.build(); }),
            c("DT_VERSYM table past EOF", w -> { byte[] b = w.build(); return w.setDyn(b, 0x6ffffff0L, ElfWriter.BASE + b.length - 2); }),
            c("vn_next past EOF", w -> w.setDyn(w.put32(w.build(), w.verneedOff + 12, 0xfffffff0), 0x6fffffffL, 2)),
            c("vn_aux past EOF", w -> w.put32(w.build(), w.verneedOff + 8, 0x7ffffff0)),
            c("vna_next past EOF", w -> w.put32(w.build(), w.verneedOff + 16 + 12, 0xfffffff0)),
            c("vn_file outside the string table", w -> w.put32(w.build(), w.verneedOff + 4, 0x7fffffff)),
            c("huge DT_VERNEEDNUM", w -> w.setDyn(w.build(), 0x6fffffffL, 0x80000000L)),
            c("huge vn_cnt walking off the file", w -> {
                byte[] b = w.put16(w.build(), w.verneedOff + 2, 0xffff);
                return w.put32(b, w.verneedOff + 16 + 16 + 12, 0x40000);
            }),
            c("huge DT_VERDEFNUM", w -> w.setDyn(w.build(), 0x6ffffffdL, 0x80000000L)),
            c("vd_next past EOF", w -> w.put32(w.build(), w.verdefOff + 16, 0x7ffffff0)),
            c("vd_aux past EOF", w -> w.put32(w.build(), w.verdefOff + 12, 0x7ffffff0)),
            c("verdef name outside the string table", w -> w.put32(w.build(), w.verdefOff + 20, 0x7fffffff)),
            c("random bytes after the identification", w -> {
                byte[] good = w.build();
                byte[] b = new byte[4096];
                new Random(42).nextBytes(b);
                System.arraycopy(good, 0, b, 0, 6);
                return b;
            }));
        for (Object[] c : cases) {
            for (boolean is64 : new boolean[] {true, false}) {
                ElfWriter w = is64 ? writer(true, ByteOrder.LITTLE_ENDIAN, ElfWriter.Hash.SYSV, false)
                        : writer(false, ByteOrder.BIG_ENDIAN, ElfWriter.Hash.GNU, false);
                @SuppressWarnings("unchecked")
                Function<ElfWriter, byte[]> m = (Function<ElfWriter, byte[]>) c[1];
                out.add(Arguments.of((is64 ? "ELF64 LSB: " : "ELF32 MSB: ") + c[0], m.apply(w)));
            }
        }
        return out.stream();
    }

    private static Object[] c(String name, Function<ElfWriter, byte[]> mutation) {
        return new Object[] {name, mutation};
    }

    private static int phdr(ElfWriter w, int index) {
        return w.phoff + index * (w.is64 ? 56 : 32);
    }

    private static boolean isNullTag(ElfWriter w, byte[] b, int at) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(w.order);
        return w.is64 ? bb.getLong(at) == 0 : bb.getInt(at) == 0;
    }

    private static int dynEntry(ElfWriter w, byte[] b, long tag) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(w.order);
        for (int i = 0; i < w.dynCount; i++) {
            int at = w.dynOff + i * (w.is64 ? 16 : 8);
            if ((w.is64 ? bb.getLong(at) : bb.getInt(at)) == tag) {
                return at;
            }
        }
        throw new AssertionError("no tag " + tag);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedFilesGiveOneLineErrors(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve("bad.so");
        Files.write(p, bytes);
        BypassException e = assertTimeoutPreemptively(QUICK,
                () -> assertThrows(BypassException.class, () -> ElfReader.read(p)));
        assertOneLineAbout(p.toString(), e);
    }

    static void assertOneLineAbout(String displayName, BypassException e) {
        String m = e.getMessage();
        assertTrue(m.startsWith(displayName + ": "), m);
        assertTrue(m.length() > displayName.length() + 2, m);
        assertFalse(m.contains("\n") || m.contains("\r"), m);
        // The reader's safety net turns its own defects into one line too; none should be reached.
        assertFalse(m.contains("Exception)") || m.contains("Error)"), m);
        assertEquals(2, e.exitCode());
    }

    /**
     * Cheap in-test fuzzing: truncations and random byte edits of every fixture and synthesized
     * file give facts or a BypassException, never another throwable or a hang.
     */
    @Test
    void mutatedFilesGiveFactsOrOneLineErrors() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        for (String f : List.of("libfix.so.1", "libuser.so.1", "app", "libfix-stripped.so.1", "libfix32.so.1")) {
            Path p = FIXTURES.resolve(f);
            if (Files.isRegularFile(p)) {
                seeds.add(Files.readAllBytes(p));
            }
        }
        variants().forEach(a -> seeds.add(writer((boolean) a.get()[0], (ByteOrder) a.get()[1],
                (ElfWriter.Hash) a.get()[2], (boolean) a.get()[3]).build()));
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            Random r = new Random(7);
            for (byte[] seed : seeds) {
                for (int cut = 0; cut < seed.length; cut += Math.max(1, seed.length / 97)) {
                    tryParse(Arrays.copyOf(seed, cut));
                }
                for (int i = 0; i < 1500; i++) {
                    byte[] b = seed.clone();
                    for (int k = 1 + r.nextInt(4); k > 0; k--) {
                        int at = r.nextInt(b.length);
                        int v = switch (r.nextInt(4)) {
                            case 0 -> 0;
                            case 1 -> 0xff;
                            case 2 -> 0x7f;
                            default -> r.nextInt(256);
                        };
                        b[at] = (byte) v;
                    }
                    tryParse(b);
                }
            }
        });
    }

    private static void tryParse(byte[] b) {
        try {
            ElfReader.parse(b, "mutant");
        } catch (BypassException e) {
            assertOneLineAbout("mutant", e);
        } catch (Throwable t) {
            fail("not a BypassException: " + t, t);
        }
    }

    // ---- what is not a regular file, and how files are opened ----

    @ParameterizedTest(name = "{0}")
    @CsvSource({"fifo, not a regular file", "directory, is a directory", "symlink, symbolic link",
        "socket, not a regular file", "device, not a regular file", "missing, no such file"})
    void onlyRegularFilesAreOpened(String kind, String expected) throws Exception {
        Path p = tmp.resolve(kind);
        switch (kind) {
            case "fifo" -> assertEquals(0, new ProcessBuilder("mkfifo", p.toString()).start().waitFor());
            case "directory" -> Files.createDirectory(p);
            case "symlink" -> Files.createSymbolicLink(p, fixture("libfix.so.1").toAbsolutePath());
            case "socket" -> {
                ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                s.bind(UnixDomainSocketAddress.of(p));
                s.close();
            }
            case "device" -> {
                p = Path.of("/dev/null");
                Assumptions.assumeTrue(Files.exists(p));
            }
            default -> {
            }
        }
        Path file = p;
        // A FIFO opened for reading blocks until a writer comes: this must return at once.
        BypassException e = assertTimeoutPreemptively(QUICK, () -> {
            assertFalse(ElfReader.isElf(file));
            return assertThrows(BypassException.class, () -> ElfReader.read(file));
        });
        assertOneLineAbout(file.toString(), e);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void isElfIsACheapMagicCheck() throws IOException {
        assertTrue(ElfReader.isElf(fixture("libfix.so.1")));
        Path text = Files.writeString(tmp.resolve("script.sh"), "#!/bin/sh\n");
        assertFalse(ElfReader.isElf(text));
        assertFalse(ElfReader.isElf(Files.write(tmp.resolve("short"), new byte[] {0x7f, 'E', 'L'})));
        assertFalse(ElfReader.isElf(tmp.resolve("missing")));
    }

    @Test
    void readsFromAnOpenChannel() throws IOException {
        Path p = fixture("libuser.so.1");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            assertEquals(ElfReader.read(p), ElfReader.read(ch, "libuser"));
            assertTrue(ch.isOpen(), "the caller owns the channel");
        }
        Path bad = Files.write(tmp.resolve("bad"), new byte[] {1, 2, 3, 4, 5});
        try (FileChannel ch = FileChannel.open(bad, StandardOpenOption.READ)) {
            assertOneLineAbout("container:/usr/lib/libbad.so",
                    assertThrows(BypassException.class, () -> ElfReader.read(ch, "container:/usr/lib/libbad.so")));
        }
    }

    @Test
    void displayNamesAreKeptOnOneLine() throws IOException {
        Path bad = Files.write(tmp.resolve("bad"), new byte[] {1, 2, 3, 4, 5});
        BypassException e = assertThrows(BypassException.class, () -> ElfReader.read(bad, "lib\nevil\u001b[2J.so"));
        assertOneLineAbout("lib?evil?[2J.so", e);
    }
}
