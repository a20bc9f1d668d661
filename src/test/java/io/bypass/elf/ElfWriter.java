package io.bypass.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a small shared object byte by byte, in either class and byte order, the way an sstrip'ed
 * file looks (optionally with section headers): ELF header, PT_LOAD over the whole file at a
 * virtual address other than 0 (so addresses must be mapped to offsets), PT_DYNAMIC, dynstr, dynsym,
 * versym, verdef, verneed, DT_HASH or DT_GNU_HASH. Tests use it for what gcc here cannot produce
 * (big-endian) and to break files on purpose; after {@link #build()} the offsets of each table are
 * in the public fields.
 *
 * <p>Symbols (index: name, section, version): 1 puts UND GLIBC_2.2.5; 2 __gmon_start__ UND weak,
 * unversioned; 3 synth_local (local, skipped); 4 synth_function SYN_1.0; 5 synth_old SYN_1.0
 * (hidden, non-default); 6 synth_old SYN_2.0; 7 synth_data unversioned object; 8 synth_hidden
 * (STV_HIDDEN, skipped).
 */
final class ElfWriter {
    enum Hash { SYSV, GNU }

    boolean is64 = true;
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    int machine = 62;
    int type = 3;
    Hash hash = Hash.SYSV;
    boolean sections;
    String soname = "libsynth.so.1";
    List<String> needed = List.of("libc.so.6");
    String runpath = "$ORIGIN/../lib:/opt/synth";
    /** When set, the symbol table is replaced by this many defined symbols all named this (a memory bomb). */
    String bombName;
    int bombCount;

    static final long BASE = 0x400000;

    // Where build() put things (file offsets).
    int phoff, strOff, strSize, symOff, symCount, versymOff, verdefOff, verneedOff, hashOff, dynOff, dynCount, shoff;

    private record Sym(String name, int info, int other, int shndx, int versym) {
    }

    byte[] build() {
        int ws = is64 ? 8 : 4;
        int ehsize = is64 ? 64 : 52;
        int phentsize = is64 ? 56 : 32;
        int symentsize = is64 ? 24 : 16;
        int dynentsize = 2 * ws;
        int shentsize = is64 ? 64 : 40;

        tags.clear();
        List<Sym> syms = new ArrayList<>();
        syms.add(new Sym("", 0, 0, 0, 0));
        if (bombName != null) {
            for (int i = 0; i < bombCount; i++) {
                syms.add(new Sym(bombName, 0x12, 0, 5, 1));
            }
        } else {
            // Undefined and local symbols first: DT_GNU_HASH covers only the ones after them.
            syms.add(new Sym("puts", 0x12, 0, 0, 4));
            syms.add(new Sym("__gmon_start__", 0x20, 0, 0, 0));
            syms.add(new Sym("synth_local", 0x02, 0, 5, 1));
            syms.add(new Sym("synth_function", 0x12, 0, 5, 2));
            syms.add(new Sym("synth_old", 0x12, 0, 5, 0x8002));
            syms.add(new Sym("synth_old", 0x12, 0, 5, 3));
            syms.add(new Sym("synth_data", 0x11, 0, 5, 1));
            syms.add(new Sym("synth_hidden", 0x12, 2, 5, 1));
        }
        int firstHashed = bombName != null ? 1 : 4;

        Map<String, Integer> strings = new LinkedHashMap<>();
        StringBuilder str = new StringBuilder("\0");
        for (String s : List.of(soname, "libc.so.6", "SYN_1.0", "SYN_2.0", "GLIBC_2.2.5", "GLIBC_2.34", runpath)) {
            intern(s, strings, str);
        }
        needed.forEach(n -> intern(n, strings, str));
        syms.forEach(s -> intern(s.name(), strings, str));
        byte[] strtab = str.toString().getBytes(StandardCharsets.UTF_8);

        phoff = ehsize;
        strOff = phoff + 2 * phentsize;
        strSize = strtab.length;
        symOff = align(strOff + strtab.length, ws);
        symCount = syms.size();
        versymOff = symOff + symCount * symentsize;
        verdefOff = align(versymOff + 2 * symCount, 4);
        // base, SYN_1.0, SYN_2.0 (which names SYN_1.0 as its parent in a second Verdaux)
        verneedOff = verdefOff + 3 * 20 + 4 * 8;
        hashOff = verneedOff + 16 + 2 * 16;
        int hashSize = hash == Hash.SYSV ? 4 * (2 + 1 + symCount) : 16 + ws + 4 + 4 * (symCount - firstHashed);
        dynOff = align(hashOff + hashSize, ws);
        dynCount = 13 + needed.size() + 6;
        shoff = dynOff + dynCount * dynentsize;
        int size = shoff + (sections ? 3 * shentsize : 0);

        ByteBuffer b = ByteBuffer.allocate(size).order(order);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', (byte) (is64 ? 2 : 1), (byte) (order == ByteOrder.LITTLE_ENDIAN ? 1 : 2), 1, 0});
        b.position(16);
        b.putShort((short) type).putShort((short) machine).putInt(1);
        word(b, 0);
        word(b, phoff);
        word(b, sections ? shoff : 0);
        b.putInt(0).putShort((short) ehsize).putShort((short) phentsize).putShort((short) 2)
                .putShort((short) shentsize).putShort((short) (sections ? 3 : 0)).putShort((short) 0);

        b.position(phoff);
        phdr(b, 1, 0, size);
        phdr(b, 2, dynOff, dynCount * dynentsize);

        b.position(strOff);
        b.put(strtab);

        b.position(symOff);
        for (Sym s : syms) {
            int name = strings.get(s.name());
            long value = s.shndx() == 0 ? 0 : BASE + 0x100;
            if (is64) {
                b.putInt(name).put((byte) s.info()).put((byte) s.other()).putShort((short) s.shndx()).putLong(value).putLong(8);
            } else {
                b.putInt(name).putInt((int) value).putInt(8).put((byte) s.info()).put((byte) s.other())
                        .putShort((short) s.shndx());
            }
        }
        b.position(versymOff);
        for (Sym s : syms) {
            b.putShort((short) s.versym());
        }

        b.position(verdefOff);
        verdef(b, 1, 1, 1, strings.get(soname), 0, false);
        verdef(b, 0, 2, 1, strings.get("SYN_1.0"), 0, false);
        verdef(b, 0, 3, 2, strings.get("SYN_2.0"), strings.get("SYN_1.0"), true);

        b.position(verneedOff);
        b.putShort((short) 1).putShort((short) 2).putInt(strings.get("libc.so.6")).putInt(16).putInt(0);
        b.putInt(elfHash("GLIBC_2.2.5")).putShort((short) 0).putShort((short) 4).putInt(strings.get("GLIBC_2.2.5")).putInt(16);
        b.putInt(elfHash("GLIBC_2.34")).putShort((short) 0).putShort((short) 5).putInt(strings.get("GLIBC_2.34")).putInt(0);

        b.position(hashOff);
        if (hash == Hash.SYSV) {
            // One bucket chaining every symbol: the loader's view of the symbol count is nchain.
            b.putInt(1).putInt(symCount).putInt(symCount - 1);
            for (int i = 0; i < symCount; i++) {
                b.putInt(Math.max(0, i - 1));
            }
        } else {
            // One bucket, one bloom word that lets everything through; the last chain entry has bit 0 set.
            b.putInt(1).putInt(firstHashed).putInt(1).putInt(0);
            word(b, -1L);
            b.putInt(symCount > firstHashed ? firstHashed : 0);
            for (int i = firstHashed; i < symCount; i++) {
                int h = gnuHash(syms.get(i).name()) & ~1;
                b.putInt(i == symCount - 1 ? h | 1 : h);
            }
        }

        b.position(dynOff);
        dyn(b, 14, strings.get(soname));
        for (String n : needed) {
            dyn(b, 1, strings.get(n));
        }
        dyn(b, 29, strings.get(runpath));
        dyn(b, 5, BASE + strOff);
        dyn(b, 10, strtab.length);
        dyn(b, 6, BASE + symOff);
        dyn(b, 11, symentsize);
        dyn(b, hash == Hash.SYSV ? 4 : 0x6ffffef5L, BASE + hashOff);
        dyn(b, 0x6ffffff0L, BASE + versymOff);
        dyn(b, 0x6ffffffcL, BASE + verdefOff);
        dyn(b, 0x6ffffffdL, 3);
        dyn(b, 0x6ffffffeL, BASE + verneedOff);
        dyn(b, 0x6fffffffL, 1);
        dyn(b, 0x6ffffffbL, 0); // DT_FLAGS_1: an entry bypass does not use
        // DT_NULL ends the table; the spare ones leave room for tests to add entries.
        for (int i = 0; i < 6; i++) {
            dyn(b, 0, 0);
        }

        if (sections) {
            b.position(shoff);
            b.put(new byte[shentsize]);
            shdr(b, 11, BASE + symOff, symOff, (long) symCount * symentsize, 2, symentsize);
            shdr(b, 6, BASE + dynOff, dynOff, (long) dynCount * dynentsize, 2, dynentsize);
        }
        return b.array();
    }

    /**
     * Sets the value of the first dynamic entry with this tag in a file this writer built, or turns
     * the first DT_NULL into that entry (build() leaves spare DT_NULLs, so the table stays ended).
     */
    byte[] setDyn(byte[] file, long tag, long value) {
        int ws = is64 ? 8 : 4;
        int slot = tags.indexOf(tag);
        if (slot < 0) {
            slot = tags.indexOf(0L);
            tags.set(slot, tag);
        }
        int at = dynOff + slot * 2 * ws;
        putWord(file, at, tag);
        putWord(file, at + ws, value);
        return file;
    }

    /** Writes an address, offset or size of the file's class and byte order. */
    byte[] putWord(byte[] file, int at, long v) {
        ByteBuffer b = ByteBuffer.wrap(file).order(order);
        if (is64) {
            b.putLong(at, v);
        } else {
            b.putInt(at, (int) v);
        }
        return file;
    }

    byte[] put32(byte[] file, int at, int v) {
        ByteBuffer.wrap(file).order(order).putInt(at, v);
        return file;
    }

    byte[] put16(byte[] file, int at, int v) {
        ByteBuffer.wrap(file).order(order).putShort(at, (short) v);
        return file;
    }

    private final List<Long> tags = new ArrayList<>();

    private static void intern(String s, Map<String, Integer> strings, StringBuilder str) {
        if (!strings.containsKey(s)) {
            strings.put(s, str.toString().getBytes(StandardCharsets.UTF_8).length);
            str.append(s).append('\0');
        }
    }

    private void verdef(ByteBuffer b, int flags, int ndx, int cnt, int name, int parent, boolean last) {
        int next = last ? 0 : 20 + 8 * cnt;
        b.putShort((short) 1).putShort((short) flags).putShort((short) ndx).putShort((short) cnt).putInt(0).putInt(20)
                .putInt(next);
        b.putInt(name).putInt(cnt > 1 ? 8 : 0);
        if (cnt > 1) {
            b.putInt(parent).putInt(0);
        }
    }

    private void phdr(ByteBuffer b, int type, long offset, long filesz) {
        long vaddr = BASE + offset;
        if (is64) {
            b.putInt(type).putInt(6).putLong(offset).putLong(vaddr).putLong(vaddr).putLong(filesz).putLong(filesz).putLong(8);
        } else {
            b.putInt(type).putInt((int) offset).putInt((int) vaddr).putInt((int) vaddr).putInt((int) filesz)
                    .putInt((int) filesz).putInt(6).putInt(4);
        }
    }

    private void shdr(ByteBuffer b, int type, long addr, long offset, long size, int flags, long entsize) {
        b.putInt(0).putInt(type);
        word(b, flags);
        word(b, addr);
        word(b, offset);
        word(b, size);
        b.putInt(0).putInt(0);
        word(b, 8);
        word(b, entsize);
    }

    private void dyn(ByteBuffer b, long tag, long value) {
        tags.add(tag);
        word(b, tag);
        word(b, value);
    }

    private void word(ByteBuffer b, long v) {
        if (is64) {
            b.putLong(v);
        } else {
            b.putInt((int) v);
        }
    }

    private static int align(int v, int a) {
        return (v + a - 1) / a * a;
    }

    static int elfHash(String name) {
        int h = 0;
        for (byte c : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h << 4) + (c & 0xff);
            int g = h & 0xf0000000;
            if (g != 0) {
                h ^= g >>> 24;
            }
            h &= ~g;
        }
        return h;
    }

    static int gnuHash(String name) {
        int h = 5381;
        for (byte c : name.getBytes(StandardCharsets.UTF_8)) {
            h = h * 33 + (c & 0xff);
        }
        return h;
    }
}
