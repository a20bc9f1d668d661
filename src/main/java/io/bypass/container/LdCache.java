package io.bypass.container;

import io.bypass.BypassException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * glibc's /etc/ld.so.cache, parsed from its bytes (never by running a container's ldconfig). The
 * file may come from a container image, so it is untrusted: every count and offset is checked
 * before use, and anything wrong gives one {@link BypassException#badInput} naming the file.
 *
 * <p>Three layouts exist (glibc sysdeps/generic/dl-cache.h):
 * <ul>
 * <li>old (libc5, glibc before 2.2): "ld.so-1.7.0", nlibs, then {int flags; uint key, value}
 *     entries; key/value are offsets from the end of the entries (the string table);</li>
 * <li>new (default since glibc 2.32): "glibc-ld.so.cache" "1.1", a 48-byte header, then
 *     {int32 flags; uint32 key, value, osversion; uint64 hwcap} entries; key/value are offsets
 *     from the start of that header;</li>
 * <li>compat (default before 2.32): an old cache whose string table begins, 4-byte aligned, with
 *     a complete new cache. The loader reads the new part, and so do we.</li>
 * </ul>
 * Entries are kept in file order, which is the loader's order of preference: ldconfig sorts them
 * by soname, then puts glibc-hwcaps entries (used only on CPUs that support them) before the
 * baseline entry of the same soname and flags.
 */
public final class LdCache {
    /** Larger files are refused by {@link #read}; the loader maps the whole file, we read it whole. */
    public static final long MAX_BYTES = 64L << 20;
    public static final int MAX_ENTRIES = 1_000_000;
    /** Longest string (NUL included) we accept; paths are at most PATH_MAX (4096) on Linux. */
    public static final int MAX_STRING = 4096;
    /**
     * Total bytes of decoded strings. Entries may share offsets (ldconfig itself points each soname
     * into the tail of its path), so a hostile file of a few MiB could otherwise ask for gigabytes
     * of strings; a genuine cache never decodes more text than its own size.
     */
    private static final long MAX_STRING_BYTES = 64L << 20;

    // Entry flags (glibc sysdeps/generic/ldconfig.h): a type in the low byte, an ABI in the next.
    public static final int FLAG_TYPE_MASK = 0x00ff;
    public static final int FLAG_ELF = 0x0001;
    public static final int FLAG_ELF_LIBC5 = 0x0002;
    public static final int FLAG_ELF_LIBC6 = 0x0003;
    public static final int FLAG_REQUIRED_MASK = 0xff00;
    public static final int FLAG_SPARC_LIB64 = 0x0100;
    public static final int FLAG_X8664_LIB64 = 0x0300;
    public static final int FLAG_S390_LIB64 = 0x0400;
    public static final int FLAG_POWERPC_LIB64 = 0x0500;
    public static final int FLAG_X8664_LIBX32 = 0x0800;
    public static final int FLAG_ARM_LIBHF = 0x0900;
    public static final int FLAG_AARCH64_LIB64 = 0x0a00;
    public static final int FLAG_RISCV_FLOAT_ABI_DOUBLE = 0x1000;
    public static final int FLAG_LARCH_FLOAT_ABI_DOUBLE = 0x1200;
    /** i386 (and other 32-bit ABIs without an ABI byte): libc6, no arch bits. */
    public static final int FLAG_I386 = FLAG_ELF_LIBC6;
    /** The "any ABI" argument of {@link #lookup}. */
    public static final int FLAG_ANY = -1;

    /** Set in {@link Entry#hwcap()} of glibc-hwcaps subdirectory entries (glibc 2.33+). */
    public static final long HWCAP_EXTENSION = 1L << 62;

    private static final byte[] OLD_MAGIC = "ld.so-1.7.0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEW_MAGIC = "glibc-ld.so.cache".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEW_VERSION = "1.1".getBytes(StandardCharsets.US_ASCII);
    private static final int OLD_HEADER = 16;   // 11-byte magic, padding, uint nlibs
    private static final int OLD_ENTRY = 12;
    private static final int NEW_HEADER = 48;
    private static final int NEW_ENTRY = 24;
    private static final int NEW_ALIGN = 4;     // __alignof__ (struct cache_file_new)

    /**
     * One cache entry.
     *
     * @param soname the name the loader looks up (DT_NEEDED)
     * @param path   the file the loader opens for it, an absolute path in the cache's own file system
     * @param flags  ABI flags ({@code FLAG_*}); compare with {@link #flagsFor}
     * @param hwcap  0 for ordinary entries; see {@link #isHwcapSubdirectory()}. Always 0 in the old format.
     */
    public record Entry(String soname, String path, int flags, long hwcap) {
        /**
         * A glibc-hwcaps subdirectory entry (e.g. .../glibc-hwcaps/x86-64-v3/): the loader uses it
         * only when the CPU supports that level, else falls back to the next entry.
         */
        public boolean isHwcapSubdirectory() {
            // dl_cache_hwcap_extension: only bit 62 set in the upper half, ignoring 10 ISA-level bits.
            return ((hwcap >>> 32) & ~0x3ffL) == (HWCAP_EXTENSION >>> 32);
        }
    }

    private final List<Entry> entries;

    private LdCache(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** All entries, in file order (the loader's order of preference). */
    public List<Entry> entries() {
        return entries;
    }

    /**
     * The flags the loader of an object of this ELF class and machine (as {@code ElfReader} names
     * them) accepts in the cache: glibc's _DL_CACHE_DEFAULT_ID. Machines whose ABI byte depends on
     * more than the class (arm, riscv, loongarch float ABI) get the common hard/double-float value.
     */
    public static int flagsFor(String elfClass, String machine) {
        boolean is64 = "ELF64".equals(elfClass);
        int abi = switch (machine) {
            case "x86_64" -> is64 ? FLAG_X8664_LIB64 : FLAG_X8664_LIBX32;
            case "aarch64" -> is64 ? FLAG_AARCH64_LIB64 : 0;
            case "ppc64", "ppc" -> is64 ? FLAG_POWERPC_LIB64 : 0;
            case "s390x" -> is64 ? FLAG_S390_LIB64 : 0;
            case "sparc" -> is64 ? FLAG_SPARC_LIB64 : 0;
            case "arm" -> FLAG_ARM_LIBHF;
            case "riscv" -> FLAG_RISCV_FLOAT_ABI_DOUBLE;
            case "loongarch" -> FLAG_LARCH_FLOAT_ABI_DOUBLE;
            default -> 0;   // i386 and the rest: plain libc6
        };
        return FLAG_ELF_LIBC6 | abi;
    }

    /**
     * The paths of the entries for {@code soname} whose flags suit {@code requiredFlags} (from
     * {@link #flagsFor}; {@link #FLAG_ANY} for every ABI), in the loader's order of preference
     * (file order). An entry suits when its type byte and its ABI byte both equal the required
     * ones; like glibc's generic loader, a plain {@link #FLAG_ELF} entry also suits a requirement
     * without an ABI byte. glibc-hwcaps entries are included where the file has them (before the
     * baseline entry); callers that cannot tell the CPU level can skip
     * {@link Entry#isHwcapSubdirectory()} entries.
     */
    public List<String> lookup(String soname, int requiredFlags) {
        List<String> paths = new ArrayList<>();
        for (Entry e : entries) {
            if (e.soname().equals(soname) && flagsMatch(e.flags(), requiredFlags)) {
                paths.add(e.path());
            }
        }
        return paths;
    }

    static boolean flagsMatch(int flags, int required) {
        if (required == FLAG_ANY) {
            return true;
        }
        int abi = required & FLAG_REQUIRED_MASK;
        if ((flags & FLAG_REQUIRED_MASK) != abi) {
            return false;
        }
        return (flags & FLAG_TYPE_MASK) == (required & FLAG_TYPE_MASK) || (abi == 0 && flags == FLAG_ELF);
    }

    /**
     * Reads and parses a cache file. It must be a regular file itself (a symlink, FIFO or device is
     * refused before it is opened, and it is opened with O_NOFOLLOW) of at most {@link #MAX_BYTES}.
     */
    public static LdCache read(Path file) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(file + ": ld.so.cache does not exist");
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot read ld.so.cache: " + reason(e));
        }
        if (!a.isRegularFile()) {
            throw BypassException.badInput(file + ": ld.so.cache is not a regular file");
        }
        if (a.size() > MAX_BYTES) {
            throw BypassException.badInput(file + ": ld.so.cache larger than " + (MAX_BYTES >> 20) + " MiB");
        }
        byte[] data;
        Set<OpenOption> options = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        try (SeekableByteChannel ch = Files.newByteChannel(file, options);
             InputStream in = Channels.newInputStream(ch)) {
            // Read one byte past the cap: the file may have grown since the size check.
            data = in.readNBytes((int) MAX_BYTES + 1);
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot read ld.so.cache: " + reason(e));
        }
        if (data.length > MAX_BYTES) {
            throw BypassException.badInput(file + ": ld.so.cache larger than " + (MAX_BYTES >> 20) + " MiB");
        }
        return parse(data, file.toString());
    }

    /**
     * Parses cache bytes. {@code displayName} starts every error message
     * ("&lt;displayName&gt;: &lt;what is wrong&gt;").
     */
    public static LdCache parse(byte[] data, String displayName) {
        try {
            return new Parser(data, displayName).parse();
        } catch (BypassException e) {
            throw e;
        } catch (RuntimeException e) {
            // Every access is checked first, so this is a bug of ours; still one error type for callers.
            throw BypassException.badInput(displayName + ": malformed ld.so.cache (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getClass().getSimpleName();
    }

    /** One parse of one byte array. */
    private static final class Parser {
        private final byte[] data;
        private final String name;
        private long stringBudget = MAX_STRING_BYTES;

        Parser(byte[] data, String name) {
            this.data = data;
            this.name = name;
        }

        private BypassException bad(String what) {
            return BypassException.badInput(name + ": " + what);
        }

        LdCache parse() {
            if (data.length == 0) {
                throw bad("ld.so.cache is empty");
            }
            if (startsWith(0, NEW_MAGIC)) {
                return parseNew(0);
            }
            if (startsWith(0, OLD_MAGIC)) {
                return parseOld();
            }
            throw bad("not an ld.so.cache (unknown magic)");
        }

        private LdCache parseOld() {
            if (data.length < OLD_HEADER) {
                throw bad("truncated ld.so.cache header");
            }
            // The old format has no byte-order mark: it is in the writer's order, which is the
            // loader's (and, since the hook only injects host libraries, this JVM's) order.
            ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.nativeOrder());
            long nlibs = Integer.toUnsignedLong(b.getInt(12));
            checkCount(nlibs, OLD_HEADER, OLD_ENTRY);
            int stringsStart = OLD_HEADER + (int) nlibs * OLD_ENTRY;

            // The compat layout: a whole new cache where the old string table begins. The loader
            // uses it when its magic and version are there and its header fits (dl-cache.c).
            int newStart = (stringsStart + NEW_ALIGN - 1) & ~(NEW_ALIGN - 1);
            if (data.length - newStart >= NEW_HEADER && startsWith(newStart, NEW_MAGIC)
                    && startsWith(newStart + NEW_MAGIC.length, NEW_VERSION)) {
                return parseNew(newStart);
            }

            List<Entry> out = new ArrayList<>((int) nlibs);
            for (int i = 0; i < nlibs; i++) {
                int at = OLD_HEADER + i * OLD_ENTRY;
                int flags = b.getInt(at);
                String soname = string(stringsStart, b.getInt(at + 4), i, "name");
                String path = string(stringsStart, b.getInt(at + 8), i, "path");
                out.add(new Entry(soname, path, flags, 0));
            }
            return new LdCache(out);
        }

        private LdCache parseNew(int start) {
            if (data.length - start < NEW_HEADER) {
                throw bad("truncated ld.so.cache header");
            }
            if (!startsWith(start + NEW_MAGIC.length, NEW_VERSION)) {
                throw bad("unsupported ld.so.cache version \""
                        + printable(new String(data, start + NEW_MAGIC.length, 3, StandardCharsets.ISO_8859_1)) + "\"");
            }
            // Byte 28: cache_file_new_flags_endian_* in the low two bits, the rest unused.
            int endian = data[start + 28] & 3;
            ByteOrder order = switch (endian) {
                case 0 -> ByteOrder.nativeOrder();   // written by an ldconfig before 2.32: native order
                case 2 -> ByteOrder.LITTLE_ENDIAN;
                case 3 -> ByteOrder.BIG_ENDIAN;
                default -> throw bad("ld.so.cache is marked invalid (byte-order flag 1)");
            };
            ByteBuffer b = ByteBuffer.wrap(data).order(order);
            long nlibs = Integer.toUnsignedLong(b.getInt(start + 20));
            // len_strings (start + 24) and extension_offset (start + 32) are not needed: the loader
            // does not trust len_strings either, it checks each string offset against the file.
            checkCount(nlibs, start + NEW_HEADER, NEW_ENTRY);

            List<Entry> out = new ArrayList<>((int) nlibs);
            for (int i = 0; i < nlibs; i++) {
                int at = start + NEW_HEADER + i * NEW_ENTRY;
                int flags = b.getInt(at);
                String soname = string(start, b.getInt(at + 4), i, "name");
                String path = string(start, b.getInt(at + 8), i, "path");
                long hwcap = b.getLong(at + 16);
                out.add(new Entry(soname, path, flags, hwcap));
            }
            return new LdCache(out);
        }

        /** nlibs entries of entrySize bytes from entriesStart must fit in the file. */
        private void checkCount(long nlibs, int entriesStart, int entrySize) {
            if (nlibs > MAX_ENTRIES) {
                throw bad("ld.so.cache claims " + nlibs + " entries (at most " + MAX_ENTRIES + " accepted)");
            }
            if (entriesStart + nlibs * entrySize > data.length) {
                throw bad("ld.so.cache is truncated: " + nlibs + " entries do not fit in " + data.length + " bytes");
            }
        }

        /** The NUL-terminated string at base + offset (offset unsigned). */
        private String string(int base, int offset, int entry, String what) {
            long at = base + Integer.toUnsignedLong(offset);
            if (at >= data.length) {
                throw bad("entry " + entry + ": " + what + " offset " + Integer.toUnsignedString(offset)
                        + " is outside the file");
            }
            int from = (int) at;
            int limit = (int) Math.min(data.length, at + MAX_STRING);
            int end = from;
            while (end < limit && data[end] != 0) {
                end++;
            }
            if (end == limit) {
                throw bad("entry " + entry + ": " + what + " at offset " + at
                        + (limit == data.length ? " runs past the end of the file" : " is longer than " + MAX_STRING + " bytes"));
            }
            stringBudget -= end - from;
            if (stringBudget < 0) {
                throw bad("entries refer to more than " + (MAX_STRING_BYTES >> 20) + " MiB of strings");
            }
            return new String(data, from, end - from, StandardCharsets.UTF_8);
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

        /** Keeps messages one line and readable whatever bytes the file holds. */
        private static String printable(String s) {
            StringBuilder sb = new StringBuilder();
            for (char c : s.toCharArray()) {
                sb.append(c >= 0x20 && c < 0x7f ? c : '?');
            }
            return sb.toString();
        }
    }
}
