package io.bypass.elf;

import io.bypass.BypassException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the dynamic-linking facts of an ELF file (ELF32/ELF64, either byte order) without mapping
 * or executing it: only the headers, the dynamic section, the dynamic string and symbol tables and
 * the GNU version tables are read, with positional reads whose offsets and sizes are all checked
 * against the file. Every problem becomes one {@link BypassException} naming the file.
 */
public final class ElfReader {
    private static final int MAX_PHNUM = 4096;
    private static final int MAX_SHNUM = 65536;
    private static final int MAX_DYNAMIC = 65536;
    private static final long MAX_TABLE_BYTES = 256L << 20;
    private static final int MAX_SYMBOLS = 4 << 20;
    private static final int MAX_VERSION_ENTRIES = 65536;
    private static final int MAX_STRING = 64 << 10;

    private static final int PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
    private static final int SHT_DYNAMIC = 6, SHT_DYNSYM = 11;
    private static final long DT_NULL = 0, DT_NEEDED = 1, DT_HASH = 4, DT_STRTAB = 5, DT_SYMTAB = 6, DT_STRSZ = 10,
            DT_SYMENT = 11, DT_SONAME = 14, DT_RPATH = 15, DT_RUNPATH = 29, DT_GNU_HASH = 0x6ffffef5L,
            DT_VERSYM = 0x6ffffff0L, DT_VERDEF = 0x6ffffffcL, DT_VERDEFNUM = 0x6ffffffdL, DT_VERNEED = 0x6ffffffeL,
            DT_VERNEEDNUM = 0x6fffffffL;
    private static final int VER_FLG_BASE = 1;

    private ElfReader() {
    }

    /** Cheap check: a regular file whose first bytes are the ELF magic. Never throws. */
    public static boolean isElf(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile() || a.size() < 4) {
                return false;
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer b = ByteBuffer.allocate(4);
                while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                    // Keep reading until 4 bytes or EOF.
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

    /** Reads a regular file; symlinks, FIFOs, devices and directories are refused without opening them. */
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
    public static ElfFacts read(Path file, String displayName, java.util.function.Predicate<ElfFacts> symbols) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(displayName + ": no such file");
        } catch (IOException e) {
            throw BypassException.badInput(displayName + ": cannot read: " + e.getMessage());
        }
        if (a.isSymbolicLink()) {
            throw BypassException.badInput(displayName + ": is a symbolic link, not an ELF file");
        }
        if (!a.isRegularFile()) {
            throw BypassException.badInput(displayName + ": not a regular file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            return read(source(ch), displayName, symbols);
        } catch (IOException e) {
            throw BypassException.badInput(displayName + ": cannot read: " + e.getMessage());
        }
    }

    public static ElfFacts read(FileChannel ch, String displayName) {
        return read(source(ch), displayName, true);
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
        }, displayName, true);
    }

    /** Where the bytes come from: positional reads, so the parser never holds the whole file. */
    interface Source {
        long size() throws IOException;

        int read(ByteBuffer dst, long position) throws IOException;
    }

    private static ElfFacts read(Source source, String displayName, boolean symbols) {
        return read(source, displayName, facts -> symbols);
    }

    private static ElfFacts read(Source source, String displayName, java.util.function.Predicate<ElfFacts> symbols) {
        try {
            return new Parser(source, displayName, symbols).parse();
        } catch (IOException e) {
            throw BypassException.badInput(displayName + ": cannot read: " + e.getMessage());
        } catch (BypassException e) {
            throw e;
        } catch (RuntimeException | OutOfMemoryError e) {
            // A defect of ours on a hostile file must still be one line naming the file.
            throw BypassException.badInput(displayName + ": malformed ELF file (" + e.getClass().getSimpleName() + ")");
        }
    }

    private record Segment(int type, long offset, long vaddr, long filesz, long memsz) {
    }

    private record Section(int type, long offset, long size, int link, long entsize, long addr) {
    }

    private static final class Parser {
        private final Source ch;
        private final String name;
        private final long size;
        private boolean is64;
        private ByteOrder order;
        private final List<Segment> loads = new ArrayList<>();

        private final java.util.function.Predicate<ElfFacts> wantSymbols;

        Parser(Source ch, String name, java.util.function.Predicate<ElfFacts> wantSymbols) throws IOException {
            this.wantSymbols = wantSymbols;
            this.ch = ch;
            this.name = name;
            this.size = ch.size();
        }

        private BypassException bad(String what) {
            return BypassException.badInput(name + ": " + what);
        }

        private ByteBuffer read(long offset, long length, String what) throws IOException {
            if (offset < 0 || length < 0 || length > MAX_TABLE_BYTES || offset > size || length > size - offset) {
                throw bad("truncated or malformed ELF file (" + what + " lies outside the file)");
            }
            ByteBuffer b = ByteBuffer.allocate((int) length).order(order == null ? ByteOrder.LITTLE_ENDIAN : order);
            long pos = offset;
            while (b.hasRemaining()) {
                int n = ch.read(b, pos);
                if (n <= 0) {
                    throw bad("truncated ELF file (" + what + ")");
                }
                pos += n;
            }
            return b.flip();
        }

        private long word(ByteBuffer b) {
            return is64 ? b.getLong() : Integer.toUnsignedLong(b.getInt());
        }

        ElfFacts parse() throws IOException {
            if (size < 16) {
                throw bad("not an ELF file (" + size + " bytes)");
            }
            ByteBuffer ident = read(0, 16, "ELF identification");
            if (ident.get(0) != 0x7f || ident.get(1) != 'E' || ident.get(2) != 'L' || ident.get(3) != 'F') {
                throw bad("not an ELF file");
            }
            int cls = ident.get(4);
            int data = ident.get(5);
            if (cls != 1 && cls != 2) {
                throw bad("unknown ELF class " + cls);
            }
            if (data != 1 && data != 2) {
                throw bad("unknown ELF byte order " + data);
            }
            is64 = cls == 2;
            order = data == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
            ByteBuffer h = read(16, is64 ? 48 : 36, "ELF header");
            int type = Short.toUnsignedInt(h.getShort());
            int machine = Short.toUnsignedInt(h.getShort());
            h.getInt();
            word(h);
            long phoff = word(h);
            long shoff = word(h);
            h.getInt();
            h.getShort();
            int phentsize = Short.toUnsignedInt(h.getShort());
            int phnum = Short.toUnsignedInt(h.getShort());
            int shentsize = Short.toUnsignedInt(h.getShort());
            int shnum = Short.toUnsignedInt(h.getShort());

            List<Segment> segments = programHeaders(phoff, phentsize, phnum);
            String interp = null;
            Segment dynSeg = null;
            for (Segment s : segments) {
                if (s.type() == PT_LOAD) {
                    loads.add(s);
                } else if (s.type() == PT_INTERP && interp == null) {
                    interp = string(read(s.offset(), Math.min(s.filesz(), 4096), "PT_INTERP").array(), 0);
                } else if (s.type() == PT_DYNAMIC && dynSeg == null) {
                    dynSeg = s;
                }
            }
            List<Section> sections = sectionHeaders(shoff, shentsize, shnum);
            Section dynSec = null;
            Section dynsymSec = null;
            for (Section s : sections) {
                if (s.type() == SHT_DYNAMIC && dynSec == null) {
                    dynSec = s;
                } else if (s.type() == SHT_DYNSYM && dynsymSec == null) {
                    dynsymSec = s;
                }
            }

            long dynOff;
            long dynSize;
            if (dynSec != null) {
                dynOff = dynSec.offset();
                dynSize = dynSec.size();
            } else if (dynSeg != null) {
                dynOff = dynSeg.offset();
                dynSize = dynSeg.filesz();
            } else {
                // A static executable or an object file: no dynamic facts.
                return new ElfFacts(is64 ? "ELF64" : "ELF32", data == 1 ? "LSB" : "MSB", machineName(machine), typeName(type),
                        interp, null, List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
            }
            Map<Long, List<Long>> dyn = dynamic(dynOff, dynSize);

            long strtab = first(dyn, DT_STRTAB, -1);
            long strsz = first(dyn, DT_STRSZ, -1);
            if (strtab < 0 || strsz < 0) {
                throw bad("malformed ELF file (dynamic section without DT_STRTAB/DT_STRSZ)");
            }
            if (strsz > MAX_TABLE_BYTES) {
                throw bad("malformed ELF file (dynamic string table of " + strsz + " bytes)");
            }
            byte[] dynstr = read(offsetOf(strtab, "DT_STRTAB"), strsz, "dynamic string table").array();

            String soname = null;
            List<String> needed = new ArrayList<>();
            List<String> rpath = new ArrayList<>();
            List<String> runpath = new ArrayList<>();
            for (long v : dyn.getOrDefault(DT_NEEDED, List.of())) {
                needed.add(string(dynstr, v));
            }
            if (dyn.containsKey(DT_SONAME)) {
                soname = string(dynstr, dyn.get(DT_SONAME).get(0));
            }
            for (long v : dyn.getOrDefault(DT_RPATH, List.of())) {
                split(string(dynstr, v), rpath);
            }
            for (long v : dyn.getOrDefault(DT_RUNPATH, List.of())) {
                split(string(dynstr, v), runpath);
            }

            // Version definitions: index -> name.
            Map<Integer, String> versionNames = new HashMap<>();
            List<String> definitions = new ArrayList<>();
            long verdef = first(dyn, DT_VERDEF, -1);
            if (verdef >= 0) {
                verdefs(offsetOf(verdef, "DT_VERDEF"), first(dyn, DT_VERDEFNUM, 0), dynstr, versionNames, definitions);
            }
            List<ElfFacts.VersionRequirement> requirements = new ArrayList<>();
            long verneed = first(dyn, DT_VERNEED, -1);
            if (verneed >= 0) {
                verneeds(offsetOf(verneed, "DT_VERNEED"), first(dyn, DT_VERNEEDNUM, 0), dynstr, versionNames, requirements);
            }

            List<ElfFacts.DynamicSymbol> defined = new ArrayList<>();
            List<ElfFacts.DynamicSymbol> undefined = new ArrayList<>();
            long symtab = first(dyn, DT_SYMTAB, -1);
            ElfFacts withoutSymbols = new ElfFacts(is64 ? "ELF64" : "ELF32", data == 1 ? "LSB" : "MSB", machineName(machine),
                    typeName(type), interp, soname, needed, rpath, runpath, definitions, requirements, List.of(), List.of());
            if (!wantSymbols.test(withoutSymbols)) {
                return withoutSymbols;
            }
            if (symtab >= 0 || dynsymSec != null) {
                long symOff = dynsymSec != null ? dynsymSec.offset() : offsetOf(symtab, "DT_SYMTAB");
                long entsize = first(dyn, DT_SYMENT, is64 ? 24 : 16);
                if (entsize != (is64 ? 24 : 16)) {
                    throw bad("malformed ELF file (symbol entry size " + entsize + ")");
                }
                long count = dynsymSec != null ? dynsymSec.size() / entsize : symbolCount(dyn);
                if (count > MAX_SYMBOLS) {
                    throw bad("malformed ELF file (" + count + " dynamic symbols)");
                }
                long versym = first(dyn, DT_VERSYM, -1);
                symbols(symOff, (int) count, versym < 0 ? -1 : offsetOf(versym, "DT_VERSYM"), dynstr, versionNames, defined,
                        undefined);
            }
            return new ElfFacts(is64 ? "ELF64" : "ELF32", data == 1 ? "LSB" : "MSB", machineName(machine), typeName(type),
                    interp, soname, needed, rpath, runpath, definitions, requirements, defined, undefined);
        }

        private List<Segment> programHeaders(long phoff, int phentsize, int phnum) throws IOException {
            List<Segment> out = new ArrayList<>();
            if (phnum == 0 || phoff == 0) {
                return out;
            }
            int expected = is64 ? 56 : 32;
            if (phentsize < expected || phnum > MAX_PHNUM) {
                throw bad("malformed ELF file (program header table)");
            }
            ByteBuffer b = read(phoff, (long) phentsize * phnum, "program header table");
            for (int i = 0; i < phnum; i++) {
                b.position(i * phentsize);
                int type = b.getInt();
                long offset;
                long vaddr;
                long filesz;
                long memsz;
                if (is64) {
                    b.getInt();
                    offset = b.getLong();
                    vaddr = b.getLong();
                    b.getLong();
                    filesz = b.getLong();
                    memsz = b.getLong();
                } else {
                    offset = Integer.toUnsignedLong(b.getInt());
                    vaddr = Integer.toUnsignedLong(b.getInt());
                    b.getInt();
                    filesz = Integer.toUnsignedLong(b.getInt());
                    memsz = Integer.toUnsignedLong(b.getInt());
                }
                out.add(new Segment(type, offset, vaddr, filesz, memsz));
            }
            return out;
        }

        private List<Section> sectionHeaders(long shoff, int shentsize, int shnum) throws IOException {
            List<Section> out = new ArrayList<>();
            if (shnum == 0 || shoff == 0) {
                return out;
            }
            int expected = is64 ? 64 : 40;
            if (shentsize < expected || shnum > MAX_SHNUM) {
                throw bad("malformed ELF file (section header table)");
            }
            if (shoff > size || (long) shentsize * shnum > size - shoff) {
                // Section headers are optional for loading; a file cut after its segments still loads.
                return out;
            }
            ByteBuffer b = read(shoff, (long) shentsize * shnum, "section header table");
            for (int i = 0; i < shnum; i++) {
                b.position(i * shentsize);
                b.getInt();
                int type = b.getInt();
                word(b);
                long addr = word(b);
                long offset = word(b);
                long sz = word(b);
                int link = b.getInt();
                b.getInt();
                word(b);
                long entsize = word(b);
                out.add(new Section(type, offset, sz, link, entsize, addr));
            }
            return out;
        }

        private Map<Long, List<Long>> dynamic(long off, long length) throws IOException {
            int entry = is64 ? 16 : 8;
            long n = length / entry;
            if (n > MAX_DYNAMIC) {
                throw bad("malformed ELF file (" + n + " dynamic entries)");
            }
            ByteBuffer b = read(off, n * entry, "dynamic section");
            Map<Long, List<Long>> out = new LinkedHashMap<>();
            for (long i = 0; i < n; i++) {
                long tag = is64 ? b.getLong() : b.getInt();
                long val = word(b);
                if (tag == DT_NULL) {
                    break;
                }
                out.computeIfAbsent(tag, k -> new ArrayList<>()).add(val);
            }
            return out;
        }

        private static long first(Map<Long, List<Long>> dyn, long tag, long dflt) {
            List<Long> v = dyn.get(tag);
            return v == null || v.isEmpty() ? dflt : v.get(0);
        }

        /** Dynamic-section addresses are virtual: map them to file offsets through PT_LOAD. */
        private long offsetOf(long vaddr, String what) {
            for (Segment s : loads) {
                if (vaddr >= s.vaddr() && vaddr - s.vaddr() < s.filesz()) {
                    return s.offset() + (vaddr - s.vaddr());
                }
            }
            if (loads.isEmpty() && vaddr >= 0 && vaddr < size) {
                return vaddr;
            }
            throw bad("malformed ELF file (" + what + " address 0x" + Long.toHexString(vaddr) + " is in no loaded segment)");
        }

        private String string(byte[] table, long offset) {
            if (offset < 0 || offset >= table.length) {
                throw bad("malformed ELF file (string offset " + offset + " outside the string table)");
            }
            return string(table, (int) offset);
        }

        private String string(byte[] table, int offset) {
            int end = offset;
            int limit = Math.min(table.length, offset + MAX_STRING);
            while (end < limit && table[end] != 0) {
                end++;
            }
            if (end == limit && end < table.length) {
                throw bad("malformed ELF file (string longer than " + MAX_STRING + " bytes)");
            }
            return new String(table, offset, end - offset, StandardCharsets.UTF_8);
        }

        private static void split(String paths, List<String> out) {
            for (String p : paths.split(":", -1)) {
                if (!p.isEmpty()) {
                    out.add(p);
                }
            }
        }

        private void verdefs(long off, long count, byte[] dynstr, Map<Integer, String> names, List<String> out)
                throws IOException {
            if (count < 0 || count > MAX_VERSION_ENTRIES) {
                throw bad("malformed ELF file (" + count + " version definitions)");
            }
            long pos = off;
            for (long i = 0; i < count; i++) {
                ByteBuffer b = read(pos, 20, "version definition");
                b.getShort();
                int flags = Short.toUnsignedInt(b.getShort());
                int ndx = Short.toUnsignedInt(b.getShort());
                int cnt = Short.toUnsignedInt(b.getShort());
                b.getInt();
                long aux = Integer.toUnsignedLong(b.getInt());
                long next = Integer.toUnsignedLong(b.getInt());
                if (cnt > 0) {
                    ByteBuffer a = read(pos + aux, 8, "version definition name");
                    String name = string(dynstr, Integer.toUnsignedLong(a.getInt()));
                    names.putIfAbsent(ndx & 0x7fff, name);
                    if ((flags & VER_FLG_BASE) == 0 && !out.contains(name)) {
                        out.add(name);
                    }
                }
                if (next == 0) {
                    break;
                }
                pos += next;
            }
        }

        private void verneeds(long off, long count, byte[] dynstr, Map<Integer, String> names,
                              List<ElfFacts.VersionRequirement> out) throws IOException {
            if (count < 0 || count > MAX_VERSION_ENTRIES) {
                throw bad("malformed ELF file (" + count + " version requirements)");
            }
            long pos = off;
            int budget = MAX_VERSION_ENTRIES;
            for (long i = 0; i < count; i++) {
                ByteBuffer b = read(pos, 16, "version requirement");
                b.getShort();
                int cnt = Short.toUnsignedInt(b.getShort());
                String file = string(dynstr, Integer.toUnsignedLong(b.getInt()));
                long aux = Integer.toUnsignedLong(b.getInt());
                long next = Integer.toUnsignedLong(b.getInt());
                List<String> versions = new ArrayList<>();
                long apos = pos + aux;
                for (int k = 0; k < cnt; k++) {
                    if (--budget < 0) {
                        throw bad("malformed ELF file (too many version requirements)");
                    }
                    ByteBuffer a = read(apos, 16, "version requirement entry");
                    a.getInt();
                    a.getShort();
                    int other = Short.toUnsignedInt(a.getShort());
                    String v = string(dynstr, Integer.toUnsignedLong(a.getInt()));
                    long anext = Integer.toUnsignedLong(a.getInt());
                    names.putIfAbsent(other & 0x7fff, v);
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

        /** The number of dynamic symbols when there are no section headers: from the hash tables. */
        private long symbolCount(Map<Long, List<Long>> dyn) throws IOException {
            long hash = first(dyn, DT_HASH, -1);
            if (hash >= 0) {
                ByteBuffer b = read(offsetOf(hash, "DT_HASH"), 8, "hash table");
                b.getInt();
                return Integer.toUnsignedLong(b.getInt());
            }
            long gnu = first(dyn, DT_GNU_HASH, -1);
            if (gnu < 0) {
                return 0;
            }
            long off = offsetOf(gnu, "DT_GNU_HASH");
            ByteBuffer h = read(off, 16, "GNU hash table");
            long nbuckets = Integer.toUnsignedLong(h.getInt());
            long symoffset = Integer.toUnsignedLong(h.getInt());
            long bloomSize = Integer.toUnsignedLong(h.getInt());
            if (nbuckets > MAX_SYMBOLS || bloomSize > MAX_SYMBOLS) {
                throw bad("malformed ELF file (GNU hash table)");
            }
            long bucketsOff = off + 16 + bloomSize * (is64 ? 8 : 4);
            ByteBuffer buckets = read(bucketsOff, nbuckets * 4, "GNU hash buckets");
            long max = 0;
            for (long i = 0; i < nbuckets; i++) {
                max = Math.max(max, Integer.toUnsignedLong(buckets.getInt()));
            }
            if (max < symoffset) {
                return symoffset;
            }
            long chainOff = bucketsOff + nbuckets * 4;
            long idx = max;
            while (true) {
                if (idx - symoffset > MAX_SYMBOLS) {
                    throw bad("malformed ELF file (GNU hash chain)");
                }
                ByteBuffer c = read(chainOff + (idx - symoffset) * 4, 4, "GNU hash chain");
                if ((c.getInt() & 1) != 0) {
                    return idx + 1;
                }
                idx++;
            }
        }

        private void symbols(long off, int count, long versymOff, byte[] dynstr, Map<Integer, String> versionNames,
                             List<ElfFacts.DynamicSymbol> defined, List<ElfFacts.DynamicSymbol> undefined) throws IOException {
            int entsize = is64 ? 24 : 16;
            ByteBuffer b = read(off, (long) count * entsize, "dynamic symbol table");
            ByteBuffer vs = versymOff < 0 ? null : read(versymOff, (long) count * 2, "symbol version table");
            for (int i = 1; i < count; i++) {
                b.position(i * entsize);
                long nameOff;
                int info;
                int other;
                int shndx;
                if (is64) {
                    nameOff = Integer.toUnsignedLong(b.getInt());
                    info = Byte.toUnsignedInt(b.get());
                    other = Byte.toUnsignedInt(b.get());
                    shndx = Short.toUnsignedInt(b.getShort());
                } else {
                    nameOff = Integer.toUnsignedLong(b.getInt());
                    b.getInt();
                    b.getInt();
                    info = Byte.toUnsignedInt(b.get());
                    other = Byte.toUnsignedInt(b.get());
                    shndx = Short.toUnsignedInt(b.getShort());
                }
                int bind = info >> 4;
                int type = info & 0xf;
                if (bind == 0 || nameOff == 0) {
                    continue;
                }
                String name = string(dynstr, nameOff);
                if (name.isEmpty()) {
                    continue;
                }
                String version = null;
                if (vs != null) {
                    int v = Short.toUnsignedInt(vs.getShort(i * 2)) & 0x7fff;
                    if (v > 1) {
                        version = versionNames.get(v);
                    }
                }
                ElfFacts.DynamicSymbol sym = new ElfFacts.DynamicSymbol(name, version, bindingName(bind), kindName(type));
                if (shndx == 0) {
                    undefined.add(sym);
                } else {
                    int visibility = other & 3;
                    if (visibility == 0 || visibility == 3) {
                        defined.add(sym);
                    }
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
            case 2, 43 -> "sparc";
            case 8 -> "mips";
            case 258 -> "loongarch";
            default -> "EM_" + machine;
        };
    }
}
