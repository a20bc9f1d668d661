package io.bypass.cache;

import io.bypass.container.ContainerRoot;
import io.bypass.db.Database;
import io.bypass.plan.Policy;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hook's key, and validation of recorded identities through a ContainerRoot. */
class CachedDecisionTest {
    @TempDir
    Path tmp;
    Path rootfs;
    Path lib;

    @BeforeEach
    void image() throws IOException {
        rootfs = Files.createDirectories(tmp.resolve("rootfs"));
        lib = SmallImage.build(rootfs);
    }

    private CachedDecision.Request request(Path root, Map<String, String> ann) {
        return new CachedDecision.Request(root, ann, Map.of("PATH", "/bin"), List.of("/app/x", "-v"), "runtime-hook", "hook",
                Policy.DEFAULT);
    }

    // ---------------------------------------------------------------- the archive's training

    /** make-cds.sh's two JVMs: the first computes and stores, the second (archived) hits that entry. */
    @Test
    void trainingStoresInOneRunAndHitsInTheNext() {
        Database db = new Database(tmp.resolve("db"));
        Path cache = tmp.resolve("training-cache");
        assertEquals("computed", CachedDecision.train(db, rootfs, "/app/x", cache, null));
        assertEquals("hit", CachedDecision.train(db, rootfs, "/app/x", cache, null));
        assertEquals("hit", CachedDecision.train(db, rootfs, "/app/x", cache, null), "the entry stays");
    }

    // ---------------------------------------------------------------- the key

    @Test
    void keyIsTheSameForOneRequestWhateverTheAnnotationOrderAndTheRootfsPath() throws IOException {
        Database db = new Database(tmp.resolve("db"));
        Path conf = tmp.resolve("config.json");
        Map<String, String> a = new LinkedHashMap<>();
        a.put("x", "1");
        a.put("y", "2");
        Map<String, String> b = new LinkedHashMap<>();
        b.put("y", "2");
        b.put("x", "1");
        Path other = Files.createDirectories(tmp.resolve("other-overlay"));
        String k = CachedDecision.key(db, conf, request(rootfs, a)).digest();
        assertEquals(k, CachedDecision.key(db, conf, request(rootfs, b)).digest());
        assertEquals(k, CachedDecision.key(db, conf, request(other, a)).digest(),
                "another mount of the image (same owner) has the same key: the rootfs path is not part of it");
    }

    @Test
    void everyInputChangesTheKey() throws IOException {
        Database db = new Database(tmp.resolve("db"));
        Path conf = tmp.resolve("config.json");
        Map<String, String> ann = Map.of("x", "1");
        String k = CachedDecision.key(db, conf, request(rootfs, ann)).digest();
        assertNotEquals(k, CachedDecision.key(db, conf, request(rootfs, Map.of("x", "2"))).digest(), "annotations");
        assertNotEquals(k, CachedDecision.key(db, conf, new CachedDecision.Request(rootfs, ann, Map.of("PATH", "/usr/bin"),
                List.of("/app/x", "-v"), "runtime-hook", "hook", Policy.DEFAULT)).digest(), "env");
        assertNotEquals(k, CachedDecision.key(db, conf, new CachedDecision.Request(rootfs, ann, Map.of("PATH", "/bin"),
                List.of("/app/y", "-v"), "runtime-hook", "hook", Policy.DEFAULT)).digest(), "args");
        assertNotEquals(k, CachedDecision.key(db, conf, new CachedDecision.Request(rootfs, ann, Map.of("PATH", "/bin"),
                List.of("/app/x", "-v"), "precreate", "hook", Policy.DEFAULT)).digest(), "stage");
        assertNotEquals(k, CachedDecision.key(db, conf, new CachedDecision.Request(rootfs, ann, Map.of("PATH", "/bin"),
                List.of("/app/x", "-v"), "runtime-hook", "precreate", Policy.DEFAULT)).digest(), "mode");
        assertNotEquals(k, CachedDecision.key(db, conf, new CachedDecision.Request(rootfs, ann, Map.of("PATH", "/bin"),
                List.of("/app/x", "-v"), "runtime-hook", "hook", new Policy(io.bypass.db.AbiCheck.parse("major", "t"))))
                .digest(), "policy");
        assertNotEquals(k, CachedDecision.key(new Database(tmp.resolve("db2")), conf, request(rootfs, ann)).digest(), "database");
        Files.writeString(conf, "{}");
        String withConf = CachedDecision.key(db, conf, request(rootfs, ann)).digest();
        assertNotEquals(k, withConf, "a configuration file where there was none");
        Files.writeString(conf, "{\"onError\": \"skip\"}");
        assertNotEquals(withConf, CachedDecision.key(db, conf, request(rootfs, ann)).digest(), "the configuration's bytes");
    }

    @Test
    void theDatabaseGenerationIsInTheKey() throws IOException {
        Path dbDir = Files.createDirectories(tmp.resolve("db"));
        Database db = new Database(dbDir);
        Path conf = tmp.resolve("config.json");
        String k = CachedDecision.key(db, conf, request(rootfs, Map.of())).digest();
        Files.writeString(dbDir.resolve(".generation"), "7\n");
        assertNotEquals(k, CachedDecision.key(db, conf, request(rootfs, Map.of())).digest(), "a register or remove bumps it");
    }

    // ---------------------------------------------------------------- recording and validation

    /** A small "profile": what the real one does, through the root, with the recorder observing. */
    private List<FileIdentity> profile() {
        IdentityRecorder rec = new IdentityRecorder();
        try (ContainerRoot root = ContainerRoot.open(rootfs).observe(new RootRecorder(rec))) {
            root.read("/lib/libx.so.1", f -> f.readBytes(0, 64));                 // through two links
            root.read("/usr/lib/libx.so.1.2", f -> f.readBytes(4096, 100));
            root.resolveNoFollowLast("/usr/lib/libx.so.1");                      // the link itself
            root.resolve("/etc/ld.so.preload");                                    // missing
            root.list("/usr/lib");
        }
        assertNull(rec.uncacheableReason());
        return rec.identities().orElseThrow();
    }

    private String validate(List<FileIdentity> ids) {
        try (ContainerRoot root = ContainerRoot.open(rootfs)) {
            return FileIdentity.validate(ids, new RootReader(root), 1 << 20);
        }
    }

    @Test
    void recordsLookupsThroughLinksMissesBytesLinksAndListings() {
        List<FileIdentity> ids = profile();
        assertTrue(ids.contains(FileIdentity.resolution("/lib/libx.so.1", true, "/usr/lib/libx.so.1.2")), ids.toString());
        assertTrue(ids.contains(FileIdentity.resolution("/etc/ld.so.preload", true, null)), ids.toString());
        FileIdentity file = ids.stream().filter(i -> i.path().equals("/usr/lib/libx.so.1.2")).findFirst().orElseThrow();
        assertEquals(List.of(new FileIdentity.Range(0, 64), new FileIdentity.Range(4096, 100)), file.ranges());
        assertNotNull(ids.stream().filter(i -> i.path().equals("/usr/lib/libx.so.1") && i.type().equals(FileIdentity.LINK))
                .findFirst().orElseThrow().sha256(), "the link's target is evidence");
        assertNotNull(ids.stream().filter(i -> i.path().equals("/usr/lib") && i.type().equals(FileIdentity.DIR))
                .findFirst().orElseThrow().sha256(), "the listing is evidence");
        assertNull(validate(ids), "nothing changed: valid");
    }

    @Test
    void contentChangedWithMetadataRestoredInvalidates() throws IOException {
        List<FileIdentity> ids = profile();
        FileTime mtime = Files.getLastModifiedTime(lib);
        Object ino = Files.getAttribute(lib, "unix:ino");
        try (var ch = java.nio.channels.FileChannel.open(lib, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {42}), 4100);   // inside a range read, in place
        }
        Files.setLastModifiedTime(lib, mtime);
        assertEquals(ino, Files.getAttribute(lib, "unix:ino"));
        assertEquals(8192, Files.size(lib));
        String why = validate(ids);
        assertNotNull(why, "same inode, size, mtime and mode, other bytes: not valid");
        assertTrue(why.contains("/usr/lib/libx.so.1.2: content changed"), why);
    }

    @Test
    void bytesTheProfileDidNotReadDoNotMatter() throws IOException {
        List<FileIdentity> ids = profile();
        FileTime mtime = Files.getLastModifiedTime(lib);
        try (var ch = java.nio.channels.FileChannel.open(lib, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {42}), 1000);
        }
        Files.setLastModifiedTime(lib, mtime);
        assertNull(validate(ids));
    }

    @Test
    void aFileAppearingAtAMissedPathInvalidates() throws IOException {
        List<FileIdentity> ids = profile();
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/ld.so.preload"), "");
        String why = validate(ids);
        assertNotNull(why);
        assertTrue(why.startsWith("/etc/ld.so.preload: now resolves to /etc/ld.so.preload"), why);
    }

    @Test
    void aLinkRetargetedOrADirectorySwappedForALinkInvalidates() throws IOException {
        List<FileIdentity> ids = profile();
        Path dir = rootfs.resolve("usr/lib");
        Files.copy(lib, dir.resolve("liby.so"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Files.delete(dir.resolve("libx.so.1"));
        Files.createSymbolicLink(dir.resolve("libx.so.1"), Path.of("liby.so"));
        assertNotNull(validate(ids), "retargeted link");

        image2();
        List<FileIdentity> ids2 = profile();
        // /usr/lib replaced by a link to a copy with the same names: the canonical paths move.
        Path moved = rootfs.resolve("usr/lib2");
        Files.move(rootfs.resolve("usr/lib"), moved);
        Files.createSymbolicLink(rootfs.resolve("usr/lib"), Path.of("lib2"));
        String why = validate(ids2);
        assertNotNull(why, "a directory on the way swapped for a symlink");
    }

    private void image2() throws IOException {
        try (var files = Files.walk(rootfs)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        image();
    }

    @Test
    void identitiesSurviveTheStore() throws IOException {
        List<FileIdentity> ids = profile();
        byte[] e = DecisionCache.encode("ab".repeat(32), 1, "p".getBytes(StandardCharsets.UTF_8), Expectations.of(ids));
        assertEquals(ids, DecisionCache.decode(e, "ab".repeat(32), 0).files().files());
    }
}
