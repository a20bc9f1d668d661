package io.bypass.container;

import com.sun.jna.LastErrorException;
import io.bypass.BypassException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A container root file system, read by file descriptor only. The hook runs as root over a tree
 * the user controls, and a path string checked first and opened later can be raced (a directory
 * swapped for a symlink in between makes the kernel follow it out of the rootfs). So the rootfs is
 * opened once (O_PATH|O_DIRECTORY), every container path is resolved inside it by the kernel with
 * openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) -- or, where the kernel lacks openat2, by a
 * component-by-component walk of O_PATH|O_NOFOLLOW descriptors that re-roots symlinks the same
 * way -- and contents are read from the descriptor obtained, after its type was checked on that
 * same descriptor (a FIFO, socket or device is never opened for reading).
 *
 * <p>Every lookup is recorded with what it found (the canonical path and the file's identity), so
 * that the profile built from it is a value of those files, and every lookup, symlink, file and
 * byte counts against a {@link ProfileBudget}.
 *
 * <p>Not thread-safe: one profile, one thread.
 */
public final class ContainerRoot implements AutoCloseable {
    /** The kernel's MAXSYMLINKS: one more link is ELOOP. */
    public static final int MAX_SYMLINKS = 40;
    private static final int PATH_MAX = 4096;
    private static final int OPENAT2_RETRIES = 8;

    /** How paths are resolved; {@link #AUTO} is openat2 where the kernel has it. */
    public enum Resolver {
        AUTO, OPENAT2, WALK
    }

    /**
     * A file's identity as statx gives it on the descriptor.
     *
     * @param mode    st_mode, type bits included
     * @param mtimeNs modification time in nanoseconds since the epoch
     */
    public record Stat(int mode, long ino, long size, long mtimeNs, int devMajor, int devMinor) {
        public boolean isRegularFile() {
            return (mode & Posix.S_IFMT) == Posix.S_IFREG;
        }

        public boolean isDirectory() {
            return (mode & Posix.S_IFMT) == Posix.S_IFDIR;
        }

        public boolean isSymbolicLink() {
            return (mode & Posix.S_IFMT) == Posix.S_IFLNK;
        }

        /** "file", "dir", "link" or "other" (FIFO, socket, device). */
        public String type() {
            return isRegularFile() ? "file" : isDirectory() ? "dir" : isSymbolicLink() ? "link" : "other";
        }
    }

    /** A resolved path: its canonical path inside the container (no symlink, "." or "..") and identity. */
    public record Node(String path, Stat stat) {
    }

    /**
     * One lookup the profile made, for re-validating what was decided from it.
     *
     * @param path     the container path asked for
     * @param followed whether a symlink in the last component was followed
     * @param found    what it resolved to, or null when it did not resolve
     */
    public record Lookup(String path, boolean followed, Node found) {
    }

    /**
     * Told, as the profile runs, what each lookup found and which bytes, link targets and
     * directory listings were read, so that a decision cache can record the identity of every
     * file the profile rests on ({@code io.bypass.cache.RootRecorder}). Optional: see
     * {@link #observe}. Callbacks run on the profiling thread, before the call that caused them
     * returns; the byte array passed to {@link #read} is only valid during the call.
     */
    public interface Observer {
        /** A lookup of path (following a final symlink or not) found node, or nothing (null). */
        void lookup(String path, boolean followed, Node found);

        /** The canonical path of a symbolic link a no-follow lookup found, and its target. */
        void linkTarget(String canonicalPath, String target);

        /** len bytes read at offset from the regular file at canonicalPath. */
        void read(String canonicalPath, long offset, byte[] bytes, int len);

        /** The names (sorted) listed in the directory at canonicalPath. */
        void listing(String canonicalPath, List<String> names);
    }

    /** Reads one opened regular file; see {@link #read}. */
    @FunctionalInterface
    public interface FileFunction<T> {
        T apply(ContainerFile file) throws IOException;
    }

    private final Path hostDir;
    private final String hostPrefix;
    private final int rootFd;
    private final boolean openat2;
    private final ProfileBudget budget;
    private final Map<String, Lookup> lookups = new LinkedHashMap<>();
    private boolean closed;
    private Observer observer;

    private ContainerRoot(Path hostDir, int rootFd, boolean openat2, ProfileBudget budget) {
        this.hostDir = hostDir;
        this.hostPrefix = hostDir.toString().equals("/") ? "" : hostDir.toString();
        this.rootFd = rootFd;
        this.openat2 = openat2;
        this.budget = budget;
    }

    /**
     * Opens a rootfs directory. It is named by the runtime or the administrator, not by the
     * container, so host symlinks on the way to it are fine: it is pinned to its real path once,
     * and everything below it is then resolved by descriptor.
     */
    public static ContainerRoot open(Path hostDir, ProfileBudget budget, Resolver resolver) {
        if (!Posix.available()) {
            throw BypassException.internal("cannot make system calls through JNA on this host (64-bit Linux needed)", null);
        }
        Path dir = realDir(hostDir);
        int fd;
        try {
            fd = Posix.openat(Posix.AT_FDCWD, Posix.cString(dir.toString()),
                    Posix.O_PATH | Posix.O_DIRECTORY | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
        } catch (LastErrorException e) {
            throw BypassException.badInput(hostDir + ": cannot open the rootfs directory (errno " + e.getErrorCode() + ")");
        }
        boolean useOpenat2 = switch (resolver) {
            case WALK -> false;
            case OPENAT2 -> true;
            case AUTO -> probeOpenat2(fd);
        };
        return new ContainerRoot(dir, fd, useOpenat2, budget);
    }

    /**
     * The rootfs directory's real path, as {@link #open} pins it (without opening it, and without
     * JNA: the decision cache's hit path needs only this).
     */
    public static Path realDir(Path hostDir) {
        try {
            Path dir = hostDir.toAbsolutePath().toRealPath();
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw BypassException.badInput(hostDir + ": rootfs is not a directory");
            }
            return dir;
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(hostDir + ": rootfs directory does not exist");
        } catch (IOException e) {
            throw BypassException.badInput(hostDir + ": cannot read the rootfs directory: " + e.getClass().getSimpleName());
        }
    }

    /** The default: openat2 where the kernel has it, the budget of {@link ProfileBudget#standard()}. */
    public static ContainerRoot open(Path hostDir) {
        return open(hostDir, ProfileBudget.standard(), resolverFromProperty());
    }

    /** -Dbypass.resolver=walk forces the fallback (tests run both). */
    static Resolver resolverFromProperty() {
        String p = System.getProperty("bypass.resolver", "auto");
        return switch (p) {
            case "walk" -> Resolver.WALK;
            case "openat2" -> Resolver.OPENAT2;
            default -> Resolver.AUTO;
        };
    }

    private static boolean probeOpenat2(int rootFd) {
        try {
            int fd = openat2(rootFd, ".", Posix.O_PATH | Posix.O_CLOEXEC);
            Posix.closeQuietly(fd);
            return true;
        } catch (LastErrorException e) {
            return e.getErrorCode() != Posix.ENOSYS && e.getErrorCode() != Posix.EPERM
                    && e.getErrorCode() != Posix.EINVAL && e.getErrorCode() != Posix.E2BIG;
        }
    }

    private static int openat2(int dirFd, String path, int flags) {
        long[] how = {flags & 0xffffffffL, 0, Posix.RESOLVE_IN_ROOT | Posix.RESOLVE_NO_MAGICLINKS};
        return (int) Posix.syscall(Posix.SYS_OPENAT2, dirFd, Posix.cString(path), how, 24);
    }

    /** The rootfs directory on the host (absolute, real path). For messages and the appliers only. */
    public Path hostDir() {
        return hostDir;
    }

    public ProfileBudget budget() {
        return budget;
    }

    /** Reports every lookup and read from now on to observer (null: none). */
    public ContainerRoot observe(Observer observer) {
        this.observer = observer;
        return this;
    }

    /** Every lookup made so far, in order (the last one per path and mode). */
    public Collection<Lookup> lookups() {
        return List.copyOf(lookups.values());
    }

    /**
     * Resolves a container path, following symlinks in every component including the last (like
     * stat). Relative paths are taken from "/". Empty when a component does not exist, cannot be
     * read, is not a directory while more follow, or the links loop (the loader's ELOOP: it goes on
     * searching, and so do we).
     *
     * @throws BypassException (bad input) for a path with a NUL or longer than PATH_MAX
     * @throws ProfileBudget.Exceeded when a budget is spent
     */
    public Optional<Node> resolve(String path) {
        return lookup(path, true);
    }

    /** Like {@link #resolve}, but a symlink in the last component is returned itself (like lstat). */
    public Optional<Node> resolveNoFollowLast(String path) {
        return lookup(path, false);
    }

    /**
     * An O_PATH descriptor of what a container path resolves to (symlinks followed, inside the
     * rootfs), for {@link ContainerEntries}; -1 when it does not resolve. The caller closes it.
     */
    int openResolved(String path) {
        checkPath(path);
        budget.lookup(path);
        return path.isEmpty() ? -1 : openPath(path, true, null);
    }

    /** Whether the path resolves (following symlinks) to a regular file. */
    public boolean isRegularFile(String path) {
        Optional<Node> n = resolve(path);
        return n.isPresent() && n.get().stat().isRegularFile();
    }

    private Optional<Node> lookup(String path, boolean followLast) {
        checkPath(path);
        budget.lookup(path);
        Optional<Node> found;
        if (path.isEmpty()) {
            found = Optional.empty();
        } else {
            StringBuilder canonical = canonicalBuffer();
            int fd = openPath(path, followLast, canonical);
            if (fd < 0) {
                found = Optional.empty();
            } else {
                try {
                    found = Optional.ofNullable(nodeOf(fd, canonical));
                    if (observer != null && found.isPresent() && found.get().stat().isSymbolicLink()) {
                        String target = readLink(fd);
                        record(path, followLast, found.get());
                        if (target != null) {
                            observer.linkTarget(found.get().path(), target);
                        }
                        return found;
                    }
                } finally {
                    Posix.closeQuietly(fd);
                }
            }
        }
        record(path, followLast, found.orElse(null));
        return found;
    }

    private void record(String path, boolean followed, Node found) {
        lookups.put((followed ? "F" : "N") + path, new Lookup(path, followed, found));
        if (observer != null) {
            observer.lookup(path, followed, found);
        }
    }

    /**
     * Resolves and opens a path as an O_PATH descriptor; -1 when it does not resolve.
     *
     * @param canonical receives the canonical path when the walk computed it (null: ask the kernel)
     */
    private int openPath(String path, boolean followLast, StringBuilder canonical) {
        if (openat2) {
            int flags = Posix.O_PATH | Posix.O_CLOEXEC | (followLast ? 0 : Posix.O_NOFOLLOW);
            for (int attempt = 0; ; attempt++) {
                try {
                    return openat2(rootFd, path, flags);
                } catch (LastErrorException e) {
                    // EAGAIN: a rename or mount raced the lookup; the kernel asks us to retry.
                    if ((e.getErrorCode() == Posix.EAGAIN || e.getErrorCode() == Posix.EINTR) && attempt < OPENAT2_RETRIES) {
                        continue;
                    }
                    return -1;
                }
            }
        }
        return walk(path, followLast, canonical);
    }

    /**
     * The fallback resolver: components one at a time, each opened O_PATH|O_NOFOLLOW relative to
     * the descriptor of its parent; a symlink's body (read with readlinkat on its own descriptor)
     * replaces it, an absolute one restarting at the rootfs; ".." goes back to the previous
     * descriptor and stops at the rootfs. The result is the open descriptor of the last component.
     */
    private int walk(String path, boolean followLast, StringBuilder canonicalOut) {
        Deque<String> todo = new ArrayDeque<>();
        pushFront(todo, components(path));
        Deque<int[]> fds = new ArrayDeque<>();
        Deque<String> names = new ArrayDeque<>();
        int links = 0;
        try {
            while (!todo.isEmpty()) {
                String name = todo.removeFirst();
                int parent = fds.isEmpty() ? rootFd : fds.peekLast()[0];
                if (name.equals(".")) {
                    if (!isDirectory(parent)) {
                        return -1;
                    }
                    continue;
                }
                if (name.equals("..")) {
                    if (!isDirectory(parent)) {
                        return -1;
                    }
                    if (!fds.isEmpty()) {
                        Posix.closeQuietly(fds.removeLast()[0]);
                        names.removeLast();
                    }
                    continue;
                }
                int fd;
                try {
                    fd = Posix.openat(parent, Posix.cString(name), Posix.O_PATH | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
                } catch (LastErrorException e) {
                    return -1;
                }
                Stat st = stat(fd);
                if (st.isSymbolicLink() && (followLast || !todo.isEmpty())) {
                    String body = readLink(fd);
                    Posix.closeQuietly(fd);
                    budget.symlink();
                    if (++links > MAX_SYMLINKS || body == null || body.isEmpty() || body.length() >= PATH_MAX) {
                        return -1;   // ELOOP, ENOENT or ENAMETOOLONG for the kernel
                    }
                    if (body.startsWith("/")) {
                        while (!fds.isEmpty()) {
                            Posix.closeQuietly(fds.removeLast()[0]);
                        }
                        names.clear();
                    }
                    pushFront(todo, components(body));
                    continue;
                }
                fds.addLast(new int[] {fd});
                names.addLast(name);
            }
            if (canonicalOut != null) {
                for (String n : names) {
                    canonicalOut.append('/').append(n);
                }
                if (names.isEmpty()) {
                    canonicalOut.append('/');
                }
            }
            if (fds.isEmpty()) {
                return Posix.openat(rootFd, Posix.cString("."), Posix.O_PATH | Posix.O_CLOEXEC, 0);
            }
            return fds.removeLast()[0];
        } catch (LastErrorException e) {
            return -1;
        } finally {
            while (!fds.isEmpty()) {
                Posix.closeQuietly(fds.removeLast()[0]);
            }
        }
    }

    private static boolean isDirectory(int fd) {
        try {
            return stat(fd).isDirectory();
        } catch (LastErrorException e) {
            return false;
        }
    }

    /** Where the walk writes the canonical path it computes; openat2 asks the kernel instead. */
    private StringBuilder canonicalBuffer() {
        return openat2 ? null : new StringBuilder();
    }

    /** The node of an O_PATH descriptor; null when the file is no longer inside the rootfs. */
    private Node nodeOf(int fd, StringBuilder walked) {
        Stat st;
        try {
            st = stat(fd);
        } catch (LastErrorException e) {
            return null;
        }
        String canonical = walked != null ? walked.toString() : kernelPath(fd);
        return canonical == null ? null : new Node(canonical, st);
    }

    /**
     * The canonical container path of an openat2 descriptor: the kernel's name for it
     * (/proc/self/fd) with the rootfs prefix taken off; a file moved out of the rootfs meanwhile,
     * or deleted, is refused.
     */
    private String kernelPath(int fd) {
        String host;
        try {
            host = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return null;
        }
        if (host.equals(hostPrefix) || (hostPrefix.isEmpty() && host.equals("/"))) {
            return "/";
        }
        if (!host.startsWith(hostPrefix + "/") || host.endsWith(" (deleted)")) {
            return null;
        }
        return host.substring(hostPrefix.length());
    }

    static Stat stat(int fd) {
        byte[] buf = new byte[256];
        Posix.statx(fd, new byte[] {0}, Posix.AT_EMPTY_PATH | Posix.AT_SYMLINK_NOFOLLOW, Posix.STATX_BASIC_STATS, buf);
        ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder());
        int mode = Short.toUnsignedInt(b.getShort(28));
        long ino = b.getLong(32);
        long size = b.getLong(40);
        long mtimeNs = b.getLong(112) * 1_000_000_000L + Integer.toUnsignedLong(b.getInt(120));
        return new Stat(mode, ino, size, mtimeNs, b.getInt(136), b.getInt(140));
    }

    private static String readLink(int fd) {
        byte[] buf = new byte[PATH_MAX];
        try {
            long n = Posix.readlinkat(fd, new byte[] {0}, buf, buf.length);
            if (n < 0 || n >= buf.length) {
                return null;
            }
            return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
        } catch (LastErrorException e) {
            return null;
        }
    }

    /**
     * Resolves a path (following symlinks), and when it is a regular file opens it for reading from
     * the resolved descriptor and gives it to {@code fn}. Empty when the path does not resolve or
     * is not a regular file: a FIFO, socket or device is never opened, so nothing can block.
     */
    public <T> Optional<T> read(String path, FileFunction<T> fn) {
        checkPath(path);
        budget.lookup(path);
        if (path.isEmpty()) {
            record(path, true, null);
            return Optional.empty();
        }
        StringBuilder canonical = canonicalBuffer();
        int pathFd = openPath(path, true, canonical);
        if (pathFd < 0) {
            record(path, true, null);
            return Optional.empty();
        }
        int fd = -1;
        try {
            Node node = nodeOf(pathFd, canonical);
            record(path, true, node);
            if (node == null || !node.stat().isRegularFile()) {
                return Optional.empty();
            }
            budget.file(node.path());
            // Reopen the very inode the O_PATH descriptor names; O_NONBLOCK|O_NOCTTY in case it
            // were anything but the regular file statx just saw.
            try {
                fd = Posix.openat(Posix.AT_FDCWD, Posix.cString("/proc/self/fd/" + pathFd),
                        Posix.O_RDONLY | Posix.O_NONBLOCK | Posix.O_NOCTTY | Posix.O_CLOEXEC, 0);
            } catch (LastErrorException e) {
                return Optional.empty();
            }
            Stat opened = stat(fd);
            if (!opened.isRegularFile() || opened.ino() != node.stat().ino()) {
                return Optional.empty();
            }
            ContainerFile file = new ContainerFile(fd, node, budget, observer);
            try {
                return Optional.ofNullable(fn.apply(file));
            } catch (IOException e) {
                throw BypassException.badInput("container:" + node.path() + ": cannot read: " + e.getMessage());
            }
        } catch (LastErrorException e) {
            return Optional.empty();
        } finally {
            Posix.closeQuietly(fd);
            Posix.closeQuietly(pathFd);
        }
    }

    /**
     * A directory entry as getdents64 gives it: the name and the d_type (no stat needed). Ordered
     * by name (a natural order, not a comparator lambda: a cold hook links none it can avoid).
     */
    public record DirEntry(String name, int type) implements Comparable<DirEntry> {
        public static final int DT_UNKNOWN = 0, DT_DIR = 4, DT_REG = 8, DT_LNK = 10;

        @Override
        public int compareTo(DirEntry o) {
            return name.compareTo(o.name);
        }

        public boolean isDirectory() {
            return type == DT_DIR;
        }

        public boolean isRegularFile() {
            return type == DT_REG;
        }

        public boolean isSymbolicLink() {
            return type == DT_LNK;
        }
    }

    /**
     * The names in a container directory (symlinks followed), sorted. Empty when it is missing or
     * not a directory.
     *
     * @throws ProfileBudget.Exceeded past the budget's directory entries
     */
    public List<String> list(String dir) {
        List<String> names = new ArrayList<>();
        for (DirEntry e : listEntries(dir)) {
            names.add(e.name());
        }
        return names;
    }

    /** The entries of a container directory (symlinks to it followed), sorted by name; see {@link #list}. */
    public List<DirEntry> listEntries(String dir) {
        Listing l = listing(dir);
        return l == null ? List.of() : l.entries();
    }

    /** A directory's canonical path and its entries, sorted by name. */
    public record Listing(String path, List<DirEntry> entries) {
    }

    /**
     * Like {@link #listEntries}, with the canonical path of the directory listed (two names of one
     * directory, /lib and /usr/lib in a merged /usr, list the same entries); null when the path is
     * missing or not a directory.
     */
    public Listing listing(String dir) {
        checkPath(dir);
        budget.lookup(dir);
        StringBuilder canonical = canonicalBuffer();
        int pathFd = dir.isEmpty() ? -1 : openPath(dir, true, canonical);
        if (pathFd < 0) {
            record(dir, true, null);
            return null;
        }
        int fd = -1;
        try {
            Node node = nodeOf(pathFd, canonical);
            record(dir, true, node);
            if (node == null || !node.stat().isDirectory()) {
                return null;
            }
            fd = Posix.openat(Posix.AT_FDCWD, Posix.cString("/proc/self/fd/" + pathFd),
                    Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_CLOEXEC, 0);
            List<DirEntry> entries = new ArrayList<>();
            byte[] buf = new byte[32 << 10];
            while (true) {
                long n = Posix.syscall(Posix.SYS_GETDENTS64, fd, buf, buf.length);
                if (n <= 0) {
                    break;
                }
                ByteBuffer b = ByteBuffer.wrap(buf, 0, (int) n).order(ByteOrder.nativeOrder());
                int pos = 0;
                while (pos + 19 < n) {
                    int reclen = Short.toUnsignedInt(b.getShort(pos + 16));
                    if (reclen == 0 || pos + reclen > n) {
                        break;
                    }
                    int type = Byte.toUnsignedInt(buf[pos + 18]);
                    int end = pos + 19;
                    while (end < pos + reclen && buf[end] != 0) {
                        end++;
                    }
                    String name = new String(buf, pos + 19, end - pos - 19, StandardCharsets.UTF_8);
                    if (!name.equals(".") && !name.equals("..")) {
                        entries.add(new DirEntry(name, type));
                        budget.dirEntry(node.path(), entries.size());
                    }
                    pos += reclen;
                }
            }
            entries.sort(null);   // by name
            if (observer != null) {
                List<String> names = new ArrayList<>(entries.size());
                for (DirEntry e : entries) {
                    names.add(e.name());
                }
                observer.listing(node.path(), names);
            }
            return new Listing(node.path(), entries);
        } catch (LastErrorException e) {
            return null;
        } finally {
            Posix.closeQuietly(fd);
            Posix.closeQuietly(pathFd);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Posix.closeQuietly(rootFd);
        }
    }

    private static void checkPath(String path) {
        if (path.indexOf('\0') >= 0) {
            throw BypassException.badInput(shown(path) + ": container path contains a NUL character");
        }
        if (path.length() >= PATH_MAX) {
            throw BypassException.badInput(shown(path) + ": container path longer than " + PATH_MAX + " characters");
        }
    }

    /**
     * The components of a path string; a trailing "/" becomes a trailing "." so that, as for the
     * kernel, "name/" must be a directory and a symlink there is followed.
     */
    private static List<String> components(String path) {
        List<String> out = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                out.add(part);
            }
        }
        if (!out.isEmpty() && path.endsWith("/")) {
            out.add(".");
        }
        return out;
    }

    private static void pushFront(Deque<String> todo, List<String> components) {
        for (int i = components.size() - 1; i >= 0; i--) {
            todo.addFirst(components.get(i));
        }
    }

    /** A container path for a one-line message: control characters replaced, length capped. */
    static String shown(String path) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < path.length() && sb.length() < 200; i++) {
            char c = path.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        if (sb.length() < path.length()) {
            sb.append("...");
        }
        return sb.toString();
    }
}
