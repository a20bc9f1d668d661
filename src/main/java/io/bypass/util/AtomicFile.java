package io.bypass.util;

import io.bypass.BypassException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The one atomic file write of bypass: database entries, a bundle's config.json (patch-bundle),
 * CDI specs; and, without fsync, poststop records and decision-cache entries. A reader sees the
 * old content or the new, never a part.
 */
public final class AtomicFile {
    private AtomicFile() {
    }

    /**
     * Writes a temporary file next to the target, fsyncs it, renames it over the target and fsyncs
     * the directory. On any failure the temporary file is removed and the target is untouched.
     * The new file gets the target's permissions when it exists, else 0644.
     */
    public static void write(Path target, byte[] content) {
        Set<PosixFilePermission> mode;
        try {
            mode = Files.exists(target, LinkOption.NOFOLLOW_LINKS)
                    ? Files.getPosixFilePermissions(target, LinkOption.NOFOLLOW_LINKS)
                    : PosixFilePermissions.fromString("rw-r--r--");
        } catch (IOException e) {
            throw BypassException.internal(target + ": cannot write: " + e.getMessage(), e);
        }
        write(target, content, mode);
    }

    /**
     * The same with the new file's permissions given. The temporary file is ".tmp-PID-RANDOM" in
     * the target's directory, so writers in several processes and threads never meet (the decision
     * cache removes such names left by a writer that died).
     */
    public static void write(Path target, byte[] content, Set<PosixFilePermission> mode) {
        write(target, content, mode, true);
    }

    /**
     * The same rename, atomic for readers, without the two fsyncs: for files whose loss after a
     * crash is harmless. A container's poststop record describes live processes, which a crash
     * ends, and /run is emptied at boot; a decision-cache entry is a cache, and a torn one fails
     * its checksum and is a miss. On this machine's ext4 the two fsyncs are 2 ms of every hook
     * that injects.
     */
    public static void writeUnsynced(Path target, byte[] content, Set<PosixFilePermission> mode) {
        write(target, content, mode, false);
    }

    private static void write(Path target, byte[] content, Set<PosixFilePermission> mode, boolean durable) {
        Path tmp = target.resolveSibling(".tmp-" + ProcFiles.selfPid() + "-"
                + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()));
        try {
            try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(mode))) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                if (durable) {
                    ch.force(true);
                }
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the file system cannot rename atomically", e);
            }
            if (durable) {
                fsyncDir(target.getParent());
            }
        } catch (FileAlreadyExistsException e) {
            throw BypassException.internal(tmp + ": a temporary file of another writer is in the way; remove it", e);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // The original error is the one to report.
            }
            throw BypassException.internal(target + ": cannot write: " + e.getMessage(), e);
        }
    }

    public static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (NoSuchFileException e) {
            // Nothing to sync.
        } catch (IOException ignored) {
            // Some file systems refuse fsync on directories; the rename is still atomic.
        }
    }
}
