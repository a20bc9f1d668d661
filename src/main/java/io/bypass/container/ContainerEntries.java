package io.bypass.container;

import com.sun.jna.LastErrorException;

/**
 * Removes one entry of a container rootfs that bypass made itself (a mount point), by descriptor:
 * the parent directory is resolved inside the rootfs like every other container path
 * ({@link ContainerRoot}: openat2 RESOLVE_IN_ROOT, or the O_NOFOLLOW walk), the entry is opened
 * O_PATH|O_NOFOLLOW relative to that descriptor and compared with the identity recorded when it
 * was made, and only then is the name unlinked relative to the same parent descriptor
 * (unlinkat(2), which never follows a symlink in the last component). So a symlink the container
 * planted in the meantime is never followed out of the rootfs, an entry that is no longer the one
 * made (other inode, device, type or mode) is left alone, a directory is removed only while empty
 * (rmdir is atomic about that) and a file only while empty.
 *
 * <p>Between the identity check and the unlink, a process that can write the parent directory
 * could swap the name; the unlink then removes whatever name it put there: an entry of the rootfs
 * (never a file outside it, and never the data of a hard-linked file, only that one link).
 */
public final class ContainerEntries {
    private ContainerEntries() {
    }

    /** What became of one entry. */
    public enum Result {
        /** removed */
        REMOVED,
        /** nothing there any more (or its parent is gone): nothing to do */
        GONE,
        /** something else is there now (other identity or type), left alone */
        CHANGED,
        /** still the same entry, but no longer empty, left alone */
        NOT_EMPTY,
        /** the kernel refused (still a mount point, read-only file system, ...) */
        FAILED
    }

    /**
     * @param detail for a message: what is there instead, or the errno; empty for REMOVED and GONE
     */
    public record Outcome(Result result, String detail) {
    }

    /** The identity of a path as it resolves now (symlinks in the last component not followed), or null. */
    public static ContainerRoot.Stat statNoFollow(ContainerRoot root, String path) {
        return root.resolveNoFollowLast(path).map(ContainerRoot.Node::stat).orElse(null);
    }

    /**
     * Removes the entry at a canonical container path if it is still the one described by
     * {@code made}: same type, mode, inode and device, and empty (a directory: no entries; a
     * file: size 0).
     */
    public static Outcome removeIfSame(ContainerRoot root, String path, ContainerRoot.Stat made) {
        int slash = path.lastIndexOf('/');
        String name = path.substring(slash + 1);
        if (!path.startsWith("/") || name.isEmpty() || name.equals(".") || name.equals("..")) {
            return new Outcome(Result.FAILED, "not a canonical path below the rootfs");
        }
        String parent = slash == 0 ? "/" : path.substring(0, slash);
        int dirFd = root.openResolved(parent);
        if (dirFd < 0) {
            return new Outcome(Result.GONE, "");
        }
        try {
            ContainerRoot.Stat dir = ContainerRoot.stat(dirFd);
            if (!dir.isDirectory()) {
                return new Outcome(Result.GONE, "");
            }
            byte[] cname = Posix.cString(name);
            int fd;
            try {
                fd = Posix.openat(dirFd, cname, Posix.O_PATH | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
            } catch (LastErrorException e) {
                return e.getErrorCode() == Posix.ENOENT
                        ? new Outcome(Result.GONE, "")
                        : new Outcome(Result.FAILED, "cannot open it (errno " + e.getErrorCode() + ")");
            }
            ContainerRoot.Stat now;
            try {
                now = ContainerRoot.stat(fd);
            } finally {
                Posix.closeQuietly(fd);
            }
            String why = sameEntry(made, now);
            if (why != null) {
                return new Outcome(Result.CHANGED, why);
            }
            if (now.isRegularFile() && now.size() != 0) {
                return new Outcome(Result.NOT_EMPTY, "it now holds " + now.size() + " bytes");
            }
            try {
                Posix.unlinkat(dirFd, cname, now.isDirectory() ? Posix.AT_REMOVEDIR : 0);
                return new Outcome(Result.REMOVED, "");
            } catch (LastErrorException e) {
                return switch (e.getErrorCode()) {
                    case Posix.ENOENT -> new Outcome(Result.GONE, "");
                    case Posix.ENOTEMPTY, Posix.EEXIST -> new Outcome(Result.NOT_EMPTY, "the directory is not empty");
                    case Posix.EBUSY -> new Outcome(Result.FAILED, "it is still a mount point (EBUSY)");
                    default -> new Outcome(Result.FAILED, "unlinkat failed (errno " + e.getErrorCode() + ")");
                };
            }
        } catch (LastErrorException e) {
            return new Outcome(Result.FAILED, "cannot stat it (errno " + e.getErrorCode() + ")");
        } finally {
            Posix.closeQuietly(dirFd);
        }
    }

    /** null when {@code now} is the entry {@code made} describes; else what differs, for a message. */
    public static String sameEntry(ContainerRoot.Stat made, ContainerRoot.Stat now) {
        if ((made.mode() & Posix.S_IFMT) != (now.mode() & Posix.S_IFMT)) {
            return "it is now a " + describe(now) + ", not the " + describe(made) + " bypass made";
        }
        if (made.ino() != now.ino() || made.devMajor() != now.devMajor() || made.devMinor() != now.devMinor()) {
            return "it is another " + describe(now) + " than the one bypass made (inode " + now.ino() + ", not " + made.ino() + ")";
        }
        if (made.mode() != now.mode()) {
            return "its mode changed to " + Integer.toOctalString(now.mode() & 07777);
        }
        return null;
    }

    private static String describe(ContainerRoot.Stat st) {
        return switch (st.type()) {
            case "file" -> "file";
            case "dir" -> "directory";
            case "link" -> "symbolic link";
            default -> "special file";
        };
    }
}
