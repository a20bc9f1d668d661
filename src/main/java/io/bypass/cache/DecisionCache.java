package io.bypass.cache;

import io.bypass.util.AtomicFile;

import io.bypass.BypassException;
import io.bypass.util.Ownership;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A node's cache of decisions: one file per (key, variant) under a root-only directory.
 *
 * <p>Layout of the root (0700, root's): {@code entries/KEY.N} (N in 0..variants-1: one key may
 * hold the entries of a few different images, say two jobs whose requests look alike),
 * {@code locks/XX.lock} (per-key locks, striped by the key's first two hex digits; never removed,
 * so a lock file cannot be unlinked under a process waiting on it), {@code .evict.lock}.
 *
 * <p>An entry is written to a temporary file in {@code entries/} and renamed over its name, so a
 * reader sees a whole old entry, a whole new one, or none; not fsynced: an entry a crash loses is
 * a miss, and one it tears fails the checksum. Each entry ends with the CRC-32 of its bytes and
 * starts with its own key: a truncated, corrupt or misplaced (foreign)
 * file is never used, and is removed. Reads are bounded by {@link Options#maxEntryBytes}. A hit
 * sets the entry's mtime to now (at most once a minute): eviction removes the least recently
 * used entries once the directory exceeds {@link Options#maxBytes} or {@link Options#maxEntries}.
 *
 * <p>Failures of the cache itself never fail a decision: a read error is a miss, a write error is
 * reported in {@link Result#storeError()} and the computed decision is returned all the same. Only
 * {@link #open} refuses, with one line, a directory that someone other than root could change.
 */
public final class DecisionCache {
    public static final String DEFAULT_DIR = "/var/cache/bypass/decisions";
    /**
     * How long a rank waits for the one computing. Waiting is cheaper than computing again
     * whenever the holder is alive (a holder that dies releases its lock at once), and its work is
     * bounded by the profile's budget (2 s of CPU). 64 ranks starting on 2 CPUs: with 2 s the
     * waiters gave up before the holder was done and all computed (64 containers: 59.6 s of hook
     * CPU, 35.9 s until all started); with 30 s they hit (28.6 s of CPU, 19.5 s).
     */
    public static final Duration DEFAULT_WAIT = Duration.ofSeconds(30);

    private static final byte[] MAGIC = "bypassDC".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 4;
    private static final int DIGEST = 32;
    /** The entry's trailer: the CRC-32 of everything before it. */
    private static final int CHECK = 4;
    private static final long TOUCH_AFTER_MS = 60_000;
    private static final long STALE_TEMP_MS = 10 * 60_000;
    private static final long POLL_MIN_NS = 2_000_000;
    private static final long POLL_MAX_NS = 20_000_000;

    /** Bounds and ownership. */
    public record Options(long maxBytes, int maxEntries, int maxEntryBytes, int variants, long maxValidateBytes,
                          int ownerUid) {
        public static Options defaults() {
            return new Options(64L << 20, 4096, 4 << 20, 4, 64L << 20, 0);
        }

        public Options withOwner(int uid) {
            return new Options(maxBytes, maxEntries, maxEntryBytes, variants, maxValidateBytes, uid);
        }

        public Options withMaxBytes(long max) {
            return new Options(max, maxEntries, maxEntryBytes, variants, maxValidateBytes, ownerUid);
        }

        public Options withMaxEntries(int max) {
            return new Options(maxBytes, max, maxEntryBytes, variants, maxValidateBytes, ownerUid);
        }

        public Options {
            if (maxBytes <= 0 || maxEntries <= 0 || maxEntryBytes <= 0 || variants <= 0 || variants > 16) {
                throw new IllegalArgumentException("bad cache options");
            }
        }
    }

    /** A stored decision: the caller's opaque payload and the files it was computed from. */
    public record Entry(String key, int variant, long createdMillis, byte[] payload, Expectations files) {
    }

    /** Decides whether an entry may be used now (typically {@link #filesValidator}). */
    public interface Validator {
        /** null when the entry holds; else why not (one line, for the trace). */
        String problem(Entry entry);
    }

    /** Computes a decision on a miss. */
    public interface Computer {
        Computed compute();
    }

    /**
     * A freshly computed decision. files empty: not cacheable (the profile could not record its
     * reads, or the decision must not be reused); the payload is returned but not stored.
     */
    public record Computed(byte[] payload, Optional<List<FileIdentity>> files) {
    }

    public enum Outcome {
        /** A valid entry was there. */
        HIT,
        /** Another process held the key's lock; its entry was there once it let go. */
        WAITED_HIT,
        /** Computed here (no valid entry; the lock was free or was taken after waiting). */
        COMPUTED,
        /** Computed here after waiting the whole timeout for the key's lock. */
        COMPUTED_AFTER_TIMEOUT
    }

    /**
     * @param missReason why the last entry looked at was not used (null when none was there)
     * @param storeError why the computed decision could not be stored (null when it was, or was
     *                   not cacheable)
     * @param waitedNanos time spent waiting for the key's lock
     */
    public record Result(byte[] payload, Outcome outcome, String missReason, String storeError, long waitedNanos) {
    }

    private final Path root;
    private final Path entries;
    private final Path locks;
    private final Options options;

    private DecisionCache(Path root, Options options) {
        this.root = root;
        this.entries = root.resolve("entries");
        this.locks = root.resolve("locks");
        this.options = options;
    }

    /**
     * Opens (creating, 0700, what is missing) the cache at root. Refuses, with one line naming the
     * directory, a root, {@code entries} or {@code locks} that is a symbolic link, is not owned by
     * root ({@link Options#ownerUid}), or is accessible to group or others, and a parent that
     * others may write without the sticky bit (they could rename the cache away).
     */
    public static DecisionCache open(Path root, Options options) {
        Path abs = root.toAbsolutePath().normalize();
        DecisionCache c = new DecisionCache(abs, options);
        try {
            makeDir(abs);
            checkParent(abs.getParent(), options.ownerUid);
            checkDir(abs, options.ownerUid);
            makeDir(c.entries);
            checkDir(c.entries, options.ownerUid);
            makeDir(c.locks);
            checkDir(c.locks, options.ownerUid);
        } catch (IOException e) {
            throw BypassException.badInput(abs + ": cannot use the decision cache: " + e.getMessage());
        }
        return c;
    }

    public static DecisionCache open(Path root) {
        return open(root, Options.defaults());
    }

    public Path root() {
        return root;
    }

    public Options options() {
        return options;
    }

    /** The validator of the usual kind: every recorded file re-checked through reader. */
    public Validator filesValidator(FileIdentity.Reader reader) {
        return new FilesValidator(reader, options.maxValidateBytes);
    }

    /** A class, not a lambda: the hit path should load as few classes as it can. */
    private static final class FilesValidator implements Validator {
        private final FileIdentity.Reader reader;
        private final long max;

        FilesValidator(FileIdentity.Reader reader, long max) {
            this.reader = reader;
            this.max = max;
        }

        @Override
        public String problem(Entry entry) {
            return FileIdentity.validate(entry.files().files(), reader, max);
        }
    }

    // ---------------------------------------------------------------- the one call of the hook

    /**
     * The decision for key: a valid stored one, else one computed here. When no valid entry is
     * there, the key's lock is taken first, waiting at most waitTimeout for another process that
     * holds it (a rank of the same job computing the same decision). A process that had to wait
     * lets go of the lock at once and looks for the holder's entry without it, so the ranks that
     * waited check their entries side by side, not one after another under the lock; only when
     * there is none does it take the lock again, to compute. After the timeout it computes without
     * the lock. An exception of the computer reaches the caller; nothing is stored.
     */
    public Result getOrCompute(String key, Validator validator, Computer computer, Duration waitTimeout) {
        requireKey(key);
        String[] why = new String[1];
        Entry hit = lookup(key, validator, why);
        if (hit != null) {
            return new Result(hit.payload(), Outcome.HIT, null, null, 0);
        }
        long t0 = System.nanoTime();
        long deadline = t0 + Math.max(0, waitTimeout.toNanos());
        Lock lock = lockKey(key, false, t0);
        boolean waitedForHolder = false;
        if (lock == null && deadline > t0) {
            // Held: wait for the holder to let go, all waiters at once (a shared lock), then look
            // for its entry without any lock.
            Lock released = lockKey(key, true, deadline);
            if (released != null) {
                released.release();
                waitedForHolder = true;
                hit = lookup(key, validator, why);
                if (hit != null) {
                    return new Result(hit.payload(), Outcome.WAITED_HIT, why[0], null, System.nanoTime() - t0);
                }
                lock = lockKey(key, false, deadline);
            }
        }
        long waited = System.nanoTime() - t0;
        try {
            if (lock != null) {
                // Another process may have stored it between the miss and the lock: look again
                // before computing.
                hit = lookup(key, validator, why);
                if (hit != null) {
                    Outcome o = waitedForHolder || lock.contended ? Outcome.WAITED_HIT : Outcome.HIT;
                    return new Result(hit.payload(), o, why[0], null, waited);
                }
            }
            Computed c = computer.compute();
            String storeError = null;
            if (c.files().isPresent()) {
                storeError = store(key, c.payload(), c.files().get());
            }
            return new Result(c.payload(), lock == null ? Outcome.COMPUTED_AFTER_TIMEOUT : Outcome.COMPUTED, why[0],
                    storeError, waited);
        } finally {
            if (lock != null) {
                lock.release();
            }
        }
    }

    // ---------------------------------------------------------------- lookup

    /** How many variant files key has now (0 to the variants option), whether valid or not. */
    public int presentVariants(String key) {
        requireKey(key);
        int n = 0;
        for (int v = 0; v < options.variants; v++) {
            if (Files.exists(entryPath(key, v), LinkOption.NOFOLLOW_LINKS)) {
                n++;
            }
        }
        return n;
    }

    /** The first variant of key that parses and that the validator accepts; empty when none. */
    public Optional<Entry> lookup(String key, Validator validator) {
        requireKey(key);
        return Optional.ofNullable(lookup(key, validator, new String[1]));
    }

    private Entry lookup(String key, Validator validator, String[] why) {
        for (int v = 0; v < options.variants; v++) {
            Path file = entryPath(key, v);
            Entry e = readEntry(file, key, v, why);
            if (e == null) {
                continue;
            }
            String problem = validator.problem(e);
            if (problem == null) {
                touch(file);
                return e;
            }
            why[0] = problem;
        }
        return null;
    }

    /** The entry in file, or null (missing, or bad and then removed; why[0] says which). */
    Entry readEntry(Path file, String key, int variant, String[] why) {
        Object fileKey = null;
        byte[] data;
        try {
            Map<String, Object> a = Files.readAttributes(file, "unix:mode,uid,size,ino,dev", LinkOption.NOFOLLOW_LINKS);
            fileKey = a.get("ino") + ":" + a.get("dev");
            int mode = (Integer) a.get("mode");
            if ((mode & 0170000) != 0100000 || (Integer) a.get("uid") != options.ownerUid || (mode & 022) != 0) {
                return discard(file, fileKey, why, "not a file of the cache's owner");
            }
            if ((Long) a.get("size") > options.maxEntryBytes) {
                return discard(file, fileKey, why, "larger than " + options.maxEntryBytes + " bytes");
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
                 InputStream in = Channels.newInputStream(ch)) {
                data = in.readNBytes(options.maxEntryBytes + 1);
            }
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            why[0] = file.getFileName() + ": cannot read: " + e.getMessage();
            return null;
        }
        if (data.length > options.maxEntryBytes) {
            return discard(file, fileKey, why, "larger than " + options.maxEntryBytes + " bytes");
        }
        try {
            return decode(data, key, variant);
        } catch (RuntimeException e) {
            return discard(file, fileKey, why, "corrupt (" + e.getMessage() + ")");
        }
    }

    private Entry discard(Path file, Object fileKey, String[] why, String what) {
        why[0] = file.getFileName() + ": " + what + "; removed";
        try {
            // Only if it is still the file that was read: a writer may have renamed a good one in.
            Map<String, Object> a = Files.readAttributes(file, "unix:ino,dev", LinkOption.NOFOLLOW_LINKS);
            if (fileKey == null || fileKey.equals(a.get("ino") + ":" + a.get("dev"))) {
                Files.deleteIfExists(file);
            }
        } catch (IOException | RuntimeException ignored) {
            // Gone already, or not ours to remove: a miss either way.
        }
        return null;
    }

    private static void touch(Path file) {
        try {
            long now = System.currentTimeMillis();
            FileTime m = Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS);
            if (now - m.toMillis() > TOUCH_AFTER_MS) {
                Files.setLastModifiedTime(file, FileTime.fromMillis(now));
            }
        } catch (IOException | RuntimeException ignored) {
            // The stamp only orders eviction.
        }
    }

    // ---------------------------------------------------------------- store

    /**
     * Stores a decision under key atomically, in the variant that holds the same file list, else a
     * free one, else the least recently used one. null when stored, else why not (one line).
     */
    public String store(String key, byte[] payload, List<FileIdentity> files) {
        requireKey(key);
        Expectations expectations = Expectations.of(files);
        byte[] data;
        try {
            data = encode(key, System.currentTimeMillis(), payload, expectations);
        } catch (IOException | RuntimeException e) {
            return "cannot encode the entry: " + e.getMessage();
        }
        if (data.length > options.maxEntryBytes) {
            return "the entry would be " + data.length + " bytes, more than " + options.maxEntryBytes;
        }
        int slot = chooseVariant(key, expectations);
        Path target = entryPath(key, slot);
        try {
            AtomicFile.writeUnsynced(target, data, PosixFilePermissions.fromString("rw-------"));
        } catch (BypassException e) {
            return e.getMessage();
        }
        evictIfNeeded();
        return null;
    }

    private int chooseVariant(String key, Expectations files) {
        int free = -1;
        int oldest = 0;
        long oldestTime = Long.MAX_VALUE;
        String[] ignored = new String[1];
        for (int v = 0; v < options.variants; v++) {
            Path p = entryPath(key, v);
            Entry e = readEntry(p, key, v, ignored);
            if (e == null) {
                if (free < 0) {
                    free = v;
                }
                continue;
            }
            if (e.files().equals(files)) {
                return v;
            }
            try {
                long t = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis();
                if (t < oldestTime) {
                    oldestTime = t;
                    oldest = v;
                }
            } catch (IOException gone) {
                if (free < 0) {
                    free = v;
                }
            }
        }
        return free >= 0 ? free : oldest;
    }

    /** Removes every entry (`bypass cache clear`, and tests). */
    public int clear() {
        int n = 0;
        for (Path p : listEntries()) {
            try {
                if (Files.deleteIfExists(p)) {
                    n++;
                }
            } catch (IOException ignored) {
                // Someone else removed it.
            }
        }
        return n;
    }

    /** Least recently used first, down to 90 % of the bounds; stale temporary files too. */
    void evictIfNeeded() {
        try (FileChannel ch = FileChannel.open(root.resolve(".evict.lock"), Set.of(StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rw-------")))) {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                return;   // this JVM is evicting already
            }
            if (l == null) {
                return;   // another process is evicting
            }
            try {
                evict();
            } finally {
                l.release();
            }
        } catch (IOException | RuntimeException ignored) {
            // The bound is kept by the next writer.
        }
    }

    private void evict() throws IOException {
        List<Path> files = new ArrayList<>();
        long now = System.currentTimeMillis();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(entries)) {
            for (Path p : ds) {
                files.add(p);
            }
        }
        List<long[]> stats = new ArrayList<>();   // {index, mtime, size}
        long total = 0;
        for (int i = 0; i < files.size(); i++) {
            Path p = files.get(i);
            String fn = p.getFileName().toString();
            try {
                Map<String, Object> a = Files.readAttributes(p, "unix:size,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
                long m = ((FileTime) a.get("lastModifiedTime")).toMillis();
                long size = (Long) a.get("size");
                if (fn.startsWith(".tmp-")) {
                    if (now - m > STALE_TEMP_MS) {
                        Files.deleteIfExists(p);   // a writer that died before its rename
                    }
                    continue;
                }
                if (!isEntryName(fn)) {
                    Files.deleteIfExists(p);   // not ours
                    continue;
                }
                stats.add(new long[] {i, m, size});
                total += size;
            } catch (NoSuchFileException gone) {
                // Removed meanwhile.
            }
        }
        if (total <= options.maxBytes && stats.size() <= options.maxEntries) {
            return;
        }
        stats.sort((a, b) -> Long.compare(a[1], b[1]));
        long targetBytes = options.maxBytes / 10 * 9;
        int targetCount = Math.max(1, options.maxEntries / 10 * 9);
        int count = stats.size();
        for (long[] s : stats) {
            if (total <= targetBytes && count <= targetCount) {
                break;
            }
            if (Files.deleteIfExists(files.get((int) s[0]))) {
                total -= s[2];
                count--;
            }
        }
    }

    private List<Path> listEntries() {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(entries)) {
            for (Path p : ds) {
                if (isEntryName(p.getFileName().toString())) {
                    out.add(p);
                }
            }
        } catch (IOException ignored) {
            // An unreadable directory holds nothing usable.
        }
        return out;
    }

    private boolean isEntryName(String fn) {
        int dot = fn.lastIndexOf('.');
        if (dot != 64 || !FileIdentity.isHex64(fn.substring(0, 64))) {
            return false;
        }
        try {
            int v = Integer.parseInt(fn.substring(65));
            return v >= 0 && v < options.variants && fn.substring(65).equals(Integer.toString(v));
        } catch (NumberFormatException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- per-key locks

    private static final class Lock {
        final FileChannel channel;
        final FileLock lock;
        final boolean contended;

        Lock(FileChannel channel, FileLock lock, boolean contended) {
            this.channel = channel;
            this.lock = lock;
            this.contended = contended;
        }

        void release() {
            try {
                lock.release();
            } catch (IOException | RuntimeException ignored) {
                // Closing the channel releases it too.
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // Nothing held any more.
            }
        }
    }

    /**
     * Takes the key's lock, exclusive or shared, waiting until deadline (System.nanoTime()) while
     * another process holds it; null when it stayed held, or could not be taken at all (then the
     * caller computes without it). The wait blocks in the kernel rather than polling: a hook
     * polling every 2-20 ms spent 30-50 ms of CPU per 5 s of waiting, CPU that the one rank
     * computing for the others needs.
     */
    private Lock lockKey(String key, boolean shared, long deadline) {
        Path file = locks.resolve(key.substring(0, 2) + ".lock");
        FileChannel ch;
        try {
            ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        FileLock l = null;
        try {
            l = ch.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            // Another thread of this JVM holds it: the same as another process.
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            return null;
        }
        if (l != null) {
            return new Lock(ch, l, false);
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            closeQuietly(ch);
            return null;
        }
        LockWaiter waiter = new LockWaiter(ch, shared);
        waiter.start();
        try {
            // Rounded up: join takes whole milliseconds, and truncated it gave up to 1 ms early.
            waiter.join((left + 999_999) / 1_000_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        FileLock got = waiter.lock;
        if (got == null) {
            // Closing the channel wakes the waiter, and releases a lock it took just now.
            closeQuietly(ch);
            return null;
        }
        return new Lock(ch, got, true);
    }

    /**
     * Blocks in FileChannel.lock for the caller, which can stop waiting (join with a timeout,
     * then close the channel); Java has no lock call with a timeout.
     */
    private static final class LockWaiter extends Thread {
        private final FileChannel channel;
        private final boolean shared;
        volatile FileLock lock;

        LockWaiter(FileChannel channel, boolean shared) {
            super("bypass-cache-lock");
            setDaemon(true);
            this.channel = channel;
            this.shared = shared;
        }

        @Override
        public void run() {
            long pause = POLL_MIN_NS;
            while (true) {
                try {
                    lock = channel.lock(0, Long.MAX_VALUE, shared);
                    return;
                } catch (OverlappingFileLockException e) {
                    // Held by another thread of this JVM (tests, the training): the kernel cannot
                    // tell, so poll.
                } catch (IOException | RuntimeException e) {
                    return;   // closed by the caller's timeout, or not lockable
                }
                try {
                    Thread.sleep(pause / 1_000_000, (int) (pause % 1_000_000));
                } catch (InterruptedException e) {
                    return;
                }
                pause = Math.min(POLL_MAX_NS, pause * 2);
            }
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // Nothing held.
        }
    }

    // ---------------------------------------------------------------- the entry format

    Path entryPath(String key, int variant) {
        return entries.resolve(key + "." + variant);
    }

    private static void requireKey(String key) {
        if (key == null || !FileIdentity.isHex64(key)) {
            throw new IllegalArgumentException("a cache key is a lower-case SHA-256 hex digest");
        }
    }

    /**
     * MAGIC, int version, the key (32 bytes), long created (ms), int length + the files'
     * {@link Expectations} lines (UTF-8), int length + payload; then the CRC-32 of everything
     * before it. Big-endian.
     */
    static byte[] encode(String key, long created, byte[] payload, Expectations files) throws IOException {
        byte[] lines = files.lines().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bos = new ByteArrayOutputStream(64 + lines.length + payload.length);
        DataOutputStream out = new DataOutputStream(bos);
        out.write(MAGIC);
        out.writeInt(VERSION);
        out.write(unhex(key));
        out.writeLong(created);
        out.writeInt(lines.length);
        out.write(lines);
        out.writeInt(payload.length);
        out.write(payload);
        out.flush();
        byte[] body = bos.toByteArray();
        out.writeInt(crc32(body, body.length));
        out.flush();
        return bos.toByteArray();
    }

    /**
     * The CRC-32 of data's first n bytes. The trailer guards against a damaged or torn file, in a
     * directory only root can write (what a user controls, the container's files, is vouched for
     * by each identity's SHA-256): zlib's CRC runs natively from a hook's first call, where
     * SHA-256 in Java took 2.4-3.1 ms of a warm hit for an 18 KB entry (interpreted, then
     * compiled).
     */
    private static int crc32(byte[] data, int n) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(data, 0, n);
        return (int) crc.getValue();
    }

    /** Parses an entry; any inconsistency is an IllegalArgumentException (the file is then removed). */
    static Entry decode(byte[] data, String key, int variant) {
        if (data.length < MAGIC.length + 4 + DIGEST + 8 + 4 + 4 + CHECK) {
            throw new IllegalArgumentException("truncated");
        }
        int end = data.length - CHECK;
        Cursor b = new Cursor(data, 0, end);
        if (crc32(data, end) != new Cursor(data, end, data.length).getInt()) {
            throw new IllegalArgumentException("checksum mismatch");
        }
        if (!Arrays.equals(b.bytes(MAGIC.length), MAGIC)) {
            throw new IllegalArgumentException("not a bypass cache entry");
        }
        if (b.getInt() != VERSION) {
            throw new IllegalArgumentException("another entry version");
        }
        if (!Arrays.equals(b.bytes(DIGEST), unhex(key))) {
            throw new IllegalArgumentException("holds another key");
        }
        long created = b.getLong();
        int nlines = b.getInt();
        if (nlines < 0 || nlines > b.remaining()) {
            throw new IllegalArgumentException("bad expectations length");
        }
        String lines = b.utf8(nlines);
        if (!lines.isEmpty() && (lines.charAt(lines.length() - 1) != '\n' || !lines.startsWith("expect-"))) {
            throw new IllegalArgumentException("bad expectations");
        }
        int plen = b.getInt();
        if (plen < 0 || plen != b.remaining()) {
            throw new IllegalArgumentException("bad payload length");
        }
        byte[] payload = b.bytes(plen);
        return new Entry(key, variant, created, payload, Expectations.ofLines(lines));
    }

    /**
     * Big-endian reads from a byte array, bounded by end. Not a ByteBuffer: a hit decodes an entry
     * in a fresh JVM, interpreted, and each ByteBuffer read goes five calls deep (HeapByteBuffer,
     * ScopedMemoryAccess, Unsafe): 3.6 ms for the Debian 13 MPI image's 18 KB entry, the largest
     * step of a warm hit's lookup.
     */
    private static final class Cursor {
        private final byte[] b;
        private final int end;
        private int pos;

        Cursor(byte[] b, int pos, int end) {
            this.b = b;
            this.pos = pos;
            this.end = end;
        }

        int remaining() {
            return end - pos;
        }

        private int take(int n) {
            if (n < 0 || n > end - pos) {
                throw new IllegalArgumentException("truncated");
            }
            int at = pos;
            pos += n;
            return at;
        }

        byte get() {
            return b[take(1)];
        }

        int getInt() {
            int i = take(4);
            return (b[i] & 0xff) << 24 | (b[i + 1] & 0xff) << 16 | (b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff);
        }

        long getLong() {
            long hi = getInt();
            return hi << 32 | (getInt() & 0xffffffffL);
        }

        byte[] bytes(int n) {
            int i = take(n);
            return Arrays.copyOfRange(b, i, i + n);
        }

        String utf8(int n) {
            int i = take(n);
            return new String(b, i, n, StandardCharsets.UTF_8);
        }
    }

    private static byte[] unhex(String h) {
        byte[] out = new byte[h.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(h, 2 * i, 2 * i + 2, 16);
        }
        return out;
    }

    // ---------------------------------------------------------------- the directory's trust

    private static void makeDir(Path dir) throws IOException {
        if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path parent = dir.getParent();
        if (parent != null && !Files.exists(parent, LinkOption.NOFOLLOW_LINKS)) {
            makeDir(parent);
        }
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException raced) {
            // Another hook made it; it is checked like any other.
        }
    }

    private static void checkDir(Path dir, int owner) throws IOException {
        Map<String, Object> a = Files.readAttributes(dir, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        if ((mode & 0170000) == 0120000) {
            throw BypassException.badInput(dir + " is a symbolic link; refusing to use it as the decision cache");
        }
        if ((mode & 0170000) != 0040000) {
            throw BypassException.badInput(dir + " is not a directory; refusing to use it as the decision cache");
        }
        if (owner == 0) {
            String problem = Ownership.problem(dir, false);
            if (problem != null) {
                throw BypassException.badInput(dir + " " + problem + "; refusing to use it as the decision cache"
                        + (problem.contains("owned") ? " (chown root " + dir + ")" : ""));
            }
        } else if ((Integer) a.get("uid") != owner) {
            throw BypassException.badInput(dir + " is not owned by uid " + owner + "; refusing to use it as the decision cache");
        }
        if ((mode & 077) != 0) {
            throw BypassException.badInput(dir + " is accessible to group or others (mode "
                    + Integer.toOctalString(mode & 07777) + "); refusing to use it as the decision cache (chmod 700 " + dir + ")");
        }
    }

    private static void checkParent(Path parent, int owner) throws IOException {
        if (parent == null) {
            return;
        }
        Map<String, Object> a = Files.readAttributes(parent, "unix:mode,uid");
        int mode = (Integer) a.get("mode");
        int uid = (Integer) a.get("uid");
        boolean sticky = (mode & 01000) != 0;
        if ((mode & 022) != 0 && !sticky) {
            throw BypassException.badInput(parent + " is writable by others, who could replace the decision cache under it;"
                    + " use a cache directory whose parent only root can write");
        }
        if (uid != 0 && uid != owner && !sticky) {
            throw BypassException.badInput(parent + " is not owned by root, whose owner could replace the decision cache under"
                    + " it; use a cache directory whose parent is root's");
        }
    }
}
