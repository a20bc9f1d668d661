package io.bypass.container;

import io.bypass.BypassException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
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
 * A container root file system seen from the host. Paths are resolved the way openat2 with
 * RESOLVE_IN_ROOT resolves them: the rootfs is "/", absolute symlinks restart at the rootfs, ".."
 * stops at it, 40 links at most, and no host path is ever followed: each component is examined
 * with lstat, never through an API that follows symlinks on the host.
 */
public final class Rootfs {
    public static final int MAX_LINKS = 40;
    private static final int MAX_LIST = 100_000;
    private static final int MAX_PATH = 4096;

    /**
     * A resolved path.
     *
     * @param containerPath the canonical absolute path inside the container (no symlinks)
     * @param hostPath      the same file on the host: the rootfs directory plus containerPath
     */
    public record Resolved(String containerPath, Path hostPath, BasicFileAttributes attrs) {
    }

    private final Path hostDir;

    public Rootfs(Path hostDir) {
        Path dir = hostDir.toAbsolutePath().normalize();
        BasicFileAttributes a;
        try {
            // The rootfs directory itself is named by the admin or the runtime: canonicalise it once.
            dir = dir.toRealPath();
            a = Files.readAttributes(dir, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(hostDir + ": rootfs directory does not exist");
        } catch (IOException e) {
            throw BypassException.badInput(hostDir + ": cannot read the rootfs directory: " + e.getMessage());
        }
        if (!a.isDirectory()) {
            throw BypassException.badInput(hostDir + ": rootfs is not a directory");
        }
        this.hostDir = dir;
    }

    public Path hostDir() {
        return hostDir;
    }

    public Optional<Resolved> resolve(String containerPath) {
        return walk(containerPath, true);
    }

    public Optional<Resolved> resolveNoFollowLast(String containerPath) {
        return walk(containerPath, false);
    }

    public boolean isRegularFile(String containerPath) {
        return resolve(containerPath).map(r -> r.attrs().isRegularFile()).orElse(false);
    }

    /** Names in a directory of the container (empty when it is missing or not a directory). */
    public List<String> list(String containerDir) {
        Optional<Resolved> dir = resolve(containerDir);
        if (dir.isEmpty() || !dir.get().attrs().isDirectory()) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.get().hostPath())) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
                if (names.size() >= MAX_LIST) {
                    break;
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        names.sort(null);
        return names;
    }

    private Optional<Resolved> walk(String path, boolean followLast) {
        if (path.indexOf('\0') >= 0) {
            throw BypassException.badInput("container path contains a NUL character");
        }
        if (path.length() > MAX_PATH) {
            throw BypassException.badInput("container path longer than " + MAX_PATH + " characters");
        }
        Deque<String> todo = new ArrayDeque<>();
        pushComponents(todo, path);
        List<String> done = new ArrayList<>();
        int links = 0;
        BasicFileAttributes attrs = null;
        try {
            attrs = Files.readAttributes(hostDir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            while (!todo.isEmpty()) {
                String c = todo.removeFirst();
                if (c.equals("..")) {
                    if (!done.isEmpty()) {
                        done.remove(done.size() - 1);
                    }
                    attrs = attrsOf(done);
                    continue;
                }
                if (!attrs.isDirectory()) {
                    return Optional.empty();
                }
                done.add(c);
                Path host = hostPathOf(done);
                BasicFileAttributes a = Files.readAttributes(host, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink() && (followLast || !todo.isEmpty())) {
                    if (++links > MAX_LINKS) {
                        throw BypassException.badInput(path + ": too many levels of symbolic links in the container");
                    }
                    String target = Files.readSymbolicLink(host).toString();
                    done.remove(done.size() - 1);
                    if (target.startsWith("/")) {
                        done.clear();
                    }
                    if (target.length() > MAX_PATH) {
                        throw BypassException.badInput(path + ": symbolic link target too long in the container");
                    }
                    pushComponents(todo, target);
                    attrs = attrsOf(done);
                    continue;
                }
                attrs = a;
            }
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            // Unreadable or not a directory somewhere on the way: the loader would not get there either.
            return Optional.empty();
        }
        String canonical = "/" + String.join("/", done);
        return Optional.of(new Resolved(canonical, hostPathOf(done), attrs));
    }

    private BasicFileAttributes attrsOf(List<String> components) throws IOException {
        return Files.readAttributes(hostPathOf(components), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    private Path hostPathOf(List<String> components) {
        Path p = hostDir;
        for (String c : components) {
            p = p.resolve(c);
        }
        return p;
    }

    /** Puts a path's components at the front of the queue, in order; "." and empty parts dropped. */
    private static void pushComponents(Deque<String> todo, String path) {
        String[] parts = path.split("/");
        for (int i = parts.length - 1; i >= 0; i--) {
            String p = parts[i];
            if (!p.isEmpty() && !p.equals(".")) {
                todo.addFirst(p);
            }
        }
    }
}
