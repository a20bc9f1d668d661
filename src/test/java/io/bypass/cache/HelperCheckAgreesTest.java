package io.bypass.cache;

import io.bypass.apply.HookApplier;
import io.bypass.container.ContainerRoot;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The hook re-checks a cache hit through the mount helper (a validate-only plan); the JVM's
 * {@link RootReader} is the reference. For each change to an image after its entry was recorded,
 * both must give the same answer, and the expected one: a helper that says "still valid" where
 * the JVM says "changed" would serve a stale decision.
 */
class HelperCheckAgreesTest {
    private static final Path HELPER = Path.of("target/native/bypass-mount-helper");

    @TempDir
    Path tmp;
    Path rootfs;
    Path lib;

    enum Change {
        NOTHING(true),
        BYTE_IN_A_READ_RANGE_METADATA_RESTORED(false),
        BYTE_OUTSIDE_THE_READ_RANGES(true),
        MTIME(false),
        MODE(false),
        SAME_BYTES_NEW_INODE(false),
        FILE_AT_A_MISSED_PATH(false),
        LINK_RETARGETED(false),
        NAME_ADDED_TO_A_LISTED_DIRECTORY(false),
        DIRECTORY_ON_THE_WAY_SWAPPED_FOR_A_LINK_TO_A_COPY(false),
        FILE_REPLACED_BY_A_FIFO(false),
        FILE_GONE(false);

        final boolean stillValid;

        Change(boolean stillValid) {
            this.stillValid = stillValid;
        }
    }

    @BeforeEach
    void image() throws IOException {
        rootfs = Files.createDirectories(tmp.resolve("rootfs")).toRealPath();
        lib = SmallImage.build(rootfs);
    }

    /** What a profile does, recorded: reads through links, a link itself, a miss, a listing. */
    private List<FileIdentity> record() {
        IdentityRecorder rec = new IdentityRecorder();
        try (ContainerRoot root = ContainerRoot.open(rootfs).observe(new RootRecorder(rec))) {
            root.read("/lib/libx.so.1", f -> f.readBytes(0, 64));
            root.read("/usr/lib/libx.so.1.2", f -> f.readBytes(4096, 100));
            root.resolveNoFollowLast("/usr/lib/libx.so.1");
            root.resolve("/etc/ld.so.preload");
            root.list("/usr/lib");
        }
        return rec.identities().orElseThrow();
    }

    @ParameterizedTest
    @EnumSource(Change.class)
    void theHelperAndTheJvmAgree(Change change) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(HELPER), "the helper is built by mvn compile");
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "the hook trusts only a root-owned helper");
        // Both from the lines an entry stores: the JVM checks what they parse back to.
        Expectations stored = Expectations.ofLines(Expectations.of(record()).lines());
        apply(change);
        String jvm;
        try (ContainerRoot root = ContainerRoot.open(rootfs)) {
            jvm = FileIdentity.validate(stored.files(), new RootReader(root), 1 << 20);
        }
        String helper = HookApplier.verify(HELPER.toAbsolutePath(), rootfs, stored);
        assertEquals(change.stillValid, jvm == null, "the JVM: " + jvm);
        assertEquals(change.stillValid, helper == null, "the helper: " + helper);
    }

    private void apply(Change change) throws IOException, InterruptedException {
        Path dir = rootfs.resolve("usr/lib");
        FileTime mtime = Files.getLastModifiedTime(lib);
        switch (change) {
            case NOTHING -> {
            }
            case BYTE_IN_A_READ_RANGE_METADATA_RESTORED -> {
                writeByte(4100);
                Files.setLastModifiedTime(lib, mtime);
            }
            case BYTE_OUTSIDE_THE_READ_RANGES -> {
                writeByte(1000);
                Files.setLastModifiedTime(lib, mtime);
            }
            case MTIME -> Files.setLastModifiedTime(lib, FileTime.fromMillis(mtime.toMillis() + 1000));
            case MODE -> Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));
            case SAME_BYTES_NEW_INODE -> {
                Path copy = dir.resolve("copy");
                Files.copy(lib, copy, StandardCopyOption.COPY_ATTRIBUTES);
                Files.move(copy, lib, StandardCopyOption.REPLACE_EXISTING);
            }
            case FILE_AT_A_MISSED_PATH -> Files.writeString(Files.createDirectories(rootfs.resolve("etc")).resolve("ld.so.preload"), "");
            case LINK_RETARGETED -> {
                Files.copy(lib, dir.resolve("liby.so"), StandardCopyOption.COPY_ATTRIBUTES);
                Files.delete(dir.resolve("libx.so.1"));
                Files.createSymbolicLink(dir.resolve("libx.so.1"), Path.of("liby.so"));
            }
            case NAME_ADDED_TO_A_LISTED_DIRECTORY -> Files.writeString(dir.resolve("new"), "");
            case DIRECTORY_ON_THE_WAY_SWAPPED_FOR_A_LINK_TO_A_COPY -> {
                Files.move(dir, rootfs.resolve("usr/lib2"));
                Files.createSymbolicLink(dir, Path.of("lib2"));
            }
            case FILE_REPLACED_BY_A_FIFO -> {
                Files.delete(lib);
                Process p = new ProcessBuilder("mkfifo", lib.toString()).start();
                assertEquals(0, p.waitFor());
            }
            case FILE_GONE -> Files.delete(lib);
        }
    }

    private void writeByte(long at) throws IOException {
        try (FileChannel ch = FileChannel.open(lib, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {42}), at);
        }
    }
}
