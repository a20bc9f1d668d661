package io.bypass.container;

import io.bypass.BypassException;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * A container root file system seen from the host. The hook runs as root while the rootfs
 * content is the user's, so a path inside it is resolved the way openat2(RESOLVE_IN_ROOT) would
 * resolve it: the rootfs is "/", absolute symlinks restart at the rootfs, ".." stops at it, at
 * most 40 symlinks are followed, and components are walked one at a time with lstat and readlink,
 * never through an API that follows a symlink on the host (toRealPath, Files.exists, ...). So no
 * symlink in the container can name a host file.
 *
 * <p>What is checked here is the state of the tree at the time of the call; a caller that opens
 * {@link Resolved#hostPath()} later relies on the tree not changing in between (the hook runs
 * before any container process starts).
 */
public final class Rootfs {
    /** The kernel's MAXSYMLINKS: one more link is ELOOP. */
    public static final int MAX_SYMLINKS = 40;
    /** {@link #list} returns at most this many names. */
    public static final int MAX_LIST = 100_000;
    /** The kernel's PATH_MAX, for the path asked and for each symlink body. */
    private static final int PATH_MAX = 4096;

    /**
     * A resolved path.
     *
     * @param containerPath the canonical absolute path inside the container ("/" for the root;
     *                      no symlink, ".", ".." or empty component)
     * @param hostPath      the same file on the host: {@link #hostDir()} plus containerPath
     * @param attrs         its lstat attributes (a symlink only from {@link #resolveNoFollowLast})
     */
    public record Resolved(String containerPath, Path hostPath, BasicFileAttributes attrs) {
    }

    /** One walked component: its name, its host path, its lstat attributes. */
    private record Step(Path name, Path host, BasicFileAttributes attrs) {
    }

    private final Path hostDir;

    /**
     * @param hostDir the rootfs directory on the host. It is named by the runtime or the
     *                administrator, not by the container, so host symlinks on the way to it are
     *                fine: it is pinned once to its real path, and everything below it is then
     *                resolved component by component without following host symlinks.
     */
    public Rootfs(Path hostDir) {
        Path dir;
        BasicFileAttributes a;
        try {
            dir = hostDir.toAbsolutePath().toRealPath();
            a = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(hostDir + ": rootfs directory does not exist");
        } catch (IOException e) {
            throw BypassException.badInput(hostDir + ": cannot read the rootfs directory: " + reason(e));
        }
        if (!a.isDirectory()) {
            throw BypassException.badInput(hostDir + ": rootfs is not a directory");
        }
        this.hostDir = dir;
    }

    /** The rootfs directory on the host (absolute, real path). */
    public Path hostDir() {
        return hostDir;
    }

    /**
     * Resolves a container path, following symlinks in every component including the last (like
     * stat). Relative paths are taken from "/". Empty when a component does not exist, cannot be
     * read, or is not a directory while more components follow, and for "" (ENOENT).
     *
     * @throws BypassException (bad input) for a path with a NUL or longer than PATH_MAX, and for
     *                         more than {@value #MAX_SYMLINKS} symlinks (a loop: the loader's ELOOP)
     */
    public Optional<Resolved> resolve(String containerPath) {
        return walk(containerPath, true, true);
    }

    /** Like {@link #resolve}, but a symlink in the last component is returned itself (like lstat). */
    public Optional<Resolved> resolveNoFollowLast(String containerPath) {
        return walk(containerPath, false, true);
    }

    /** Whether the path resolves (following symlinks) to a regular file; false for a symlink loop. */
    public boolean isRegularFile(String containerPath) {
        return walk(containerPath, true, false).map(r -> r.attrs().isRegularFile()).orElse(false);
    }

    /**
     * The names in a container directory (symlinks followed), sorted, at most {@value #MAX_LIST}.
     * Empty when it is missing, not a directory, unreadable or behind a symlink loop.
     */
    public List<String> list(String containerDir) {
        Optional<Resolved> dir = walk(containerDir, true, false);
        if (dir.isEmpty() || !dir.get().attrs().isDirectory()) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        // hostPath has no symlink in it (each component was lstat'ed), so opening it follows none.
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.get().hostPath())) {
            for (Path p : ds) {
                if (names.size() >= MAX_LIST) {
                    break;
                }
                names.add(p.getFileName().toString());
            }
        } catch (IOException | DirectoryIteratorException e) {
            return List.of();
        }
        names.sort(null);
        return names;
    }

    /**
     * The walk: a queue of components still to resolve, and the stack of resolved directories
     * (none of them a symlink), which is where ".." goes back to.
     */
    private Optional<Resolved> walk(String containerPath, boolean followLast, boolean loopIsError) {
        checkPath(containerPath);
        if (containerPath.isEmpty()) {
            return Optional.empty();   // the kernel's ENOENT for ""; "." names the root
        }
        BasicFileAttributes rootAttrs;
        try {
            rootAttrs = Files.readAttributes(hostDir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return Optional.empty();
        }
        Deque<Path> todo = new ArrayDeque<>();
        pushFront(todo, components(containerPath));
        Deque<Step> done = new ArrayDeque<>();
        int links = 0;
        while (!todo.isEmpty()) {
            Path name = todo.removeFirst();
            BasicFileAttributes current = done.isEmpty() ? rootAttrs : done.peekLast().attrs();
            // Each component, "." and ".." included, is looked up in a directory (else ENOTDIR).
            if (!current.isDirectory()) {
                return Optional.empty();
            }
            String s = name.toString();
            if (s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                // The parent of a walked directory is the previous one (none is a symlink), and the
                // root is its own parent: ".." never leaves the rootfs.
                done.pollLast();
                continue;
            }
            Path host = (done.isEmpty() ? hostDir : done.peekLast().host()).resolve(name);
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(host, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                // Missing, unreadable, or a name too long: the loader's open fails there too.
                return Optional.empty();
            }
            if (a.isSymbolicLink() && (followLast || !todo.isEmpty())) {
                if (++links > MAX_SYMLINKS) {
                    if (!loopIsError) {
                        return Optional.empty();
                    }
                    throw BypassException.badInput(shown(containerPath)
                            + ": too many levels of symbolic links in the container");
                }
                Path target;
                try {
                    target = Files.readSymbolicLink(host);
                } catch (IOException e) {
                    return Optional.empty();
                }
                String body = target.toString();
                if (body.isEmpty() || body.length() >= PATH_MAX) {
                    return Optional.empty();   // ENOENT / ENAMETOOLONG for the kernel
                }
                if (target.isAbsolute()) {
                    done.clear();   // an absolute link starts again at the rootfs, never at the host's /
                }
                // The link's components replace it, in front of what was left. They stay Paths
                // (not Strings) so names that are not valid UTF-8 keep their bytes.
                pushFront(todo, names(target));
                continue;
            }
            done.addLast(new Step(name, host, a));
        }
        if (done.isEmpty()) {
            return Optional.of(new Resolved("/", hostDir, rootAttrs));
        }
        StringBuilder canonical = new StringBuilder();
        for (Step step : done) {
            canonical.append('/').append(step.name());
        }
        Step last = done.peekLast();
        return Optional.of(new Resolved(canonical.toString(), last.host(), last.attrs()));
    }

    private static void checkPath(String containerPath) {
        if (containerPath.indexOf('\0') >= 0) {
            throw BypassException.badInput(shown(containerPath) + ": container path contains a NUL character");
        }
        if (containerPath.length() >= PATH_MAX) {
            throw BypassException.badInput(shown(containerPath) + ": container path longer than " + PATH_MAX + " characters");
        }
    }

    /**
     * The components of a path string; a trailing "/" becomes a trailing "." so that, as for the
     * kernel, "name/" must be a directory and a symlink there is followed.
     */
    private List<Path> components(String path) {
        List<Path> out = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                out.add(hostDir.getFileSystem().getPath(part));
            }
        }
        if (!out.isEmpty() && path.endsWith("/")) {
            out.add(hostDir.getFileSystem().getPath("."));
        }
        return out;
    }

    /** The name elements of a symlink body (Path drops empty ones and the trailing slash). */
    private static List<Path> names(Path target) {
        List<Path> out = new ArrayList<>();
        for (Path n : target) {
            if (!n.toString().isEmpty()) {
                out.add(n);
            }
        }
        return out;
    }

    /** Puts components at the front of the queue, keeping their order. */
    private static void pushFront(Deque<Path> todo, List<Path> components) {
        for (int i = components.size() - 1; i >= 0; i--) {
            todo.addFirst(components.get(i));
        }
    }

    /** A container path for a one-line message: control characters replaced, length capped. */
    private static String shown(String path) {
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

    private static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getClass().getSimpleName();
    }
}
