package io.bypass.cache;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Collects, while a profile is computed, what it read of each container file, and turns that into
 * {@link FileIdentity} records whose digests are over the very bytes the profiler parsed (never a
 * second read afterwards, which a user could race: parse one content, hash another).
 *
 * <p>The container reader calls {@link #stat} on each path it resolves, {@link #read} with the
 * bytes each read returned, {@link #link} and {@link #listing} for what it followed or listed.
 * Bytes are kept until {@link #identities()}; past {@link #maxBytes} in all the profile is marked
 * uncacheable (it still runs; only the entry is not written). The same path seen with two
 * different stats, or the same offset read twice with different bytes, means the file changed
 * under the profiler: uncacheable too. Not thread-safe: one recorder per profile.
 */
public final class IdentityRecorder {
    /** Default bound on the bytes kept: the profile of an MPI image reads a few MiB at most. */
    public static final long DEFAULT_MAX_BYTES = 16L << 20;

    private final long maxBytes;
    private long kept;
    private String uncacheable;
    private final Map<String, Rec> files = new LinkedHashMap<>();
    /** Lookups by "F"/"N" + path: their canonical result ("" + NUL for nothing). */
    private final Map<String, String> resolutions = new LinkedHashMap<>();
    /** Identities in the order first seen: a path ("P" + path) or a lookup ("F"/"N" + path). */
    private final List<String> order = new ArrayList<>();

    private static final class Rec {
        final FileIdentity.Stat stat;      // null: missing
        final TreeMap<Long, byte[]> chunks = new TreeMap<>();
        String linkTarget;
        List<String> listing;

        Rec(FileIdentity.Stat stat) {
            this.stat = stat;
        }
    }

    public IdentityRecorder() {
        this(DEFAULT_MAX_BYTES);
    }

    public IdentityRecorder(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** The profiler resolved path and found st (empty: it does not exist). */
    public void stat(String path, Optional<FileIdentity.Stat> st) {
        Rec r = files.get(path);
        FileIdentity.Stat s = st.orElse(null);
        if (r == null) {
            files.put(path, new Rec(s));
            order.add("P" + path);
        } else if (r.stat == null ? s != null : !r.stat.equals(s)) {
            markUncacheable(path + " changed while it was profiled");
        }
    }

    /**
     * The profiler looked path up (following a final symlink or not) and it resolved to the
     * canonical path (null: to nothing). A lookup that went through no link and found the path
     * itself needs no record of its own: the validator's stat of the canonical path checks that it
     * still resolves to itself. Paths are taken from "/" (as the container reader does).
     */
    public void resolved(String path, boolean followLast, String canonical) {
        if (path.isEmpty()) {
            return;   // never resolves, whatever the image holds
        }
        String asked = path.charAt(0) == '/' ? path : "/" + path;
        if (asked.equals(canonical)) {
            return;
        }
        if (asked.length() > FileIdentity.MAX_PATH) {
            markUncacheable("a path longer than " + FileIdentity.MAX_PATH + " was looked up");
            return;
        }
        String k = (followLast ? "F" : "N") + asked;
        String v = canonical == null ? "\0" : canonical;
        String old = resolutions.putIfAbsent(k, v);
        if (old == null) {
            order.add(k);
        } else if (!old.equals(v)) {
            markUncacheable(asked + " changed while it was profiled");
        }
    }

    /** The profiler read these bytes of path at offset (after {@link #stat} of it). */
    public void read(String path, long offset, byte[] bytes, int len) {
        if (len <= 0 || uncacheable != null) {
            return;
        }
        Rec r = files.get(path);
        if (r == null || r.stat == null || !FileIdentity.FILE.equals(r.stat.type())) {
            markUncacheable(path + " was read without being statted as a file");
            return;
        }
        kept += len;
        if (kept > maxBytes) {
            markUncacheable("the profile read more than " + maxBytes + " bytes");
            r.chunks.clear();
            return;
        }
        byte[] copy = new byte[len];
        System.arraycopy(bytes, 0, copy, 0, len);
        byte[] old = r.chunks.get(offset);
        if (old == null || old.length < len) {
            if (old != null && !prefixEquals(old, copy)) {
                markUncacheable(path + " changed while it was profiled");
            }
            r.chunks.put(offset, copy);
        } else if (!prefixEquals(copy, old)) {
            markUncacheable(path + " changed while it was profiled");
        }
    }

    /** The profiler followed the symbolic link at path to target. */
    public void link(String path, String target) {
        Rec r = files.get(path);
        if (r == null || r.stat == null || !FileIdentity.LINK.equals(r.stat.type())) {
            markUncacheable(path + " was read as a link without being statted as one");
            return;
        }
        if (r.linkTarget != null && !r.linkTarget.equals(target)) {
            markUncacheable(path + " changed while it was profiled");
        }
        r.linkTarget = target;
    }

    /** The profiler listed the directory at path. */
    public void listing(String path, List<String> names) {
        Rec r = files.get(path);
        if (r == null || r.stat == null || !FileIdentity.DIR.equals(r.stat.type())) {
            markUncacheable(path + " was listed without being statted as a directory");
            return;
        }
        List<String> copy = List.copyOf(names);
        if (r.listing != null && !FileIdentity.listingDigest(r.listing).equals(FileIdentity.listingDigest(copy))) {
            markUncacheable(path + " changed while it was profiled");
        }
        r.listing = copy;
    }

    /** Something the cache cannot capture happened (a read error, a budget hit): no entry. */
    public void markUncacheable(String why) {
        if (uncacheable == null) {
            uncacheable = why;
        }
    }

    /** Why no entry may be written, or null. */
    public String uncacheableReason() {
        return uncacheable;
    }

    /**
     * The identities, in the order the paths were first seen (the validator stats them in that
     * order, so the files most likely to differ, the first the profiler opened, fail it first).
     * Empty when the profile is uncacheable.
     */
    public Optional<List<FileIdentity>> identities() {
        if (uncacheable != null) {
            return Optional.empty();
        }
        List<FileIdentity> out = new ArrayList<>(order.size());
        for (String o : order) {
            if (o.charAt(0) != 'P') {
                String v = resolutions.get(o);
                out.add(FileIdentity.resolution(o.substring(1), o.charAt(0) == 'F', v.equals("\0") ? null : v));
                continue;
            }
            String path = o.substring(1);
            Rec r = files.get(path);
            if (r.stat == null) {
                out.add(FileIdentity.missing(path));
                continue;
            }
            if (!FileIdentity.FILE.equals(r.stat.type()) && !FileIdentity.DIR.equals(r.stat.type())
                    && !FileIdentity.LINK.equals(r.stat.type())) {
                // A device or FIFO the profiler only looked at: it refused to read it. Record it as
                // something that cannot validate, so such a profile is simply never cached.
                return Optional.empty();
            }
            FileIdentity id = FileIdentity.of(path, r.stat);
            if (!r.chunks.isEmpty()) {
                List<FileIdentity.Range> merged = new ArrayList<>();
                MessageDigest md = FileIdentity.newDigest();
                List<Map.Entry<Long, byte[]>> open = new ArrayList<>();   // earlier chunks reaching past off
                long end = -1;
                long start = -1;
                for (Map.Entry<Long, byte[]> c : r.chunks.entrySet()) {
                    long off = c.getKey();
                    byte[] b = c.getValue();
                    long cEnd = off + b.length;
                    for (int i = open.size() - 1; i >= 0; i--) {
                        Map.Entry<Long, byte[]> p = open.get(i);
                        long pEnd = p.getKey() + p.getValue().length;
                        if (pEnd <= off) {
                            open.remove(i);
                        } else if (!overlapEquals(p.getKey(), p.getValue(), off, b)) {
                            markUncacheable(path + " changed while it was profiled");
                            return Optional.empty();
                        }
                    }
                    open.add(c);
                    if (cEnd <= end) {
                        continue;   // wholly inside what is already hashed
                    }
                    int skip = off < end ? (int) (end - off) : 0;
                    if (off > end) {
                        if (start >= 0) {
                            merged.add(new FileIdentity.Range(start, end - start));
                        }
                        start = off;
                    }
                    md.update(b, skip, b.length - skip);
                    end = cEnd;
                }
                merged.add(new FileIdentity.Range(start, end - start));
                if (merged.size() > FileIdentity.MAX_RANGES) {
                    return Optional.empty();
                }
                id = id.withContent(merged, FileIdentity.hex(md.digest()));
            } else if (r.linkTarget != null) {
                id = id.withContent(List.of(), FileIdentity.linkDigest(r.linkTarget));
            } else if (r.listing != null) {
                id = id.withContent(List.of(), FileIdentity.listingDigest(r.listing));
            }
            out.add(id);
        }
        return Optional.of(out);
    }

    private static boolean prefixEquals(byte[] shorter, byte[] longer) {
        // Arrays.equals compares 8 bytes at a time (ArraysSupport.mismatch): a byte loop was 6 %
        // of a cold hook's samples, run by the interpreter before C1 compiles it.
        return java.util.Arrays.equals(shorter, 0, shorter.length, longer, 0, shorter.length);
    }

    /** Whether two chunks (a at aOff, b at bOff) agree where they overlap. */
    private static boolean overlapEquals(long aOff, byte[] a, long bOff, byte[] b) {
        long from = Math.max(aOff, bOff);
        long to = Math.min(aOff + a.length, bOff + b.length);
        if (from >= to) {
            return true;
        }
        return java.util.Arrays.equals(a, (int) (from - aOff), (int) (to - aOff), b, (int) (from - bOff), (int) (to - bOff));
    }
}
