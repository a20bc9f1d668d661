package io.bypass.cache;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileIdentityTest {
    @TempDir
    Path tmp;

    private static final long BIG = 1L << 30;

    static FakeReader image() {
        return new FakeReader()
                .dir("/usr/lib")
                .file("/usr/lib/libc.so.6", "ELF-libc-2.41-version-definitions-GLIBC_2.41", 1000, 0755)
                .link("/usr/lib/libmpich.so.12", "libmpich.so.12.4.1")
                .file("/usr/lib/libmpich.so.12.4.1", "ELF-mpich-4.2.1-dynamic-symbols-MPI_Init", 2000, 0644);
    }

    /** Stat's written-out equals and hashCode behave as the record's would: every field counts. */
    @Test
    void statEqualityCoversEveryField() {
        FileIdentity.Stat a = new FileIdentity.Stat(FileIdentity.FILE, 7, 100, 5_000_000_001L, 0644);
        assertEquals(a, new FileIdentity.Stat(FileIdentity.FILE, 7, 100, 5_000_000_001L, 0644));
        assertEquals(a.hashCode(), new FileIdentity.Stat(FileIdentity.FILE, 7, 100, 5_000_000_001L, 0644).hashCode());
        List<FileIdentity.Stat> others = List.of(
                new FileIdentity.Stat(FileIdentity.LINK, 7, 100, 5_000_000_001L, 0644),
                new FileIdentity.Stat(FileIdentity.FILE, 8, 100, 5_000_000_001L, 0644),
                new FileIdentity.Stat(FileIdentity.FILE, 7, 101, 5_000_000_001L, 0644),
                new FileIdentity.Stat(FileIdentity.FILE, 7, 100, 5_000_000_002L, 0644),
                new FileIdentity.Stat(FileIdentity.FILE, 7, 100, 5_000_000_001L, 0755));
        for (FileIdentity.Stat o : others) {
            assertTrue(!a.equals(o) && !o.equals(a), o.toString());
        }
        assertTrue(!a.equals(null) && !a.equals("FILE"));
    }

    /** What a profile of the fake image records: part of libc, all of mpich, the link, the listing, a missing path. */
    static List<FileIdentity> record(FakeReader r) throws IOException {
        IdentityRecorder rec = new IdentityRecorder();
        rec.stat("/usr/lib", r.stat("/usr/lib"));
        rec.listing("/usr/lib", r.list("/usr/lib"));
        rec.stat("/usr/lib/libc.so.6", r.stat("/usr/lib/libc.so.6"));
        rec.read("/usr/lib/libc.so.6", 0, r.read("/usr/lib/libc.so.6", 0, 4), 4);
        rec.read("/usr/lib/libc.so.6", 20, r.read("/usr/lib/libc.so.6", 20, 10), 10);
        rec.stat("/usr/lib/libmpich.so.12", r.stat("/usr/lib/libmpich.so.12"));
        rec.link("/usr/lib/libmpich.so.12", r.readLink("/usr/lib/libmpich.so.12"));
        rec.stat("/usr/lib/libmpich.so.12.4.1", r.stat("/usr/lib/libmpich.so.12.4.1"));
        byte[] all = r.read("/usr/lib/libmpich.so.12.4.1", 0, 100);
        rec.read("/usr/lib/libmpich.so.12.4.1", 0, all, all.length);
        rec.stat("/etc/ld.so.preload", r.stat("/etc/ld.so.preload"));
        assertNull(rec.uncacheableReason());
        return rec.identities().orElseThrow();
    }

    @Test
    void unchangedImageValidates() throws IOException {
        FakeReader r = image();
        List<FileIdentity> ids = record(r);
        assertEquals(5, ids.size());
        FileIdentity libc = ids.get(1);
        assertEquals(List.of(new FileIdentity.Range(0, 4), new FileIdentity.Range(20, 10)), libc.ranges());
        assertNotNull(libc.sha256());
        assertEquals(FileIdentity.MISSING, ids.get(4).type());
        assertNull(FileIdentity.validate(ids, r, BIG));
        // Another container of the same image: equal stats and contents, another reader.
        assertNull(FileIdentity.validate(ids, image(), BIG));
    }

    @Test
    void forgedContentWithCopiedMetadataDoesNotValidate() throws IOException {
        List<FileIdentity> ids = record(image());
        // The attacker's image: every stat field equal, the bytes the profiler parsed differ.
        FakeReader attacker = image().forge("/usr/lib/libmpich.so.12.4.1", "ELF-mpich-3.4.1-dynamic-symbols-MPI_Xxxx");
        assertEquals(image().stat("/usr/lib/libmpich.so.12.4.1"), attacker.stat("/usr/lib/libmpich.so.12.4.1"));
        assertEquals("/usr/lib/libmpich.so.12.4.1: content changed", FileIdentity.validate(ids, attacker, BIG));
    }

    @Test
    void bytesOutsideTheParsedRangesDoNotMatter() throws IOException {
        List<FileIdentity> ids = record(image());
        // libc's bytes 4..19 were never parsed: changing them changes no decision.
        String libc = "ELF-libc-2.41-version-definitions-GLIBC_2.41";
        FakeReader r = image().forge("/usr/lib/libc.so.6", libc.substring(0, 4) + "X".repeat(16) + libc.substring(20));
        assertNull(FileIdentity.validate(ids, r, BIG));
        r = image().forge("/usr/lib/libc.so.6", libc.substring(0, 22) + "ZZ" + libc.substring(24));
        assertEquals("/usr/lib/libc.so.6: content changed", FileIdentity.validate(ids, r, BIG));
    }

    @Test
    void eachKindOfChangeIsReported() throws IOException {
        List<FileIdentity> ids = record(image());
        FakeReader r = image();
        r.file("/usr/lib/libc.so.6", "ELF-libc-2.41-version-definitions-GLIBC_2.41", 1001, 0755);
        assertEquals("/usr/lib/libc.so.6: metadata changed", FileIdentity.validate(ids, r, BIG));

        r = image();
        r.nodes.remove("/usr/lib/libmpich.so.12.4.1");
        assertEquals("/usr/lib/libmpich.so.12.4.1: is gone", FileIdentity.validate(ids, r, BIG));

        r = image().file("/etc/ld.so.preload", "/evil.so", 1, 0644);
        assertEquals("/etc/ld.so.preload: now exists", FileIdentity.validate(ids, r, BIG));

        // A link retargeted with the same length, inode and mtime.
        r = image();
        FakeReader.Node old = r.nodes.get("/usr/lib/libmpich.so.12");
        r.nodes.put("/usr/lib/libmpich.so.12", new FakeReader.Node(old.stat(), null, "libmpich.so.12.0.0"));
        assertEquals("/usr/lib/libmpich.so.12: content changed", FileIdentity.validate(ids, r, BIG));

        // A directory that gained an entry, its stat reset.
        r = image();
        r.nodes.put("/usr/lib/libfoo.so", new FakeReader.Node(new FileIdentity.Stat(FileIdentity.FILE, 1, 1, 1, 0644), new byte[1], null));
        assertEquals("/usr/lib: content changed", FileIdentity.validate(ids, r, BIG));

        // The re-check budget.
        assertTrue(FileIdentity.validate(ids, image(), 10).contains("more than 10 bytes"));
    }

    @Test
    void readErrorsAreDifferences() throws IOException {
        List<FileIdentity> ids = record(image());
        FakeReader r = new FakeReader() {
            @Override
            public byte[] read(String path, long offset, int length) throws IOException {
                throw new IOException("EIO");
            }
        };
        r.nodes.putAll(image().nodes);
        assertEquals("cannot re-check the recorded files: EIO", FileIdentity.validate(ids, r, BIG));
    }

    @Test
    void recordsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new FileIdentity("rel", "file", 1, 1, 1, 0, List.of(), null));
        assertThrows(IllegalArgumentException.class, () -> new FileIdentity("/a", "fifo", 1, 1, 1, 0, List.of(), null));
        assertThrows(IllegalArgumentException.class, () -> new FileIdentity("/a", "file", 1, 1, 1, 0,
                List.of(new FileIdentity.Range(0, 4), new FileIdentity.Range(4, 4)), "0".repeat(64)));
        assertThrows(IllegalArgumentException.class, () -> new FileIdentity("/a", "file", 1, 1, 1, 0,
                List.of(new FileIdentity.Range(0, 4)), null));
        assertThrows(IllegalArgumentException.class, () -> new FileIdentity("/a", "missing", 1, 0, 0, 0, List.of(), null));
        assertThrows(IllegalArgumentException.class, () -> new FileIdentity.Range(-1, 4));
        assertEquals(List.of(new FileIdentity.Range(0, 12), new FileIdentity.Range(20, 1)), FileIdentity.Range.merge(List.of(
                new FileIdentity.Range(8, 4), new FileIdentity.Range(20, 1), new FileIdentity.Range(0, 8), new FileIdentity.Range(2, 3))));
    }

    // ---------------------------------------------------------------- a real directory

    private Path realImage(Path root) throws IOException {
        Files.createDirectories(root.resolve("usr/lib"));
        Files.write(root.resolve("usr/lib/libc.so.6"), "0123456789abcdefghijklmnopqrstuvwxyz".getBytes());
        Files.createSymbolicLink(root.resolve("usr/lib/libm.so.6"), Path.of("libm-2.41.so"));
        Files.write(root.resolve("usr/lib/libm-2.41.so"), "libm".getBytes());
        return root;
    }

    private static Map<String, long[]> profileReads() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("/usr/lib", new long[] {1});        // listed
        m.put("/usr/lib/libc.so.6", new long[] {0, 8, 4, 8, 30, 6});
        m.put("/usr/lib/libm.so.6", new long[0]);
        m.put("/usr/lib/libm-2.41.so", new long[] {0, 4});
        m.put("/etc/ld.so.preload", new long[0]);
        return m;
    }

    @Test
    void realDirectory() throws IOException {
        Path root = realImage(tmp.resolve("a"));
        DirReader r = new DirReader(root);
        List<FileIdentity> ids = r.profile(profileReads()).identities().orElseThrow();
        FileIdentity libc = ids.get(1);
        assertEquals(List.of(new FileIdentity.Range(0, 12), new FileIdentity.Range(30, 6)), libc.ranges());
        assertNull(FileIdentity.validate(ids, r, BIG));

        // Same size, bytes changed in a parsed range, mtime and mode put back: content evidence catches it.
        Path f = root.resolve("usr/lib/libc.so.6");
        FileTime m = Files.getLastModifiedTime(f);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(5);
            raf.write('X');
        }
        Files.setLastModifiedTime(f, m);
        assertEquals("/usr/lib/libc.so.6: content changed", FileIdentity.validate(ids, r, BIG));

        // Outside the parsed ranges: still the same decision.
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(5);
            raf.write('5');
            raf.seek(20);
            raf.write('X');
        }
        Files.setLastModifiedTime(f, m);
        assertNull(FileIdentity.validate(ids, r, BIG));

        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals("/usr/lib/libc.so.6: metadata changed", FileIdentity.validate(ids, r, BIG));
    }

    @Test
    void realDirectoryReplacedFileAndPlantedPath() throws IOException {
        Path root = realImage(tmp.resolve("b"));
        DirReader r = new DirReader(root);
        List<FileIdentity> ids = r.profile(profileReads()).identities().orElseThrow();

        // An atomic replace with the same bytes and mtime: a new inode, so not the same file.
        Path f = root.resolve("usr/lib/libm-2.41.so");
        FileTime m = Files.getLastModifiedTime(f);
        Path t = root.resolve(".new");   // not in usr/lib: that directory was listed
        Files.write(t, "libm".getBytes());
        Files.setLastModifiedTime(t, m);
        FileTime dirM = Files.getLastModifiedTime(root.resolve("usr/lib"));
        Files.move(t, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.setLastModifiedTime(root.resolve("usr/lib"), dirM);   // what a user can put back
        assertEquals("/usr/lib/libm-2.41.so: metadata changed", FileIdentity.validate(ids, r, BIG));

        ids = r.profile(profileReads()).identities().orElseThrow();
        assertNull(FileIdentity.validate(ids, r, BIG));
        Files.createDirectories(root.resolve("etc"));
        Files.write(root.resolve("etc/ld.so.preload"), "/x.so".getBytes());
        assertEquals("/etc/ld.so.preload: now exists", FileIdentity.validate(ids, r, BIG));
    }
}
