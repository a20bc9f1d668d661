package io.bypass.apply;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.container.ContainerEntries;
import io.bypass.container.ContainerRoot;
import io.bypass.util.AtomicFile;
import io.bypass.util.Json;
import io.bypass.util.Ownership;
import io.bypass.util.ProcFiles;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The mount points the hook made in a container's rootfs on disk, and their removal when the
 * container ends ("nothing left behind").
 *
 * <p>The helper makes missing mount targets (and their parents) inside the container's mount
 * namespace; the mounts on them vanish with that namespace, but the bare entries stay in the
 * rootfs on disk: {@code /opt/bypass} (and {@code /opt}), an empty placeholder
 * {@code /etc/ld.so.cache}, any file or directory made as a target. So at createRuntime,
 * {@link #begin} notes which target paths (every prefix of them) do not resolve in the rootfs
 * before the helper runs, and {@link Tracking#finish} looks at them again afterwards from the host
 * mount namespace, where the rootfs shows exactly those bare entries, and records each one that
 * now exists with its identity (canonical path, type, mode, inode, device). At poststop,
 * {@link #poststop} removes what that container's record lists, deepest first, through
 * {@link ContainerEntries#removeIfSame}: resolved inside the rootfs by descriptor, removed only
 * while it is the very entry made and still empty. What it leaves, it says on stderr; it never
 * fails the teardown.
 *
 * <p>Records are JSON files, one per container id, in a root-only directory
 * ({@link #DEFAULT_DIR}, 0700), written atomically (temp file and rename) under an exclusive lock
 * ({@code .lock} in that directory) that is held only for reading and writing records, never
 * while the helper runs. A record is written before the helper runs and carries the container
 * init's pid and start time. Two rules keep containers that share one rootfs directory safe
 * (several runc containers on one bundle): an entry is never removed while another live
 * container's record names the same rootfs; it is handed over to that record instead, and the
 * last container removes it. And a record whose init process is gone (a crash, a runtime that
 * never ran poststop) is cleaned the same way by a later hook run of any container: the first
 * after {@link #SWEEP_INTERVAL_MS} since the last sweep ({@code .swept} in the directory, its
 * mtime), so that the ranks of a job starting or stopping together do not each read every other
 * rank's record under the one lock.
 */
public final class CreatedTargets {
    /** Where records live. /run is a tmpfs: records do not outlive a reboot, nor do the containers. */
    public static final Path DEFAULT_DIR = Path.of("/run/bypass/state");
    static final int FORMAT = 1;
    /** At most this many other records are looked at per hook run (each costs a small read). */
    static final int MAX_RECORDS_SWEPT = 256;
    private static final String LOCK = ".lock";
    /** The stamp of the last sweep: its mtime. */
    static final String SWEPT = ".swept";
    /**
     * How long after a sweep the next one is due. A stale record only delays the removal of what
     * a crashed container left; a live record on the same rootfs is honoured by every sweep.
     */
    static final long SWEEP_INTERVAL_MS = 60_000;

    /**
     * One entry bypass made: its canonical container path and identity when made.
     *
     * @param birthNs its statx birth time, 0 where the file system keeps none
     */
    public record Entry(String path, ContainerRoot.Stat stat, long birthNs) {
    }

    /**
     * What one container's createRuntime made.
     *
     * @param rootfs     the rootfs directory on the host (real path)
     * @param rootfsStat the identity of that directory, so that a different directory mounted or
     *                   made there later is never taken for it
     * @param startTime  the init process' start time (field 22 of /proc/PID/stat), so that a
     *                   reused pid is not taken for the container
     */
    public record Record(String id, String rootfs, ContainerRoot.Stat rootfsStat, int pid, long startTime, List<Entry> created) {
        public Record {
            created = List.copyOf(created);
        }

        Record with(List<Entry> more) {
            Map<String, Entry> all = new LinkedHashMap<>();
            for (Entry e : created) {
                all.put(e.path(), e);
            }
            for (Entry e : more) {
                all.putIfAbsent(e.path(), e);
            }
            return new Record(id, rootfs, rootfsStat, pid, startTime, new ArrayList<>(all.values()));
        }

        boolean sameRootfs(Record o) {
            return rootfs.equals(o.rootfs) && rootfsStat.ino() == o.rootfsStat.ino()
                    && rootfsStat.devMajor() == o.rootfsStat.devMajor() && rootfsStat.devMinor() == o.rootfsStat.devMinor();
        }

        public JsonNode toJson() {
            ObjectNode o = Json.object();
            o.put("format", FORMAT);
            o.put("id", id);
            o.put("rootfs", rootfs);
            o.set("rootfsIdentity", identity(rootfsStat));
            o.put("pid", pid);
            o.put("startTime", startTime);
            ArrayNode a = o.putArray("created");
            for (Entry e : created) {
                ObjectNode n = identity(e.stat());
                n.put("path", e.path());
                n.put("type", e.stat().type());
                n.put("birthNs", e.birthNs());
                a.add(n);
            }
            return o;
        }

        private static ObjectNode identity(ContainerRoot.Stat st) {
            ObjectNode n = Json.object();
            n.put("mode", st.mode());
            n.put("ino", st.ino());
            n.put("devMajor", st.devMajor());
            n.put("devMinor", st.devMinor());
            n.put("size", st.size());
            return n;
        }

        public static Record fromJson(JsonNode node, String where) {
            Json.Fields f = Json.Fields.of(node, where);
            long format = f.longValue("format");
            if (format != FORMAT) {
                throw BypassException.badInput(f.where("format") + ": " + format + " is not a record format this bypass reads ("
                        + FORMAT + ")");
            }
            String rootfs = f.string("rootfs");
            if (!rootfs.startsWith("/")) {
                throw BypassException.badInput(f.where("rootfs") + ": must be an absolute path");
            }
            long pid = f.longValue("pid");
            if (pid < 0 || pid > Integer.MAX_VALUE) {
                throw BypassException.badInput(f.where("pid") + ": " + pid + " is not a process id");
            }
            List<Entry> created = new ArrayList<>();
            for (Json.Fields e : f.objectList("created")) {
                String path = e.string("path");
                if (!canonical(path)) {
                    throw BypassException.badInput(e.where("path") + ": '" + path + "' is not a canonical path below the rootfs");
                }
                ContainerRoot.Stat st = stat(e);
                if (!st.type().equals(e.string("type"))) {
                    throw BypassException.badInput(e.where("type") + ": does not match the mode " + Integer.toOctalString(st.mode()));
                }
                long birth = e.optLong("birthNs", 0);
                created.add(new Entry(path, st, birth));
            }
            return new Record(f.string("id"), rootfs, stat(f.object("rootfsIdentity")), (int) pid, f.longValue("startTime"), created);
        }

        private static ContainerRoot.Stat stat(Json.Fields f) {
            long mode = f.longValue("mode");
            if (mode <= 0 || mode > 0xffff) {
                throw BypassException.badInput(f.where("mode") + ": " + mode + " is not a file mode");
            }
            return new ContainerRoot.Stat((int) mode, f.longValue("ino"), f.longValue("size"), 0,
                    (int) f.longValue("devMajor"), (int) f.longValue("devMinor"));
        }
    }

    private final Path dir;
    private final PrintWriter err;

    public CreatedTargets(Path dir, PrintWriter err) {
        this.dir = dir;
        this.err = err;
    }

    // ---------------------------------------------------------------- createRuntime

    /** Between {@link #begin} and {@link Tracking#finish}: this container's record, written before the helper ran. */
    public final class Tracking {
        private final Record record;

        private Tracking(Record record) {
            this.record = record;
        }

        /**
         * Records what the helper reports it made and left in place (its "created" lines: all of
         * them after a success; after a failure only what its rollback could not remove). A
         * failure here is a warning: the mounts are made, and only the cleanup would be lost.
         */
        public void finish(List<Entry> made) {
            if (made.isEmpty()) {
                return;     // the record written before the helper ran says it all
            }
            try {
                try (Lock lock = lock()) {
                    // Entries another container handed over meanwhile are in the file: keep them.
                    Record now = record;
                    Optional<Record> inFile = read(record.id());
                    if (inFile.isPresent() && inFile.get().pid() == record.pid() && inFile.get().startTime() == record.startTime()) {
                        now = inFile.get();
                    }
                    write(now.with(made));
                }
            } catch (BypassException | IOException e) {
                warn("cannot record the mount points made in " + record.rootfs() + " for container " + record.id()
                        + "; they will stay there: " + e.getMessage());
            }
        }
    }

    /**
     * Before the helper runs: sweeps stale records and writes this container's record, so that a
     * container sharing the rootfs that stops meanwhile hands its entries over rather than
     * removing them under our mounts.
     *
     * @param rootfs the rootfs directory's real path on the host (named by the runtime, not the container)
     * @throws BypassException when the record cannot be written: the container would leave
     *                         entries in its image that nothing removes
     */
    public Tracking begin(String id, int pid, String rootfs) {
        long startTime = startTime(pid);
        if (startTime < 0) {
            throw BypassException.badInput("hook: the container's init process " + pid + " does not exist");
        }
        Record record = new Record(id, rootfs, rootfsIdentity(rootfs), pid, startTime, List.of());
        try {
            ensureDir();
            try (Lock lock = lock()) {
                Optional<Record> old = readQuietly(id);
                if (old.isPresent() && old.get().pid() == pid && old.get().startTime() == startTime) {
                    record = old.get();     // the hook ran twice for one container (prestart and createRuntime)
                } else if (old.isPresent()) {
                    clean(old.get(), id);
                }
                sweepIfDue(id);
                write(record);
            }
        } catch (IOException e) {
            throw BypassException.internal("cannot write the record of container " + id + " in " + dir + ": " + e.getMessage(), e);
        }
        return new Tracking(record);
    }

    /** The rootfs directory's identity, from its host path (the runtime's, resolved already). */
    static ContainerRoot.Stat rootfsIdentity(String rootfs) {
        try {
            Map<String, Object> a = Files.readAttributes(Path.of(rootfs), "unix:mode,ino,dev,size", LinkOption.NOFOLLOW_LINKS);
            long dev = (Long) a.get("dev");
            // glibc's encoding of st_dev (gnu_dev_major / gnu_dev_minor)
            int major = (int) (((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL));
            int minor = (int) ((dev & 0xff) | ((dev >>> 12) & ~0xffL));
            int mode = (Integer) a.get("mode");
            if ((mode & 0170000) != 0040000) {
                throw BypassException.badInput(rootfs + ": the rootfs is not a directory");
            }
            return new ContainerRoot.Stat(mode, (Long) a.get("ino"), (Long) a.get("size"), 0, major, minor);
        } catch (IOException e) {
            throw BypassException.badInput(rootfs + ": cannot stat the rootfs directory: " + e.getMessage());
        }
    }

    /**
     * One "created" line of the helper (native-shims/README.md): {@code created PATH MODE INO
     * DEV_MAJOR DEV_MINOR SIZE BIRTH_NS}, PATH percent-encoded, MODE the whole st_mode in octal.
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Entry parseCreated(String line) {
        String[] f = line.split(" ", -1);
        if (f.length != 8 || !f[0].equals("created")) {
            throw new IllegalArgumentException("not a created line: " + line);
        }
        String path = io.bypass.util.LineFields.decode(f[1]);
        if (!canonical(path)) {
            throw new IllegalArgumentException("not a canonical path: " + line);
        }
        int mode = Integer.parseInt(f[2], 8);
        if (mode <= 0 || mode > 0xffff) {
            throw new IllegalArgumentException("bad mode: " + line);
        }
        return new Entry(path, new ContainerRoot.Stat(mode, Long.parseUnsignedLong(f[3]), Long.parseLong(f[6]), 0,
                Integer.parseInt(f[4]), Integer.parseInt(f[5])), Long.parseLong(f[7]));
    }

    // ---------------------------------------------------------------- poststop

    /**
     * The poststop stage: removes what container {@code id}'s createRuntime made, then sweeps
     * stale records. Never throws and always leaves the teardown to go on: no record is nothing to
     * do; a problem is one warning line on stderr.
     */
    public void poststop(String id) {
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                return;     // no container was ever recorded here
            }
            requireTrustedDir();
            try (Lock lock = lock()) {
                Optional<Record> r = readQuietly(id);
                if (r.isPresent()) {
                    clean(r.get(), id);
                }
                sweepIfDue(id);
            }
        } catch (BypassException | IOException e) {
            warn("poststop of container " + id + ": " + e.getMessage());
        }
    }

    /**
     * The same, where the live records are read only when the record has entries.
     *
     * @param except the id whose record is not taken for a live one (the caller's own)
     */
    private void clean(Record rec, String except) {
        clean(rec, rec.created().isEmpty() ? List.of() : liveRecords(except));
    }

    /**
     * Removes a record's entries (or hands them to a live container on the same rootfs) and
     * deletes the record. Called with the lock held.
     *
     * @param live the records of live containers
     */
    private void clean(Record rec, List<Record> live) {
        if (rec.created().isEmpty()) {
            deleteRecord(rec);     // nothing to remove or hand over
            return;
        }
        for (Record o : live) {
            if (o.sameRootfs(rec) && !o.id().equals(rec.id())) {
                // Its mounts may sit on our entries: the last container on this rootfs removes them.
                try {
                    write(o.with(rec.created()));
                    delete(rec.id());
                    return;
                } catch (IOException e) {
                    warn("cannot hand the mount points of container " + rec.id() + " over to container " + o.id() + ": "
                            + e.getMessage());
                    return;
                }
            }
        }
        removeEntries(rec);
        deleteRecord(rec);
    }

    private void deleteRecord(Record rec) {
        try {
            delete(rec.id());
        } catch (IOException e) {
            warn("cannot delete the record of container " + rec.id() + ": " + e.getMessage());
        }
    }

    /** Removes a record's entries, deepest first; says on stderr what it left and why. */
    void removeEntries(Record rec) {
        if (rec.created().isEmpty()) {
            return;
        }
        ContainerRoot root;
        try {
            root = ContainerRoot.open(Path.of(rec.rootfs()));
        } catch (BypassException e) {
            // Gone (a bundle deleted, an overlay unmounted): what was made went with it, or lies in
            // a layer that is not the image's; nothing here can be checked or removed.
            warn("the rootfs " + rec.rootfs() + " of container " + rec.id() + " is gone (" + e.getMessage()
                    + "); nothing to remove");
            return;
        }
        try (root) {
            ContainerRoot.Stat now = root.resolve("/").map(ContainerRoot.Node::stat).orElse(null);
            if (now == null || now.ino() != rec.rootfsStat().ino() || now.devMajor() != rec.rootfsStat().devMajor()
                    || now.devMinor() != rec.rootfsStat().devMinor()) {
                warn("the rootfs " + rec.rootfs() + " of container " + rec.id() + " is another directory now; left "
                        + rec.created().size() + " mount point(s) recorded there unchecked");
                return;
            }
            List<Entry> order = new ArrayList<>(rec.created());
            java.util.Collections.reverse(order);
            order.sort(Comparator.comparingInt((Entry e) -> depth(e.path())).reversed());
            for (Entry e : order) {
                ContainerEntries.Outcome o = ContainerEntries.removeIfSame(root, e.path(), e.stat(), e.birthNs());
                switch (o.result()) {
                    case REMOVED, GONE -> {
                    }
                    default -> warn("left " + e.path() + " in the rootfs " + rec.rootfs() + " of container " + rec.id() + ": "
                            + o.detail());
                }
            }
        }
    }

    /**
     * Sweeps when the last sweep is {@link #SWEEP_INTERVAL_MS} old (or its stamp is missing, or
     * dated ahead of the clock), and dates the stamp now. Called with the lock held.
     */
    private void sweepIfDue(String self) {
        Path stamp = dir.resolve(SWEPT);
        long now = System.currentTimeMillis();
        try {
            long age = now - Files.getLastModifiedTime(stamp, LinkOption.NOFOLLOW_LINKS).toMillis();
            if (age >= 0 && age < SWEEP_INTERVAL_MS) {
                return;
            }
        } catch (IOException missing) {
            // Never swept here: due.
        }
        sweep(self);
        try {
            if (!Files.exists(stamp, LinkOption.NOFOLLOW_LINKS)) {
                Files.createFile(stamp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
            Files.getFileAttributeView(stamp, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(FileTime.fromMillis(now), null, null);
        } catch (IOException e) {
            warn("cannot date the last sweep (" + stamp + "): " + e.getMessage() + "; the next hook run sweeps again");
        }
    }

    /** Cleans every other record whose container is gone. Called with the lock held. */
    private void sweep(String self) {
        List<Record> all = new ArrayList<>();
        for (Path f : recordFiles()) {
            String name = f.getFileName().toString();
            try {
                Record r = Record.fromJson(Json.readFileNoFollow(f), f.toString());
                if (!fileName(r.id()).equals(name)) {
                    throw BypassException.badInput(f + ": the record is for container " + r.id());
                }
                if (!r.id().equals(self)) {
                    all.add(r);
                }
            } catch (BypassException e) {
                warn("removing an unreadable record: " + e.getMessage());
                deleteQuietly(f);
            }
        }
        List<Record> live = new ArrayList<>();
        List<Record> dead = new ArrayList<>();
        for (Record r : all) {
            (alive(r) ? live : dead).add(r);
        }
        for (Record r : dead) {
            clean(r, live);
        }
    }

    private List<Record> liveRecords(String except) {
        List<Record> live = new ArrayList<>();
        for (Path f : recordFiles()) {
            try {
                Record r = Record.fromJson(Json.readFileNoFollow(f), f.toString());
                if (!r.id().equals(except) && alive(r)) {
                    live.add(r);
                }
            } catch (BypassException e) {
                // The sweep reports and removes it.
            }
        }
        return live;
    }

    private List<Path> recordFiles() {
        List<Path> out = new ArrayList<>();
        // A name test, not a glob: a glob compiles a regex, which costs a hook 4 ms.
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                if (f.getFileName().toString().endsWith(".json") && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    out.add(f);
                    if (out.size() >= MAX_RECORDS_SWEPT) {
                        break;
                    }
                }
            }
        } catch (IOException e) {
            warn("cannot list " + dir + ": " + e.getMessage());
        }
        out.sort(null);
        return out;
    }

    /** Whether the record's init process is still the one that ran (same pid, same start time). */
    static boolean alive(Record r) {
        return r.pid() > 0 && startTime(r.pid()) == r.startTime();
    }

    /** Field 22 of /proc/PID/stat (clock ticks after boot), or -1 when there is no such process. */
    static long startTime(int pid) {
        String stat;
        try {
            stat = ProcFiles.read(Path.of("/proc/" + pid + "/stat"));
        } catch (IOException e) {
            return -1;
        }
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return -1;
        }
        String[] f = stat.substring(close + 1).trim().split(" ");
        // f[0] is field 3 (state), so field 22 is f[19].
        try {
            return f.length > 19 ? Long.parseLong(f[19]) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    // ---------------------------------------------------------------- the directory

    Optional<Record> read(String id) throws IOException {
        Path f = dir.resolve(fileName(id));
        if (!Files.exists(f, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        Record r = Record.fromJson(Json.readFileNoFollow(f), f.toString());
        if (!r.id().equals(id)) {
            throw BypassException.badInput(f + ": the record is for container " + r.id() + ", not " + id);
        }
        return Optional.of(r);
    }

    private Optional<Record> readQuietly(String id) throws IOException {
        try {
            return read(id);
        } catch (BypassException e) {
            warn("removing an unreadable record: " + e.getMessage());
            deleteQuietly(dir.resolve(fileName(id)));
            return Optional.empty();
        }
    }

    /** Atomically, private to root (util/AtomicFile: its temporary names never match *.json). */
    void write(Record r) {
        AtomicFile.writeUnsynced(dir.resolve(fileName(r.id())), Json.write(r.toJson()).getBytes(StandardCharsets.UTF_8),
                PosixFilePermissions.fromString("rw-------"));
    }

    private void delete(String id) throws IOException {
        Files.deleteIfExists(dir.resolve(fileName(id)));
    }

    private static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException ignored) {
            // Reported by the next run that reads it.
        }
    }

    /** The exclusive lock over the records; held only while records are read and written. */
    private record Lock(FileChannel channel) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            channel.close();    // releases the lock
        }
    }

    private Lock lock() throws IOException {
        FileChannel ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        try {
            ch.lock();
            return new Lock(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Makes the directory 0700 if missing; refuses one that is not root's own and private. */
    void ensureDir() throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // Another hook made it: checked below like any other.
            }
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        requireTrustedDir();
    }

    private void requireTrustedDir() throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw BypassException.badInput(dir + ": the state directory is not a directory");
        }
        String problem = Ownership.problem(dir, false);
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (problem == null && (mode & 077) != 0) {
            problem = "is readable by non-root users (mode " + Integer.toOctalString(mode & 07777) + ", 0700 expected)";
        }
        if (problem != null) {
            throw BypassException.badInput(dir + ": the state directory " + problem + "; remove it or make it root's with mode 0700");
        }
    }

    /** The record's file name: the id itself when it is a plain name, else its SHA-256. */
    static String fileName(String id) {
        if (plainId(id)) {
            return id + ".json";
        }
        byte[] h = new io.bypass.util.Sha256().digest(id.getBytes(StandardCharsets.UTF_8));
        return "sha256-" + HexFormat.of().formatHex(h) + ".json";
    }

    /**
     * [A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,127}, by hand: this runs on every injecting hook, and the
     * JVM's first regex spins a method handle at run time (5 ms of a cache hit).
     */
    static boolean plainId(String id) {
        if (id.isEmpty() || id.length() > 128) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+'
                    || c == '-' || (c == '.' && i > 0);
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    static boolean canonical(String path) {
        if (!path.startsWith("/") || path.length() < 2 || path.endsWith("/") || path.indexOf('\0') >= 0) {
            return false;
        }
        for (String part : path.substring(1).split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private static int depth(String path) {
        int n = 0;
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) == '/') {
                n++;
            }
        }
        return n;
    }

    private void warn(String message) {
        if (err != null) {
            err.println("bypass: warning: " + oneLine(message));
            err.flush();
        }
    }

    private static String oneLine(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return sb.toString();
    }
}
