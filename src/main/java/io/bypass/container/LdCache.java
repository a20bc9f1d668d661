package io.bypass.container;

import io.bypass.BypassException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * glibc's /etc/ld.so.cache, parsed from its bytes (never by asking a container's ldconfig): the old
 * "ld.so-1.7.0" format, the new "glibc-ld.so.cache1.1" format, and the old format followed by the
 * new one. Entries keep the file's order, which is the loader's order of preference.
 */
public final class LdCache {
    public static final long MAX_BYTES = 64L << 20;
    public static final int MAX_ENTRIES = 1_000_000;
    private static final int MAX_STRING = 4096;

    public static final int FLAG_TYPE_MASK = 0x00ff;
    public static final int FLAG_ELF_LIBC6 = 0x0003;
    public static final int FLAG_ARCH_MASK = 0xff00;
    public static final int FLAG_X8664_LIB64 = 0x0300;
    public static final int FLAG_AARCH64_LIB64 = 0x0a00;
    public static final int FLAG_POWERPC_LIB64 = 0x0500;
    public static final int FLAG_S390_LIB64 = 0x0400;
    public static final int FLAG_RISCV_FLOAT_ABI_DOUBLE = 0x1000;

    private static final byte[] OLD_MAGIC = "ld.so-1.7.0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEW_MAGIC = "glibc-ld.so.cache".getBytes(StandardCharsets.US_ASCII);
    private static final int OLD_HEADER = 16;
    private static final int OLD_ENTRY = 12;
    private static final int NEW_HEADER = 48;
    private static final int NEW_ENTRY = 24;

    /** One cache entry: a soname, the path the loader uses for it, its ABI flags and hwcap bits. */
    public record Entry(String soname, String path, int flags, long hwcap) {
    }

    private final List<Entry> entries;

    private LdCache(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    public List<Entry> entries() {
        return entries;
    }

    /** The flags the loader accepts for an object of this class and machine (glibc's _DL_CACHE_DEFAULT_ID). */
    public static int flagsFor(String elfClass, String machine) {
        boolean is64 = "ELF64".equals(elfClass);
        return switch (machine) {
            case "x86_64" -> is64 ? FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 : FLAG_ELF_LIBC6;
            case "aarch64" -> FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64;
            case "ppc64" -> FLAG_ELF_LIBC6 | FLAG_POWERPC_LIB64;
            case "s390x" -> FLAG_ELF_LIBC6 | FLAG_S390_LIB64;
            case "riscv" -> FLAG_ELF_LIBC6 | FLAG_RISCV_FLOAT_ABI_DOUBLE;
            default -> FLAG_ELF_LIBC6;
        };
    }

    /**
     * The paths for a soname whose entry flags are exactly {@code flags} ({@code -1}: any), entries
     * without hwcap subdirectory bits first, each group in file order.
     */
    public List<String> lookup(String soname, int flags) {
        List<String> plain = new ArrayList<>();
        List<String> hwcap = new ArrayList<>();
        for (Entry e : entries) {
            if (e.soname().equals(soname) && (flags == -1 || e.flags() == flags)) {
                (e.hwcap() == 0 ? plain : hwcap).add(e.path());
            }
        }
        plain.addAll(hwcap);
        return plain;
    }

    public static LdCache read(Path file) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(file + ": no such file");
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot read: " + e.getMessage());
        }
        if (!a.isRegularFile()) {
            throw BypassException.badInput(file + ": ld.so.cache is not a regular file");
        }
        if (a.size() > MAX_BYTES) {
            throw BypassException.badInput(file + ": ld.so.cache larger than " + (MAX_BYTES >> 20) + " MiB");
        }
        try {
            return parse(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot read: " + e.getMessage());
        }
    }

    public static LdCache parse(byte[] data, String displayName) {
        try {
            return new Parser(data, displayName).parse();
        } catch (BypassException e) {
            throw e;
        } catch (RuntimeException e) {
            throw BypassException.badInput(displayName + ": malformed ld.so.cache (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static final class Parser {
        private final byte[] data;
        private final String name;

        Parser(byte[] data, String name) {
            this.data = data;
            this.name = name;
        }

        private BypassException bad(String what) {
            return BypassException.badInput(name + ": malformed ld.so.cache (" + what + ")");
        }

        LdCache parse() {
            if (startsWith(0, NEW_MAGIC)) {
                return parseNew(0);
            }
            if (!startsWith(0, OLD_MAGIC)) {
                throw BypassException.badInput(name + ": not an ld.so.cache (unknown magic)");
            }
            if (data.length < OLD_HEADER) {
                throw bad("truncated header");
            }
            ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            long nlibs = Integer.toUnsignedLong(b.getInt(12));
            if (nlibs > MAX_ENTRIES || OLD_HEADER + nlibs * OLD_ENTRY > data.length) {
                throw bad(nlibs + " entries do not fit in " + data.length + " bytes");
            }
            int oldEnd = (int) (OLD_HEADER + nlibs * OLD_ENTRY);
            int newStart = (oldEnd + 3) & ~3;
            if (newStart + NEW_MAGIC.length <= data.length && startsWith(newStart, NEW_MAGIC)) {
                // The combined layout: the new format follows and is the one the loader reads.
                return parseNew(newStart);
            }
            List<Entry> out = new ArrayList<>((int) nlibs);
            for (int i = 0; i < nlibs; i++) {
                int at = OLD_HEADER + i * OLD_ENTRY;
                int flags = b.getInt(at);
                long key = Integer.toUnsignedLong(b.getInt(at + 4));
                long value = Integer.toUnsignedLong(b.getInt(at + 8));
                out.add(new Entry(string(oldEnd, key), string(oldEnd, value), flags, 0));
            }
            return new LdCache(out);
        }

        private LdCache parseNew(int start) {
            if (data.length - start < NEW_HEADER) {
                throw bad("truncated header");
            }
            if (data[start + 17] != '1' || data[start + 18] != '.' || data[start + 19] != '1') {
                throw bad("unsupported version " + new String(data, start + 17, 3, StandardCharsets.US_ASCII));
            }
            int endian = data[start + 28];
            ByteOrder order = switch (endian) {
                case 0, 2 -> ByteOrder.LITTLE_ENDIAN;
                case 3 -> ByteOrder.BIG_ENDIAN;
                default -> throw bad("invalid byte-order flag " + endian);
            };
            ByteBuffer b = ByteBuffer.wrap(data).order(order);
            long nlibs = Integer.toUnsignedLong(b.getInt(start + 20));
            long lenStrings = Integer.toUnsignedLong(b.getInt(start + 24));
            long avail = data.length - (long) start - NEW_HEADER;
            if (nlibs > MAX_ENTRIES || nlibs * NEW_ENTRY > avail) {
                throw bad(nlibs + " entries do not fit in " + data.length + " bytes");
            }
            if (lenStrings > avail - nlibs * NEW_ENTRY) {
                throw bad("string table of " + lenStrings + " bytes does not fit");
            }
            List<Entry> out = new ArrayList<>((int) nlibs);
            for (int i = 0; i < nlibs; i++) {
                int at = start + NEW_HEADER + i * NEW_ENTRY;
                int flags = b.getInt(at);
                long key = Integer.toUnsignedLong(b.getInt(at + 4));
                long value = Integer.toUnsignedLong(b.getInt(at + 8));
                long hwcap = b.getLong(at + 16);
                out.add(new Entry(string(start, key), string(start, value), flags, hwcap));
            }
            return new LdCache(out);
        }

        private String string(int base, long offset) {
            long at = base + offset;
            if (offset < 0 || at >= data.length) {
                throw bad("string offset " + offset + " outside the file");
            }
            int s = (int) at;
            int limit = (int) Math.min(data.length, at + MAX_STRING);
            int e = s;
            while (e < limit && data[e] != 0) {
                e++;
            }
            if (e == limit) {
                throw bad("unterminated string at offset " + at);
            }
            return new String(data, s, e - s, StandardCharsets.UTF_8);
        }

        private boolean startsWith(int at, byte[] magic) {
            if (at < 0 || data.length - at < magic.length) {
                return false;
            }
            for (int i = 0; i < magic.length; i++) {
                if (data[at + i] != magic[i]) {
                    return false;
                }
            }
            return true;
        }
    }
}
