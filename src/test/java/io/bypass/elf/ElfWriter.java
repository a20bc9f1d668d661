package io.bypass.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes a minimal shared object byte by byte (header, one PT_LOAD covering the file, PT_DYNAMIC,
 * dynstr, dynsym with DT_HASH), in either class and byte order, so tests cover what gcc here
 * cannot produce (big-endian) and can break it on purpose.
 */
final class ElfWriter {
    boolean is64 = true;
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    int machine = 62;
    String soname = "libsynth.so.1";
    String needed = "libc.so.6";
    String symbol = "synth_function";

    byte[] build() {
        byte[] strtab = ("\0" + soname + "\0" + needed + "\0" + symbol + "\0").getBytes(StandardCharsets.US_ASCII);
        int sonameOff = 1;
        int neededOff = 1 + soname.length() + 1;
        int symOff = neededOff + needed.length() + 1;
        int ehsize = is64 ? 64 : 52;
        int phentsize = is64 ? 56 : 32;
        int symentsize = is64 ? 24 : 16;
        int dynentsize = is64 ? 16 : 8;
        int phoff = ehsize;
        int strOff = phoff + 2 * phentsize;
        int symtabOff = align(strOff + strtab.length, 8);
        int hashOff = symtabOff + 2 * symentsize;
        int dynOff = align(hashOff + 16, 8);
        int ndyn = 12;
        int size = dynOff + ndyn * dynentsize;
        ByteBuffer b = ByteBuffer.allocate(size).order(order);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', (byte) (is64 ? 2 : 1), (byte) (order == ByteOrder.LITTLE_ENDIAN ? 1 : 2), 1, 0});
        b.position(16);
        b.putShort((short) 3).putShort((short) machine).putInt(1);
        word(b, 0);
        word(b, phoff);
        word(b, 0);
        b.putInt(0).putShort((short) ehsize).putShort((short) phentsize).putShort((short) 2).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0);
        b.position(phoff);
        phdr(b, 1, 0, size);
        phdr(b, 2, dynOff, ndyn * dynentsize);
        b.position(strOff);
        b.put(strtab);
        b.position(symtabOff + symentsize);
        if (is64) {
            b.putInt(symOff).put((byte) 0x12).put((byte) 0).putShort((short) 5).putLong(0x100).putLong(8);
        } else {
            b.putInt(symOff).putInt(0x100).putInt(8).put((byte) 0x12).put((byte) 0).putShort((short) 5);
        }
        b.position(hashOff);
        b.putInt(1).putInt(2).putInt(0).putInt(0);
        b.position(dynOff);
        dyn(b, 14, sonameOff);
        dyn(b, 1, neededOff);
        dyn(b, 5, strOff);
        dyn(b, 10, strtab.length);
        dyn(b, 6, symtabOff);
        dyn(b, 11, symentsize);
        dyn(b, 4, hashOff);
        // DT_NULL ends the table; the spare ones leave room for tests to add entries.
        for (int i = 0; i < 5; i++) {
            dyn(b, 0, 0);
        }
        return b.array();
    }

    private void phdr(ByteBuffer b, int type, long offset, long filesz) {
        if (is64) {
            b.putInt(type).putInt(4).putLong(offset).putLong(offset).putLong(offset).putLong(filesz).putLong(filesz).putLong(8);
        } else {
            b.putInt(type).putInt((int) offset).putInt((int) offset).putInt((int) offset).putInt((int) filesz)
                    .putInt((int) filesz).putInt(4).putInt(4);
        }
    }

    private void dyn(ByteBuffer b, long tag, long value) {
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
}
