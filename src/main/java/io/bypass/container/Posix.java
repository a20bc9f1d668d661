package io.bypass.container;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

import java.nio.charset.StandardCharsets;

/**
 * The few Linux system calls that reading a container safely needs and that the JDK does not
 * offer on a descriptor: openat2 (RESOLVE_IN_ROOT), openat with O_PATH, statx on a descriptor,
 * readlinkat, pread and getdents64. JNA direct mapping (no interface proxy, so nothing for
 * native-image to register but the class itself). 64-bit Linux only (x86_64, aarch64): sizes are
 * passed as Java longs.
 *
 * <p>Errors come back as {@link LastErrorException}s thrown by JNA with the call's errno; the
 * callers turn them into findings or one-line messages.
 */
final class Posix {
    static final boolean AARCH64 = "aarch64".equals(System.getProperty("os.arch"));

    // Open flags: O_DIRECTORY and O_NOFOLLOW differ between x86_64 and the asm-generic ABI of aarch64.
    static final int O_RDONLY = 0;
    static final int O_NOCTTY = 0400;
    static final int O_NONBLOCK = 04000;
    static final int O_DIRECTORY = AARCH64 ? 040000 : 0200000;
    static final int O_NOFOLLOW = AARCH64 ? 0100000 : 0400000;
    static final int O_CLOEXEC = 02000000;
    static final int O_PATH = 010000000;

    static final long RESOLVE_NO_MAGICLINKS = 0x02;
    static final long RESOLVE_IN_ROOT = 0x10;

    static final int AT_FDCWD = -100;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;
    static final int AT_EMPTY_PATH = 0x1000;
    static final int STATX_BASIC_STATS = 0x7ff;
    static final int AT_REMOVEDIR = 0x200;
    static final int STATX_BTIME = 0x800;

    // Syscalls added after the unified table (openat2) have one number everywhere.
    static final long SYS_OPENAT2 = 437;
    static final long SYS_GETDENTS64 = AARCH64 ? 61 : 217;

    static final int ENOENT = 2, EINTR = 4, EAGAIN = 11, EACCES = 13, EXDEV = 18, ENOTDIR = 20, EINVAL = 22,
            ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40, EPERM = 1, E2BIG = 7;
    static final int EBUSY = 16, EEXIST = 17, ENOTEMPTY = 39;

    static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000, S_IFLNK = 0120000;

    private static final boolean AVAILABLE;
    /** glibc's soname: dlopen finds the already loaded library without any path search. */
    private static final String LIBC = "libc.so.6";

    static {
        boolean ok;
        try {
            // Without this property JNA's NativeLibrary runs `/sbin/ldconfig -p` (with this root
            // process' whole environment) to learn the library path: a host binary spawned from
            // a hook, and about 20 ms of its start. libc is already loaded; it needs no search.
            if (System.getProperty("jna.platform.library.path") == null) {
                System.setProperty("jna.platform.library.path", "");
            }
            try {
                Native.register(Posix.class, LIBC);
            } catch (UnsatisfiedLinkError notGlibc) {
                Native.register(Posix.class, Platform.C_LIBRARY_NAME);
            }
            ok = Platform.isLinux() && Platform.is64Bit();
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            ok = false;
        }
        AVAILABLE = ok;
    }

    private Posix() {
    }

    /** Whether the calls are usable here (Linux, 64-bit, JNA's native part loadable). */
    static boolean available() {
        return AVAILABLE;
    }

    static native int openat(int dirfd, byte[] path, int flags, int mode) throws LastErrorException;

    /** The raw syscall; used for openat2 and getdents64, which glibc 2.36 does not wrap. */
    static native long syscall(long number, int fd, byte[] buf, long[] how, long size) throws LastErrorException;

    static native long syscall(long number, int fd, byte[] buf, long size) throws LastErrorException;

    static native int statx(int dirfd, byte[] path, int flags, int mask, byte[] buf) throws LastErrorException;

    static native long readlinkat(int dirfd, byte[] path, byte[] buf, long size) throws LastErrorException;

    static native long pread(int fd, byte[] buf, long count, long offset) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    /** Removes one name relative to a directory descriptor; never follows a symlink in that name. */
    static native int unlinkat(int dirfd, byte[] path, int flags) throws LastErrorException;

    /** A NUL-terminated path for a system call. */
    static byte[] cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }

    static void closeQuietly(int fd) {
        if (fd >= 0) {
            try {
                close(fd);
            } catch (LastErrorException ignored) {
                // Nothing to do about a failed close of a read-only descriptor.
            }
        }
    }
}
