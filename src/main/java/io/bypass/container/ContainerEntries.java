package io.bypass.container;

import com.sun.jna.LastErrorException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

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

    /**
     * The birth time (statx btime, nanoseconds) of what a container path resolves to, or 0 when it
     * does not resolve or the file system does not keep one. With the inode it tells an entry from
     * a later one that got the same inode number back (tmpfs and ext4 reuse them at once).
     */
    public static long birthTime(ContainerRoot root, String path) {
        int fd = root.openResolved(path);
        if (fd < 0) {
            return 0;
        }
        try {
            return birthTime(fd);
        } finally {
            Posix.closeQuietly(fd);
        }
    }

    private static long birthTime(int fd) {
        byte[] buf = new byte[256];
        try {
            Posix.statx(fd, new byte[] {0}, Posix.AT_EMPTY_PATH | Posix.AT_SYMLINK_NOFOLLOW, Posix.STATX_BTIME, buf);
        } catch (LastErrorException e) {
            return 0;
        }
        ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder());
        if ((b.getInt(0) & Posix.STATX_BTIME) == 0) {
            return 0;
        }
        return b.getLong(80) * 1_000_000_000L + Integer.toUnsignedLong(b.getInt(88));
    }

    /**
     * Removes the entry at a canonical container path if it is still the one described by
     * {@code made}: same type, mode, inode and device, and empty (a directory: no entries; a
     * file: size 0), and born at {@code madeBirth} where both that and the file system's value are known.
     */
    public static Outcome removeIfSame(ContainerRoot root, String path, ContainerRoot.Stat made, long madeBirth) {
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
            long birth;
            try {
                now = ContainerRoot.stat(fd);
                birth = birthTime(fd);
            } finally {
                Posix.closeQuietly(fd);
            }
            String why = sameEntry(made, now);
            if (why == null && madeBirth != 0 && birth != 0 && madeBirth != birth) {
                why = "it is another " + describe(now) + " than the one bypass made (same inode number, made later)";
            }
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
