package io.bypass.db;

import io.bypass.BypassException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DatabaseTest {
    @TempDir
    Path tmp;

    static BundleEntry entry(String name) {
        BundleDescriptor d = new BundleDescriptor(name, BundleKind.GENERIC, null, null, List.of("/x"),
                BundleDescriptor.Dependencies.NONE, List.of(), List.of(), List.of(), Map.of(),
                BundleDescriptor.Activation.DEFAULT, BundleDescriptor.MpiSettings.DEFAULT, BundleDescriptor.GlibcSettings.DEFAULT, Map.of());
        RegisteredFile f = new RegisteredFile("/x", RegisteredFile.Role.LIBRARY, "/x", "libx.so.1", "1", "0".repeat(64), 1,
                "ELF64", "x86_64", List.of("libc.so.6"), List.of(), Map.of("libc.so.6", List.of("GLIBC_2.34")), "2.34", List.of());
        return new BundleEntry(d, "2026-01-01T00:00:00Z", "2.36", List.of(f),
                List.of(new RegisteredDevice("/dev/null", 'c', 1, 3, 0666, 0, 0)), List.of(), Map.of("k", "v"));
    }

    @Test
    void generationChangesWithEveryWriteAndEveryHandEdit() throws Exception {
        Database db = new Database(tmp.resolve("db"));
        db.init();
        String g0 = db.generation();
        assertEquals(g0, db.generation(), "stable while nothing changes");
        db.store(entry("one"));
        String g1 = db.generation();
        assertFalse(g1.equals(g0));
        assertEquals(1, db.counter());
        db.store(entry("one"));
        String g2 = db.generation();
        assertFalse(g2.equals(g1), "re-registering the same bundle is a new generation");
        assertTrue(db.remove("one"));
        assertFalse(db.generation().equals(g2));
        assertEquals(3, db.counter());
        assertFalse(db.remove("one"));
        assertEquals(3, db.counter(), "removing nothing is no write");
        db.store(entry("two"));
        String g = db.generation();
        Path f = db.entryFile("two");
        java.nio.file.attribute.FileTime m = Files.getLastModifiedTime(f);
        Thread.sleep(20);   // file times tick with the kernel clock (a few ms)
        Files.write(f, Files.readAllBytes(f));   // an edit by hand, mtime put back: ctime still moves
        Files.setLastModifiedTime(f, m);
        assertFalse(db.generation().equals(g));
    }

    @Test
    void storeLoadRemove() {
        Database db = new Database(tmp.resolve("db"));
        assertEquals(List.of(), db.loadAll(), "a missing database reads as empty");
        BypassException missing = assertThrows(BypassException.class, () -> db.store(entry("one")));
        assertEquals(io.bypass.FindingCode.DATABASE_MISSING, missing.code());
        assertTrue(missing.getMessage().contains("db init"), missing.getMessage());
        assertFalse(Files.exists(tmp.resolve("db")), "storing into a missing database creates nothing");
        assertTrue(db.init());
        assertFalse(db.init(), "init of an existing database changes nothing");
        db.store(entry("one"));
        db.store(entry("two"));
        assertEquals(List.of("one", "two"), db.names());
        assertEquals(entry("one"), db.require("one"));
        db.store(entry("one"));
        assertEquals(2, db.loadAll().size(), "replacing keeps one entry");
        assertTrue(db.remove("one"));
        assertFalse(db.remove("one"));
        assertThrows(BypassException.class, () -> db.require("one"));
        try (var files = Files.list(tmp.resolve("db/bundles"))) {
            assertEquals(List.of("two.json"), files.map(p -> p.getFileName().toString()).toList(), "no temporary file left");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aCorruptEntryIsAOneLineError() throws Exception {
        Database db = new Database(tmp.resolve("db"));
        db.init();
        db.store(entry("one"));
        Files.writeString(tmp.resolve("db/bundles/one.json"), "{\"format\": 1, \"descriptor\": ");
        BypassException e = assertThrows(BypassException.class, db::loadAll);
        assertTrue(e.getMessage().contains("one.json: not valid JSON"), e.getMessage());
        Files.writeString(tmp.resolve("db/bundles/one.json"), "{\"format\": 99}");
        e = assertThrows(BypassException.class, db::loadAll);
        assertTrue(e.getMessage().contains("database format 99"), e.getMessage());
    }

    @Test
    void theTrustChecksListingGivesTheGenerationOfThatMoment() throws Exception {
        Database db = new Database(tmp.resolve("db"));
        db.init();
        db.store(entry("one"));
        db.store(entry("two"));
        if (!"root".equals(System.getProperty("user.name"))) {
            return;   // requireTrusted refuses a database that is not root's (the test above)
        }
        Database.Listing listing = db.requireTrusted();
        assertEquals(List.of("one.json", "two.json"), listing.entries().stream().map(Database.EntryStat::fileName).toList());
        assertEquals(db.generation(), db.generation(listing), "one listing for the trust check and the key");
        String before = db.generation();
        db.store(entry("three"));
        // A write between the trust check and the key still changes the key: the counter is read then.
        assertFalse(db.generation(listing).equals(before), "the write counter moved");
        assertFalse(db.generation().equals(db.generation(listing)), "a new listing also sees the new entry");
    }

    @Test
    void temporaryFilesOfAWriterAreNotEntries() throws Exception {
        Database db = new Database(tmp.resolve("db"));
        db.init();
        db.store(entry("one"));
        Files.writeString(tmp.resolve("db/bundles/.two.json.tmp-123"), "{half");
        assertEquals(List.of("one"), db.names());
    }

    @Test
    void trustRequiresRootOwnershipAndNoWriteByOthers() throws Exception {
        Database db = new Database(tmp.resolve("db"));
        db.init();
        db.store(entry("one"));
        if (!"root".equals(System.getProperty("user.name"))) {
            assertThrows(BypassException.class, db::requireTrusted);
            return;
        }
        db.requireTrusted();
        Files.setPosixFilePermissions(tmp.resolve("db/bundles/one.json"), PosixFilePermissions.fromString("rw-rw-rw-"));
        BypassException e = assertThrows(BypassException.class, db::requireTrusted);
        assertTrue(e.getMessage().contains("one.json is writable by non-root users"), e.getMessage());
    }
}
