package io.bypass.cache;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * What one container file was when a decision was computed from it: enough to tell, cheaply and
 * without trusting metadata alone, that it is still the same file.
 *
 * <p>Metadata (inode, size, mtime, mode) is the fast first check, but a user controls all of it
 * (touch, chmod, a FUSE file system reporting any inode), so each identity also carries content
 * evidence: the SHA-256 of exactly the byte ranges the profiler parsed, in offset order. A hit
 * re-reads and re-hashes those ranges (see {@link #validate}). docs/cache.md has the threat model.
 *
 * @param path    canonical absolute path inside the rootfs ("/usr/lib/x86_64-linux-gnu/libc.so.6")
 * @param type    {@code file}, {@code dir}, {@code link} or {@code missing}; or {@code resolve}: not a
 *                file but a lookup, "path (asked as given, following a final symlink when mode is
 *                1) resolves to the canonical path whose digest is sha256, or to nothing". The
 *                kernel's openat2 follows symlinks without showing them, so a lookup that went
 *                through links (or found nothing) is re-checked by resolving it again
 * @param ino     st_ino (0 for missing); st_dev is deliberately not part of the identity: every
 *                container's overlay mount of one image has its own st_dev (docs/cache.md)
 * @param size    st_size (0 for missing)
 * @param mtimeNs st_mtime in nanoseconds since the epoch (0 for missing)
 * @param mode    permission bits, st_mode &amp; 07777 (0 for missing)
 * @param ranges  the merged byte ranges read from a file, sorted, disjoint and not adjacent; empty
 *                for other types
 * @param sha256  lower-case hex SHA-256 of: the ranges' bytes in order (file); the link's target
 *                (link); the directory's sorted entry names, each followed by a NUL byte, when the
 *                profiler listed it (dir). null when nothing of the content was used (a directory
 *                only walked through, a missing path, a file only statted).
 */
public record FileIdentity(String path, String type, long ino, long size, long mtimeNs, int mode,
                           List<Range> ranges, String sha256) {
    public static final String FILE = "file";
    public static final String DIR = "dir";
    public static final String LINK = "link";
    public static final String MISSING = "missing";
    public static final String RESOLVE = "resolve";

    /** Longest path accepted (PATH_MAX). */
    public static final int MAX_PATH = 4096;
    /** Most ranges per file: the ELF reader's sections and tables, merged, are a few dozen. */
    public static final int MAX_RANGES = 4096;
    /** Bytes re-read per call to {@link Reader#read}. */
    static final int CHUNK = 1 << 20;

    /** A byte range [offset, offset + length) of a file, ordered by its offset alone. */
    public record Range(long offset, long length) implements Comparable<Range> {
        public Range {
            if (offset < 0 || length <= 0 || offset + length < 0) {
                throw new IllegalArgumentException("bad range " + offset + "+" + length);
            }
        }

        @Override
        public int compareTo(Range o) {
            return Long.compare(offset, o.offset);
        }

        public long end() {
            return offset + length;
        }

        /** Sorted, disjoint, non-adjacent ranges covering exactly the union of the given ones. */
        public static List<Range> merge(List<Range> ranges) {
            if (ranges.isEmpty()) {
                return List.of();
            }
            Range[] sorted = ranges.toArray(new Range[0]);
            Arrays.sort(sorted);   // by offset (stable)
            List<Range> out = new ArrayList<>();
            long start = sorted[0].offset;
            long end = sorted[0].end();
            for (int i = 1; i < sorted.length; i++) {
                Range r = sorted[i];
                if (r.offset <= end) {
                    end = Math.max(end, r.end());
                } else {
                    out.add(new Range(start, end - start));
                    start = r.offset;
                    end = r.end();
                }
            }
            out.add(new Range(start, end - start));
            return Collections.unmodifiableList(out);
        }
    }

    /** What stat (without following a final symlink) says of a path inside the rootfs. */
    public record Stat(String type, long ino, long size, long mtimeNs, int mode) {
        public Stat {
            if (!FILE.equals(type) && !DIR.equals(type) && !LINK.equals(type)) {
                // Devices, FIFOs and sockets are never read by the profiler; they identify as
                // "other" so that they can only ever fail a comparison with a recorded file.
                if (!"other".equals(type)) {
                    throw new IllegalArgumentException("bad stat type " + type);
                }
            }
        }

        // Written out: a record's generated equals and hashCode link through an invokedynamic
        // bootstrap (ObjectMethods) whose method handles cost a cold hook 15-20 ms on first use.
        @Override
        public boolean equals(Object o) {
            return o instanceof Stat s && type.equals(s.type) && ino == s.ino && size == s.size
                    && mtimeNs == s.mtimeNs && mode == s.mode;
        }

        @Override
        public int hashCode() {
            int h = type.hashCode();
            h = 31 * h + Long.hashCode(ino);
            h = 31 * h + Long.hashCode(size);
            h = 31 * h + Long.hashCode(mtimeNs);
            return 31 * h + mode;
        }
    }

    /**
     * How the validator sees the rootfs. The hook's implementation resolves every path through the
     * same descriptor-based, in-root resolution the profiler uses (never a host path string), so a
     * symlink planted in the image cannot redirect validation elsewhere.
     */
    public interface Reader {
        /** lstat of the path inside the rootfs; empty when it does not exist. */
        Optional<Stat> stat(String path) throws IOException;

        /**
         * Up to {@code length} bytes of the regular file at {@code offset}; fewer only at the end
         * of the file.
         */
        byte[] read(String path, long offset, int length) throws IOException;

        /** The target of the symbolic link at path (as readlink gives it). */
        String readLink(String path) throws IOException;

        /** The names in the directory, without "." and "..", in any order. */
        List<String> list(String path) throws IOException;

        /**
         * The canonical path that path resolves to now (following a final symlink or not), empty
         * when it does not resolve. Readers that cannot resolve make every {@code resolve}
         * identity a difference.
         */
        default Optional<String> resolve(String path, boolean followLast) throws IOException {
            throw new IOException("this reader cannot resolve paths");
        }

        /** The digest of the ranges' bytes (see {@link FileIdentity#rangesDigest}); readers may read the file once. */
        default String rangesDigest(String path, List<Range> ranges) throws IOException {
            return FileIdentity.rangesDigest(this, path, ranges);
        }
    }

    public FileIdentity {
        if (path == null || path.isEmpty() || path.charAt(0) != '/' || path.length() > MAX_PATH || path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad identity path");
        }
        if (!FILE.equals(type) && !DIR.equals(type) && !LINK.equals(type) && !MISSING.equals(type) && !RESOLVE.equals(type)) {
            throw new IllegalArgumentException(path + ": bad identity type " + type);
        }
        ranges = ranges == null ? List.of() : List.copyOf(ranges);
        if (ranges.size() > MAX_RANGES) {
            throw new IllegalArgumentException(path + ": more than " + MAX_RANGES + " ranges");
        }
        long prevEnd = -1;
        for (Range r : ranges) {
            if (r.offset() <= prevEnd) {
                throw new IllegalArgumentException(path + ": ranges are not merged");
            }
            prevEnd = r.end();
        }
        if (!ranges.isEmpty() && !FILE.equals(type)) {
            throw new IllegalArgumentException(path + ": only files have ranges");
        }
        if (!ranges.isEmpty() && sha256 == null) {
            throw new IllegalArgumentException(path + ": ranges without their digest");
        }
        if (sha256 != null && !isHex64(sha256)) {
            throw new IllegalArgumentException(path + ": bad sha256");
        }
        if (MISSING.equals(type) && (ino != 0 || size != 0 || mtimeNs != 0 || mode != 0 || sha256 != null)) {
            throw new IllegalArgumentException(path + ": a missing path has no metadata");
        }
        if (RESOLVE.equals(type) && (ino != 0 || size != 0 || mtimeNs != 0 || (mode != 0 && mode != 1) || sha256 == null)) {
            throw new IllegalArgumentException(path + ": a lookup has only its mode and its result's digest");
        }
    }

    public static FileIdentity missing(String path) {
        return new FileIdentity(path, MISSING, 0, 0, 0, 0, List.of(), null);
    }

    /** The identity of a path with the given stat (metadata only, no content evidence). */
    public static FileIdentity of(String path, Stat st) {
        return new FileIdentity(path, st.type(), st.ino(), st.size(), st.mtimeNs(), st.mode(), List.of(), null);
    }

    /**
     * A lookup: path, asked following a final symlink or not, resolved to canonical (null:
     * nothing).
     */
    public static FileIdentity resolution(String path, boolean followLast, String canonical) {
        return new FileIdentity(path, RESOLVE, 0, 0, 0, followLast ? 1 : 0, List.of(), resolutionDigest(canonical));
    }

    static String resolutionDigest(String canonical) {
        // A NUL cannot be in a path: it stands for "resolves to nothing".
        return linkDigest(canonical == null ? "\0" : canonical);
    }

    /** The same identity with content evidence. */
    public FileIdentity withContent(List<Range> merged, String digest) {
        return new FileIdentity(path, type, ino, size, mtimeNs, mode, merged, digest);
    }

    /** Whether a fresh stat agrees with the recorded metadata. */
    public boolean sameMetadata(Stat st) {
        return type.equals(st.type()) && ino == st.ino() && size == st.size() && mtimeNs == st.mtimeNs() && mode == st.mode();
    }

    /**
     * Checks every identity against the rootfs as the reader sees it now: first all stats (cheap,
     * and the usual way a stale entry fails), then the content evidence. Returns null when all
     * still hold, else a one-line reason naming the first path that differs. A read error counts
     * as a difference (a file that cannot be read now cannot vouch for the entry). At most
     * {@code maxBytes} are re-read in all; an entry needing more is reported as not valid.
     */
    public static String validate(List<FileIdentity> files, Reader reader, long maxBytes) {
        try {
            for (FileIdentity f : files) {
                if (RESOLVE.equals(f.type)) {
                    Optional<String> now = reader.resolve(f.path, f.mode == 1);
                    if (!f.sha256.equals(resolutionDigest(now.orElse(null)))) {
                        return f.path + ": " + (now.isPresent() ? "now resolves to " + now.get() : "no longer resolves");
                    }
                    continue;
                }
                Optional<Stat> st = reader.stat(f.path);
                if (MISSING.equals(f.type)) {
                    if (st.isPresent()) {
                        return f.path + ": now exists";
                    }
                } else if (st.isEmpty()) {
                    return f.path + ": is gone";
                } else if (!f.sameMetadata(st.get())) {
                    return f.path + ": metadata changed";
                }
            }
            long budget = maxBytes;
            for (FileIdentity f : files) {
                if (f.sha256 == null || RESOLVE.equals(f.type)) {
                    continue;
                }
                String digest;
                switch (f.type) {
                    case FILE -> {
                        for (Range r : f.ranges) {
                            budget -= r.length();
                        }
                        if (budget < 0) {
                            return f.path + ": more than " + maxBytes + " bytes to re-check";
                        }
                        digest = reader.rangesDigest(f.path, f.ranges);
                    }
                    case LINK -> digest = linkDigest(reader.readLink(f.path));
                    case DIR -> digest = listingDigest(reader.list(f.path));
                    default -> digest = null;
                }
                if (!f.sha256.equals(digest)) {
                    return f.path + ": content changed";
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "cannot re-check the recorded files: " + e.getMessage();
        }
    }

    /** SHA-256 hex of the ranges' bytes in order, read through the reader; null when the file is shorter. */
    static String rangesDigest(Reader reader, String path, List<Range> ranges) throws IOException {
        MessageDigest md = newDigest();
        for (Range r : ranges) {
            long off = r.offset();
            long left = r.length();
            while (left > 0) {
                int n = (int) Math.min(left, CHUNK);
                byte[] b = reader.read(path, off, n);
                if (b == null || b.length != n) {
                    return null;
                }
                md.update(b);
                off += n;
                left -= n;
            }
        }
        return hex(md.digest());
    }

    /** strcmp's order of byte strings; a class, not a method reference (no lambda on a cold hook). */
    private static final java.util.Comparator<byte[]> UNSIGNED = new java.util.Comparator<byte[]>() {
        @Override
        public int compare(byte[] a, byte[] b) {
            return Arrays.compareUnsigned(a, b);
        }
    };

    static String linkDigest(String target) {
        return hex(newDigest().digest(target.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The names sorted by their UTF-8 bytes (unsigned, strcmp order), each followed by a NUL: the
     * same digest the mount helper computes from getdents64 (native-shims, expect-dir).
     */
    static String listingDigest(List<String> names) {
        byte[][] sorted = new byte[names.size()][];
        for (int i = 0; i < sorted.length; i++) {
            sorted[i] = names.get(i).getBytes(StandardCharsets.UTF_8);
        }
        Arrays.sort(sorted, UNSIGNED);
        MessageDigest md = newDigest();
        for (byte[] n : sorted) {
            md.update(n);
            md.update((byte) 0);
        }
        return hex(md.digest());
    }

    static MessageDigest newDigest() {
        return new io.bypass.util.Sha256();
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    static String hex(byte[] b) {
        char[] c = new char[b.length * 2];
        for (int i = 0; i < b.length; i++) {
            c[2 * i] = HEX[(b[i] >> 4) & 15];
            c[2 * i + 1] = HEX[b[i] & 15];
        }
        return new String(c);
    }

    static boolean isHex64(String s) {
        if (s.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }
}
