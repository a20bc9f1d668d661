package io.bypass.elf;

import io.bypass.BypassException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * Reads the dynamic-linking facts of an ELF file (ELF32/ELF64, either byte order) without mapping
 * or executing it: only the headers, the dynamic table, the dynamic string and symbol tables and
 * the GNU version tables are read, with positional reads whose offsets and sizes are all checked
 * against the file. Every problem becomes one {@link BypassException} (exit 2) whose one-line
 * message starts with the display name.
 *
 * <p>Where the dynamic loader and the section headers could disagree (a hostile or sstrip'ed
 * file), the loader's view wins: the dynamic table comes from PT_DYNAMIC and the symbol table from
 * DT_SYMTAB; section headers only supply the exact symbol count, when their address agrees.
 *
 * <p>A symbol defined in several versions (fix_old@FIX_1.0 and fix_old@@FIX_2.0) is reported once
 * per version, in symbol-table order; the record does not say which one is the default.
 */
public final class ElfReader {
    private static final int MAX_PHNUM = 4096;
    private static final int MAX_SHNUM = 65536;
    private static final int MAX_DYNAMIC = 65536;
    /** The largest table read whole (the dynamic string table; libLLVM's is 3 MB). */
    private static final long MAX_TABLE_BYTES = 64L << 20;
    private static final int MAX_SYMBOLS = 4 << 20;
    private static final int MAX_VERSION_ENTRIES = 65536;
    private static final int MAX_STRING = 64 << 10;
    /** All symbol names together: names sharing one long string must not multiply into gigabytes. */
    private static final long MAX_NAME_BYTES = 64L << 20;
    private static final int MAX_INTERP = 4096;
    /** Version indexes are 15 bits once the hidden bit is masked. */
    private static final int MAX_VERSION_INDEX = 0x7fff;

    private static final int PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
    private static final int SHT_DYNAMIC = 6, SHT_DYNSYM = 11;
    private static final long DT_NULL = 0, DT_NEEDED = 1, DT_HASH = 4, DT_STRTAB = 5, DT_SYMTAB = 6, DT_STRSZ = 10,
            DT_SYMENT = 11, DT_SONAME = 14, DT_RPATH = 15, DT_RUNPATH = 29, DT_GNU_HASH = 0x6ffffef5L,
            DT_VERSYM = 0x6ffffff0L, DT_VERDEF = 0x6ffffffcL, DT_VERDEFNUM = 0x6ffffffdL, DT_VERNEED = 0x6ffffffeL,
            DT_VERNEEDNUM = 0x6fffffffL, DT_BIND_NOW = 24, DT_FLAGS = 30, DT_FLAGS_1 = 0x6ffffffbL;
    private static final long DF_BIND_NOW = 0x8, DF_1_NOW = 0x1;
    private static final int VER_FLG_BASE = 1;
    private static final long NONE = Long.MIN_VALUE;
    private static final int STB_GLOBAL = 1, STB_WEAK = 2, STB_GNU_UNIQUE = 10;
    private static final int STV_DEFAULT = 0, STV_PROTECTED = 3;

    private ElfReader() {
    }

    /** Cheap check: a regular file (not followed through a link) whose first bytes are the ELF magic. Never throws. */
    public static boolean isElf(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile() || a.size() < 4) {
                return false;
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer b = ByteBuffer.allocate(4);
                while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                    // A short read is legal; keep going until 4 bytes or EOF.
                }
                return b.position() == 4 && b.get(0) == 0x7f && b.get(1) == 'E' && b.get(2) == 'L' && b.get(3) == 'F';
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    public static ElfFacts read(Path file) {
        return read(file, file.toString());
    }

    /** Reads a regular file; symlinks, FIFOs, sockets, devices and directories are refused without opening them. */
    public static ElfFacts read(Path file, String displayName) {
        return read(file, displayName, true);
    }

    /**
     * @param symbols false to skip the dynamic symbol table: the facts a loader needs (soname,
     *                needed, paths, versions) cost a fraction of reading thousands of symbols
     */
    public static ElfFacts read(Path file, String displayName, boolean symbols) {
        return read(file, displayName, facts -> symbols);
    }

    /**
     * @param symbols decides from the other facts (soname, needed) whether the dynamic symbols are
     *                read too, in the same pass over the file
     */
    public static ElfFacts read(Path file, String displayName, Predicate<ElfFacts> symbols) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw fail(displayName, "no such file");
        } catch (IOException e) {
            throw fail(displayName, "cannot read: " + reason(e));
        }
        if (a.isSymbolicLink()) {
            throw fail(displayName, "is a symbolic link, not an ELF file");
        }
        if (a.isDirectory()) {
            throw fail(displayName, "is a directory, not an ELF file");
        }
        if (!a.isRegularFile()) {
            // Opening a FIFO would block until a writer comes: refuse before open().
            throw fail(displayName, "not a regular file (a FIFO, socket or device)");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            return read(source(ch), displayName, symbols);
        } catch (IOException e) {
            throw fail(displayName, "cannot read: " + reason(e));
        }
    }

    /** Reads from a channel the caller opened (safely); the channel is left open. */
    public static ElfFacts read(FileChannel ch, String displayName) {
        return read(source(ch), displayName, facts -> true);
    }

    /** Parses bytes already in memory (tests, fuzzing). */
    public static ElfFacts parse(byte[] data, String displayName) {
        return read(new Source() {
            @Override
            public long size() {
                return data.length;
            }

            @Override
            public int read(ByteBuffer dst, long position) {
                if (position >= data.length) {
                    return -1;
                }
                int n = (int) Math.min(dst.remaining(), data.length - position);
                dst.put(data, (int) position, n);
                return n;
            }
        }, displayName, facts -> true);
    }

    /**
     * Where the bytes come from: positional reads, so the parser never holds the whole file (a
     * container file is read from its descriptor this way).
     */
    public interface Source {
        long size() throws IOException;

        int read(ByteBuffer dst, long position) throws IOException;
    }

    private static Source source(FileChannel ch) {
        return new Source() {
            @Override
            public long size() throws IOException {
                return ch.size();
            }

            @Override
            public int read(ByteBuffer dst, long position) throws IOException {
                return ch.read(dst, position);
            }
        };
    }

    /** Reads from any positional source; {@code symbols} as for {@link #read(Path, String, Predicate)}. */
    public static ElfFacts read(Source source, String displayName, Predicate<ElfFacts> symbols) {
        try {
            return new Parser(source, displayName).parse(symbols);
        } catch (IOException e) {
            throw fail(displayName, "cannot read: " + reason(e));
        } catch (BypassException e) {
            throw e;
        } catch (RuntimeException | OutOfMemoryError e) {
            // A defect of ours on a hostile file must still be one line naming the file.
            throw fail(displayName, "malformed ELF file (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * The file range [offset, offset + size) of the first section with this name, or null when the
     * file has no such section (or no usable section headers). Never throws for a malformed file:
     * a caller that only narrows a search falls back to the whole file.
     */
    public static long[] sectionRange(Source src, String name) throws IOException {
        long size = src.size();
        if (size < 64) {
            return null;
        }
        ByteBuffer h = readAt(src, 0, 64);
        if (h == null || h.get(0) != 0x7f || h.get(1) != 'E' || h.get(2) != 'L' || h.get(3) != 'F'
                || (h.get(4) != 1 && h.get(4) != 2) || (h.get(5) != 1 && h.get(5) != 2)) {
            return null;
        }
        boolean is64 = h.get(4) == 2;
        h.order(h.get(5) == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        long shoff = is64 ? h.getLong(40) : Integer.toUnsignedLong(h.getInt(32));
        int shentsize = Short.toUnsignedInt(h.getShort(is64 ? 58 : 46));
        int shnum = Short.toUnsignedInt(h.getShort(is64 ? 60 : 48));
        int shstrndx = Short.toUnsignedInt(h.getShort(is64 ? 62 : 50));
        int minEnt = is64 ? 64 : 40;
        if (shoff <= 0 || shnum == 0 || shentsize < minEnt || shstrndx >= shnum
                || shoff > size || (long) shnum * shentsize > size - shoff) {
            return null;
        }
        ByteBuffer t = readAt(src, shoff, shnum * shentsize);
        if (t == null) {
            return null;
        }
        t.order(h.order());
        long[][] sections = new long[shnum][];
        for (int i = 0; i < shnum; i++) {
            int p = i * shentsize;
            long nameOff = Integer.toUnsignedLong(t.getInt(p));
            long off = is64 ? t.getLong(p + 24) : Integer.toUnsignedLong(t.getInt(p + 16));
            long len = is64 ? t.getLong(p + 32) : Integer.toUnsignedLong(t.getInt(p + 20));
            int type = t.getInt(p + 4);
            sections[i] = new long[] {nameOff, off, len, type};
        }
        long[] strtab = sections[shstrndx];
        if (strtab[1] < 0 || strtab[2] <= 0 || strtab[2] > 1 << 20 || strtab[1] > size - strtab[2]) {
            return null;
        }
        ByteBuffer names = readAt(src, strtab[1], (int) strtab[2]);
        if (names == null) {
            return null;
        }
        byte[] want = name.getBytes(StandardCharsets.US_ASCII);
        for (long[] s : sections) {
            if (s[3] == 8 /* SHT_NOBITS */ || s[0] + want.length >= strtab[2]) {
                continue;
            }
            boolean match = names.get((int) (s[0] + want.length)) == 0;
            for (int k = 0; match && k < want.length; k++) {
                match = names.get((int) s[0] + k) == want[k];
            }
            if (match && s[1] >= 0 && s[2] > 0 && s[1] <= size - s[2]) {
                return new long[] {s[1], s[2]};
            }
        }
        return null;
    }

    private static ByteBuffer readAt(Source src, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            int n = src.read(b, offset + b.position());
            if (n <= 0) {
                return null;
            }
        }
        return b;
    }

    static BypassException fail(String displayName, String what) {
        return BypassException.badInput(oneLine(displayName) + ": " + what);
    }

    /** File names from a container image may hold newlines or escapes; the message must stay one line. */
    static String oneLine(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                StringBuilder b = new StringBuilder(s.length());
                for (int j = 0; j < s.length(); j++) {
                    char d = s.charAt(j);
                    b.append(d < 0x20 || d == 0x7f ? '?' : d);
                }
                return b.toString();
            }
        }
        return s;
    }

    /** FileSystemException's message repeats the path (often without the reason): keep only the reason. */
    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return oneLine(f.getReason());
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : oneLine(e.getMessage());
    }

    private record Segment(int type, long offset, long vaddr, long filesz) {
    }

    private record Section(int type, long offset, long size, long addr, long entsize) {
    }

    private static final class Parser {
        private final Source src;
        private final String name;
        private final long size;
        private boolean is64;
        private ByteOrder order = ByteOrder.LITTLE_ENDIAN;
        private final List<Segment> loads = new ArrayList<>();
        private Window w;
        private byte[] dynstr;
        private long nameBytes;

        // The dynamic entries bypass uses: the first of each, and all of the repeatable ones. Values are
        // unsigned (a hostile 64-bit one may read negative), so absence has its own marker.
        private long strtab = NONE, strsz = NONE, symtab = NONE, syment = NONE, hash = NONE, gnuHash = NONE,
                versym = NONE, verdef = NONE, verdefnum = 0, verneed = NONE, verneednum = 0, soname = NONE;
        private final List<Long> neededOffsets = new ArrayList<>();
        private boolean bindNow;
        private final List<Long> rpathOffsets = new ArrayList<>();
        private final List<Long> runpathOffsets = new ArrayList<>();

        /** Version index (hidden bit masked) to name; grown as indexes are seen. */
        private String[] versionNames = new String[16];

        Parser(Source src, String name) throws IOException {
            this.src = src;
            this.name = name;
            this.size = src.size();
        }

        private BypassException bad(String what) {
            return fail(name, what);
        }

        /**
         * A reusable read-ahead buffer over the file: the small fields of headers, version chains
         * and symbol entries are read through it, a few syscalls per table instead of one per field.
         */
        private final class Window {
            private final ByteBuffer buf;
            private long start;
            private int len;

            Window(int capacity) {
                buf = ByteBuffer.allocate(capacity).order(order);
            }

            private int at(long off, int n, String what) throws IOException {
                if (off < 0 || off > size - n) {
                    throw bad("truncated or malformed ELF file (" + what + " lies outside the file)");
                }
                if (off < start || off + n > start + len) {
                    int want = (int) Math.min(buf.capacity(), size - off);
                    buf.clear().limit(want);
                    long pos = off;
                    while (buf.hasRemaining()) {
                        int r = src.read(buf, pos);
                        if (r <= 0) {
                            len = 0;
                            throw bad("truncated ELF file (" + what + ")");
                        }
                        pos += r;
                    }
                    start = off;
                    len = want;
                }
                return (int) (off - start);
            }

            int u8(long off, String what) throws IOException {
                return Byte.toUnsignedInt(buf.get(at(off, 1, what)));
            }

            int u16(long off, String what) throws IOException {
                return Short.toUnsignedInt(buf.getShort(at(off, 2, what)));
            }

            long u32(long off, String what) throws IOException {
                return Integer.toUnsignedLong(buf.getInt(at(off, 4, what)));
            }

            /** An unsigned address, offset or size of the file's class; a 64-bit one above 2^63 reads negative. */
            long word(long off, String what) throws IOException {
                return is64 ? buf.getLong(at(off, 8, what)) : Integer.toUnsignedLong(buf.getInt(at(off, 4, what)));
            }

            /** A signed word (d_tag). */
            long sword(long off, String what) throws IOException {
                return is64 ? buf.getLong(at(off, 8, what)) : buf.getInt(at(off, 4, what));
            }
        }

        /** Reads a whole table into memory; only for tables needing random access (strings, PT_INTERP). */
        private byte[] readBytes(long offset, long length, String what) throws IOException {
            if (length > MAX_TABLE_BYTES) {
                throw bad("malformed ELF file (" + what + " of " + length + " bytes)");
            }
            if (offset < 0 || length < 0 || offset > size || length > size - offset) {
                throw bad("truncated or malformed ELF file (" + what + " lies outside the file)");
            }
            ByteBuffer b = ByteBuffer.allocate((int) length);
            long pos = offset;
            while (b.hasRemaining()) {
                int n = src.read(b, pos);
                if (n <= 0) {
                    throw bad("truncated ELF file (" + what + ")");
                }
                pos += n;
            }
            return b.array();
        }

        private String elfClass() {
            return is64 ? "ELF64" : "ELF32";
        }

        private String byteOrder() {
            return order == ByteOrder.LITTLE_ENDIAN ? "LSB" : "MSB";
        }

        ElfFacts parse(Predicate<ElfFacts> wantSymbols) throws IOException {
            w = new Window(4096);
            if (size < 4 || w.u8(0, "ELF magic") != 0x7f || w.u8(1, "ELF magic") != 'E' || w.u8(2, "ELF magic") != 'L'
                    || w.u8(3, "ELF magic") != 'F') {
                throw bad("not an ELF file");
            }
            if (size < 16) {
                throw bad("truncated ELF file (" + size + " bytes)");
            }
            int cls = w.u8(4, "ELF identification");
            int data = w.u8(5, "ELF identification");
            if (cls != 1 && cls != 2) {
                throw bad("malformed ELF file (unknown ELF class " + cls + ")");
            }
            if (data != 1 && data != 2) {
                throw bad("malformed ELF file (unknown byte order " + data + ")");
            }
            is64 = cls == 2;
            order = data == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
            w.buf.order(order);
            int ehsize = is64 ? 64 : 52;
            if (size < ehsize) {
                throw bad("truncated ELF file (" + size + " bytes, shorter than the ELF header)");
            }
            int type = w.u16(16, "ELF header");
            int machine = w.u16(18, "ELF header");
            long phoff = w.word(is64 ? 32 : 28, "ELF header");
            long shoff = w.word(is64 ? 40 : 32, "ELF header");
            int at = is64 ? 54 : 42;
            int phentsize = w.u16(at, "ELF header");
            int phnum = w.u16(at + 2, "ELF header");
            int shentsize = w.u16(at + 4, "ELF header");
            int shnum = w.u16(at + 6, "ELF header");

            Segment dynSeg = null;
            String interp = null;
            for (Segment s : programHeaders(phoff, phentsize, phnum)) {
                if (s.type() == PT_LOAD) {
                    loads.add(s);
                } else if (s.type() == PT_INTERP && interp == null) {
                    byte[] b = readBytes(s.offset(), Math.min(s.filesz(), MAX_INTERP), "PT_INTERP");
                    interp = string(b, 0, "PT_INTERP");
                } else if (s.type() == PT_DYNAMIC && dynSeg == null) {
                    dynSeg = s;
                }
            }
            Section dynSec = null;
            Section dynsymSec = null;
            for (Section s : sectionHeaders(shoff, shentsize, shnum)) {
                if (s.type() == SHT_DYNAMIC && dynSec == null) {
                    dynSec = s;
                } else if (s.type() == SHT_DYNSYM && dynsymSec == null) {
                    dynsymSec = s;
                }
            }

            // The loader reads PT_DYNAMIC; the section is only a fallback for files without segments.
            if (dynSeg != null) {
                dynamic(dynSeg.offset(), dynSeg.filesz());
            } else if (dynSec != null) {
                dynamic(dynSec.offset(), dynSec.size());
            } else {
                // A static executable or an object file: no dynamic facts.
                return new ElfFacts(elfClass(), byteOrder(), machineName(machine), typeName(type), interp, null,
                        List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
            }

            if (strtab != NONE && strsz != NONE) {
                dynstr = readBytes(offsetOf(strtab, "DT_STRTAB"), strsz, "dynamic string table");
            } else if (strtab != NONE || strsz != NONE) {
                throw bad("malformed ELF file (DT_STRTAB without DT_STRSZ or the reverse)");
            }
            List<String> needed = new ArrayList<>(neededOffsets.size());
            for (long v : neededOffsets) {
                needed.add(dynString(v, "DT_NEEDED"));
            }
            String so = soname == NONE ? null : dynString(soname, "DT_SONAME");
            List<String> rpath = new ArrayList<>();
            for (long v : rpathOffsets) {
                split(dynString(v, "DT_RPATH"), rpath);
            }
            List<String> runpath = new ArrayList<>();
            for (long v : runpathOffsets) {
                split(dynString(v, "DT_RUNPATH"), runpath);
            }
            List<String> definitions = new ArrayList<>();
            if (verdef != NONE) {
                verdefs(offsetOf(verdef, "DT_VERDEF"), verdefnum, definitions);
            }
            List<ElfFacts.VersionRequirement> requirements = new ArrayList<>();
            if (verneed != NONE) {
                verneeds(offsetOf(verneed, "DT_VERNEED"), verneednum, requirements);
            }

            ElfFacts withoutSymbols = new ElfFacts(elfClass(), byteOrder(), machineName(machine), typeName(type), interp, so,
                    needed, rpath, runpath, definitions, requirements, List.of(), List.of(), bindNow);
            if (!wantSymbols.test(withoutSymbols)) {
                return withoutSymbols;
            }
            int entsize = is64 ? 24 : 16;
            if (syment != NONE && syment != entsize) {
                throw bad("malformed ELF file (symbol entry size " + Long.toUnsignedString(syment) + ")");
            }
            long symOff;
            long count;
            if (symtab != NONE) {
                symOff = offsetOf(symtab, "DT_SYMTAB");
                // The section gives the exact count, but only if it describes the table the loader uses.
                boolean sectionAgrees = dynsymSec != null && dynsymSec.addr() == symtab
                        && (dynsymSec.entsize() == entsize || dynsymSec.entsize() == 0);
                count = sectionAgrees ? Long.divideUnsigned(dynsymSec.size(), entsize) : symbolCount();
            } else if (dynsymSec != null) {
                symOff = dynsymSec.offset();
                count = Long.divideUnsigned(dynsymSec.size(), entsize);
            } else {
                return withoutSymbols;
            }
            if (count > MAX_SYMBOLS) {
                throw bad("malformed ELF file (" + count + " dynamic symbols)");
            }
            List<ElfFacts.DynamicSymbol> defined = new ArrayList<>();
            List<ElfFacts.DynamicSymbol> undefined = new ArrayList<>();
            symbols(symOff, (int) count, versym == NONE ? -1 : offsetOf(versym, "DT_VERSYM"), defined, undefined);
            return new ElfFacts(elfClass(), byteOrder(), machineName(machine), typeName(type), interp, so, needed, rpath,
                    runpath, definitions, requirements, defined, undefined, bindNow);
        }

        private List<Segment> programHeaders(long phoff, int phentsize, int phnum) throws IOException {
            List<Segment> out = new ArrayList<>();
            if (phnum == 0 || phoff == 0) {
                return out;
            }
            if (phentsize < (is64 ? 56 : 32)) {
                throw bad("malformed ELF file (program header entry size " + phentsize + ")");
            }
            if (phnum > MAX_PHNUM) {
                throw bad("malformed ELF file (" + phnum + " program headers)");
            }
            long bytes = (long) phentsize * phnum;
            if (phoff < 0 || phoff > size || bytes > size - phoff) {
                throw bad("truncated or malformed ELF file (program header table lies outside the file)");
            }
            for (int i = 0; i < phnum; i++) {
                long p = phoff + (long) i * phentsize;
                int type = (int) w.u32(p, "program header");
                if (is64) {
                    out.add(new Segment(type, w.word(p + 8, "program header"), w.word(p + 16, "program header"),
                            w.word(p + 32, "program header")));
                } else {
                    out.add(new Segment(type, w.word(p + 4, "program header"), w.word(p + 8, "program header"),
                            w.word(p + 16, "program header")));
                }
            }
            return out;
        }

        /** Section headers are optional for loading: a table that is absent, cut off or invalid is ignored. */
        private List<Section> sectionHeaders(long shoff, int shentsize, int shnum) throws IOException {
            List<Section> out = new ArrayList<>();
            if (shoff <= 0 || shentsize < (is64 ? 64 : 40) || shoff > size - shentsize) {
                return out;
            }
            long count = shnum;
            if (count == 0) {
                // Extended numbering (65280 sections or more): the count is section 0's sh_size.
                count = w.word(shoff + (is64 ? 32 : 20), "section header");
            }
            if (count <= 0 || count > MAX_SHNUM || count * shentsize > size - shoff) {
                return out;
            }
            for (long i = 0; i < count; i++) {
                long p = shoff + i * shentsize;
                int type = (int) w.u32(p + 4, "section header");
                if (type != SHT_DYNAMIC && type != SHT_DYNSYM) {
                    continue;
                }
                if (is64) {
                    out.add(new Section(type, w.word(p + 24, "section header"), w.word(p + 32, "section header"),
                            w.word(p + 16, "section header"), w.word(p + 56, "section header")));
                } else {
                    out.add(new Section(type, w.word(p + 16, "section header"), w.word(p + 20, "section header"),
                            w.word(p + 12, "section header"), w.word(p + 36, "section header")));
                }
            }
            return out;
        }

        private void dynamic(long off, long length) throws IOException {
            int entry = is64 ? 16 : 8;
            long n = Long.divideUnsigned(length, entry);
            for (long i = 0; i < n; i++) {
                if (i == MAX_DYNAMIC) {
                    throw bad("malformed ELF file (more than " + MAX_DYNAMIC + " dynamic entries)");
                }
                long p = off + i * entry;
                long tag = w.sword(p, "dynamic section");
                long val = w.word(p + entry / 2, "dynamic section");
                if (tag == DT_NULL) {
                    return;
                }
                if (tag == DT_BIND_NOW || (tag == DT_FLAGS && (val & DF_BIND_NOW) != 0)
                        || (tag == DT_FLAGS_1 && (val & DF_1_NOW) != 0)) {
                    bindNow = true;
                }
                if (tag == DT_NEEDED) {
                    neededOffsets.add(val);
                } else if (tag == DT_RPATH) {
                    rpathOffsets.add(val);
                } else if (tag == DT_RUNPATH) {
                    runpathOffsets.add(val);
                } else if (tag == DT_SONAME && soname == NONE) {
                    soname = val;
                } else if (tag == DT_STRTAB && strtab == NONE) {
                    strtab = val;
                } else if (tag == DT_STRSZ && strsz == NONE) {
                    strsz = val;
                } else if (tag == DT_SYMTAB && symtab == NONE) {
                    symtab = val;
                } else if (tag == DT_SYMENT && syment == NONE) {
                    syment = val;
                } else if (tag == DT_HASH && hash == NONE) {
                    hash = val;
                } else if (tag == DT_GNU_HASH && gnuHash == NONE) {
                    gnuHash = val;
                } else if (tag == DT_VERSYM && versym == NONE) {
                    versym = val;
                } else if (tag == DT_VERDEF && verdef == NONE) {
                    verdef = val;
                } else if (tag == DT_VERDEFNUM) {
                    verdefnum = val;
                } else if (tag == DT_VERNEED && verneed == NONE) {
                    verneed = val;
                } else if (tag == DT_VERNEEDNUM) {
                    verneednum = val;
                }
            }
            // No DT_NULL within the table: tolerated, as its size bounds it anyway.
        }

        /** Dynamic-section addresses are virtual: map them to file offsets through PT_LOAD. */
        private long offsetOf(long vaddr, String what) {
            for (Segment s : loads) {
                long delta = vaddr - s.vaddr();
                if (Long.compareUnsigned(vaddr, s.vaddr()) >= 0 && Long.compareUnsigned(delta, s.filesz()) < 0
                        && s.offset() >= 0 && s.offset() + delta >= 0 && s.offset() + delta < size) {
                    return s.offset() + delta;
                }
            }
            if (loads.isEmpty() && vaddr >= 0 && vaddr < size) {
                // No segments to map through (an odd object file): addresses are file offsets.
                return vaddr;
            }
            throw bad("malformed ELF file (" + what + " address 0x" + Long.toHexString(vaddr)
                    + " is in no loaded part of the file)");
        }

        private String dynString(long offset, String what) {
            if (dynstr == null) {
                throw bad("malformed ELF file (" + what + " without a dynamic string table)");
            }
            if (offset < 0 || offset >= dynstr.length) {
                throw bad("malformed ELF file (" + what + " string offset " + Long.toUnsignedString(offset)
                        + " outside the dynamic string table)");
            }
            return string(dynstr, (int) offset, what);
        }

        /** A NUL-terminated string; one running off the end of its table ends there. */
        private String string(byte[] table, int offset, String what) {
            int end = offset;
            int limit = (int) Math.min(table.length, (long) offset + MAX_STRING);
            while (end < limit && table[end] != 0) {
                end++;
            }
            if (end == limit && end < table.length) {
                throw bad("malformed ELF file (" + what + " string longer than " + MAX_STRING + " bytes)");
            }
            return new String(table, offset, end - offset, StandardCharsets.UTF_8);
        }

        /** Splits a search path on ':'; empty elements are dropped (bypass never searches the working directory). */
        private static void split(String paths, List<String> out) {
            int from = 0;
            while (from <= paths.length()) {
                int colon = paths.indexOf(':', from);
                int to = colon < 0 ? paths.length() : colon;
                if (to > from) {
                    out.add(paths.substring(from, to));
                }
                from = to + 1;
            }
        }

        private void setVersionName(int index, String versionName) {
            if (index > MAX_VERSION_INDEX) {
                return;
            }
            if (index >= versionNames.length) {
                versionNames = Arrays.copyOf(versionNames, Math.min(MAX_VERSION_INDEX + 1,
                        Math.max(index + 1, versionNames.length * 2)));
            }
            if (versionNames[index] == null) {
                versionNames[index] = versionName;
            }
        }

        /**
         * Elf_Verdef chain. vd_next and vda_name offsets are unsigned, so the chain only moves
         * forward; the count and the file's end bound it.
         */
        private void verdefs(long off, long count, List<String> out) throws IOException {
            if (count < 0 || count > MAX_VERSION_ENTRIES) {
                throw bad("malformed ELF file (" + Long.toUnsignedString(count) + " version definitions)");
            }
            long pos = off;
            for (long i = 0; i < count; i++) {
                int flags = w.u16(pos + 2, "version definition");
                int ndx = w.u16(pos + 4, "version definition") & MAX_VERSION_INDEX;
                int cnt = w.u16(pos + 6, "version definition");
                long aux = w.u32(pos + 12, "version definition");
                long next = w.u32(pos + 16, "version definition");
                if (cnt > 0) {
                    // The first Elf_Verdaux names the version; the others name its parents.
                    String v = dynString(w.u32(pos + aux, "version definition name"), "version definition");
                    setVersionName(ndx, v);
                    if ((flags & VER_FLG_BASE) == 0 && !out.contains(v)) {
                        out.add(v);
                    }
                }
                if (next == 0) {
                    break;
                }
                pos += next;
            }
        }

        /** Elf_Verneed chain with its Elf_Vernaux lists; forward-only like the definitions, and capped in total. */
        private void verneeds(long off, long count, List<ElfFacts.VersionRequirement> out) throws IOException {
            if (count < 0 || count > MAX_VERSION_ENTRIES) {
                throw bad("malformed ELF file (" + Long.toUnsignedString(count) + " version requirements)");
            }
            long pos = off;
            int budget = MAX_VERSION_ENTRIES;
            for (long i = 0; i < count; i++) {
                int cnt = w.u16(pos + 2, "version requirement");
                String file = dynString(w.u32(pos + 4, "version requirement"), "version requirement");
                long aux = w.u32(pos + 8, "version requirement");
                long next = w.u32(pos + 12, "version requirement");
                List<String> versions = new ArrayList<>(cnt);
                long apos = pos + aux;
                for (int k = 0; k < cnt; k++) {
                    if (--budget < 0) {
                        throw bad("malformed ELF file (more than " + MAX_VERSION_ENTRIES + " version requirements)");
                    }
                    int other = w.u16(apos + 6, "version requirement entry");
                    String v = dynString(w.u32(apos + 8, "version requirement entry"), "version requirement");
                    long anext = w.u32(apos + 12, "version requirement entry");
                    setVersionName(other & MAX_VERSION_INDEX, v);
                    if (!versions.contains(v)) {
                        versions.add(v);
                    }
                    if (anext == 0) {
                        break;
                    }
                    apos += anext;
                }
                out.add(new ElfFacts.VersionRequirement(file, versions));
                if (next == 0) {
                    break;
                }
                pos += next;
            }
        }

        /** The number of dynamic symbols without (agreeing) section headers: from the hash tables, as the loader sees them. */
        private long symbolCount() throws IOException {
            if (hash != NONE) {
                return w.u32(offsetOf(hash, "DT_HASH") + 4, "hash table");
            }
            if (gnuHash == NONE) {
                return 0;
            }
            // DT_GNU_HASH has no count: it is one past the last symbol of the longest-indexed chain.
            long off = offsetOf(gnuHash, "DT_GNU_HASH");
            long nbuckets = w.u32(off, "GNU hash table");
            long symoffset = w.u32(off + 4, "GNU hash table");
            long bloomSize = w.u32(off + 8, "GNU hash table");
            if (nbuckets > MAX_SYMBOLS || bloomSize > MAX_SYMBOLS) {
                throw bad("malformed ELF file (GNU hash table of " + nbuckets + " buckets)");
            }
            long bucketsOff = off + 16 + bloomSize * (is64 ? 8 : 4);
            if (bucketsOff > size || nbuckets * 4 > size - bucketsOff) {
                throw bad("truncated or malformed ELF file (GNU hash buckets lie outside the file)");
            }
            long max = 0;
            for (long i = 0; i < nbuckets; i++) {
                max = Math.max(max, w.u32(bucketsOff + i * 4, "GNU hash buckets"));
            }
            if (max < symoffset) {
                return symoffset;
            }
            long chainOff = bucketsOff + nbuckets * 4;
            for (long idx = max; idx - symoffset < MAX_SYMBOLS; idx++) {
                if ((w.u32(chainOff + (idx - symoffset) * 4, "GNU hash chain") & 1) != 0) {
                    return idx + 1;
                }
            }
            throw bad("malformed ELF file (GNU hash chain without an end)");
        }

        private void symbols(long off, int count, long versymOff, List<ElfFacts.DynamicSymbol> defined,
                             List<ElfFacts.DynamicSymbol> undefined) throws IOException {
            int entsize = is64 ? 24 : 16;
            if (off < 0 || off > size || (long) count * entsize > size - off) {
                throw bad("truncated or malformed ELF file (dynamic symbol table lies outside the file)");
            }
            if (versymOff >= 0 && (versymOff > size || (long) count * 2 > size - versymOff)) {
                throw bad("truncated or malformed ELF file (symbol version table lies outside the file)");
            }
            // Separate windows: the symbol and version tables are read in step, far apart in the file.
            Window syms = new Window((int) Math.min(64 << 10, Math.max(64, (long) count * entsize)));
            Window vers = versymOff < 0 ? null : new Window((int) Math.min(16 << 10, Math.max(64, (long) count * 2)));
            int infoAt = is64 ? 4 : 12;
            for (int i = 1; i < count; i++) {
                long p = off + (long) i * entsize;
                int info = syms.u8(p + infoAt, "dynamic symbol");
                int bind = info >>> 4;
                if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE) {
                    continue;
                }
                int other = syms.u8(p + infoAt + 1, "dynamic symbol");
                int shndx = syms.u16(p + infoAt + 2, "dynamic symbol");
                int visibility = other & 3;
                if (shndx != 0 && visibility != STV_DEFAULT && visibility != STV_PROTECTED) {
                    continue;
                }
                long nameOff = syms.u32(p, "dynamic symbol");
                if (nameOff == 0) {
                    continue;
                }
                String symName = dynString(nameOff, "symbol name");
                if (symName.isEmpty()) {
                    continue;
                }
                nameBytes += symName.length();
                if (nameBytes > MAX_NAME_BYTES) {
                    throw bad("malformed ELF file (symbol names total more than " + (MAX_NAME_BYTES >> 20) + " MiB)");
                }
                String version = null;
                if (vers != null) {
                    // Bit 15 hides a non-default version; 0 and 1 are "local" and "global", unversioned.
                    int v = vers.u16(versymOff + (long) i * 2, "symbol version") & MAX_VERSION_INDEX;
                    if (v > 1 && v < versionNames.length) {
                        version = versionNames[v];
                    }
                }
                ElfFacts.DynamicSymbol sym = new ElfFacts.DynamicSymbol(symName, version, bindingName(bind), kindName(info & 0xf));
                if (shndx == 0) {
                    undefined.add(sym);
                } else {
                    defined.add(sym);
                }
            }
        }
    }

    static String bindingName(int bind) {
        return switch (bind) {
            case 1 -> "GLOBAL";
            case 2 -> "WEAK";
            case 10 -> "GNU_UNIQUE";
            default -> "BIND_" + bind;
        };
    }

    static String kindName(int type) {
        return switch (type) {
            case 0 -> "NOTYPE";
            case 1 -> "OBJECT";
            case 2 -> "FUNC";
            case 3 -> "SECTION";
            case 4 -> "FILE";
            case 5 -> "COMMON";
            case 6 -> "TLS";
            case 10 -> "IFUNC";
            default -> "TYPE_" + type;
        };
    }

    static String typeName(int type) {
        return switch (type) {
            case 1 -> "REL";
            case 2 -> "EXEC";
            case 3 -> "DYN";
            case 4 -> "CORE";
            default -> "ET_" + type;
        };
    }

    static String machineName(int machine) {
        return switch (machine) {
            case 62 -> "x86_64";
            case 3 -> "i386";
            case 183 -> "aarch64";
            case 40 -> "arm";
            case 21 -> "ppc64";
            case 20 -> "ppc";
            case 22 -> "s390x";
            case 243 -> "riscv";
            case 2, 18, 43 -> "sparc";
            case 8 -> "mips";
            case 258 -> "loongarch";
            default -> "EM_" + machine;
        };
    }
}
