package io.bypass.front;

import io.bypass.BypassException;
import io.bypass.FindingCode;
import io.bypass.config.SiteConfig;
import io.bypass.db.AbiCheck;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.Database;
import io.bypass.db.RegisteredFile;
import io.bypass.plan.Plan;
import io.bypass.plan.Policy;
import org.junit.jupiter.api.BeforeEach;
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

/** The decision path's own steps: short cuts, database checks, freshness, apply errors, audit and onError. */
class FrontTest {
    @TempDir
    Path tmp;
    Path rootfs;
    Path hostLib;
    Path audit;

    @BeforeEach
    void layout() throws Exception {
        rootfs = tmp.resolve("root");
        Path lib = Files.createDirectories(rootfs.resolve("usr/lib/x86_64-linux-gnu"));
        Files.copy(Path.of("/lib/x86_64-linux-gnu/libc.so.6"), lib.resolve("libc.so.6"));
        Files.copy(Path.of("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), lib.resolve("ld-linux-x86-64.so.2"));
        hostLib = Files.createDirectories(tmp.resolve("host")).resolve("libtool.so.1.0");
        Files.write(hostLib, new byte[] {1});
        audit = tmp.resolve("audit.log");
    }

    /** A database with one bundle that every container gets: the host file of size 1 above. */
    Database database() {
        Database db = new Database(tmp.resolve("db"));
        db.init();
        RegisteredFile f = new RegisteredFile(hostLib.toString(), RegisteredFile.Role.LIBRARY, hostLib.toString(), "libtool.so.1",
                "1.0", "0".repeat(64), 1, "ELF64", "x86_64", List.of("libc.so.6"), List.of(),
                Map.of("libc.so.6", List.of("GLIBC_2.2.5")), "2.2.5", List.of());
        BundleDescriptor d = new BundleDescriptor("tool", BundleKind.GENERIC, "1.0", null, List.of(hostLib.toString()),
                BundleDescriptor.Dependencies.CLOSURE, List.of(), List.of(), List.of(), Map.of(),
                new BundleDescriptor.Activation(Map.of(), List.of(), true), BundleDescriptor.MpiSettings.DEFAULT,
                BundleDescriptor.GlibcSettings.DEFAULT, Map.of());
        db.store(new BundleEntry(d, "2026-01-01T00:00:00Z", "2.36", List.of(f), List.of(), List.of(), Map.of()));
        return db;
    }

    Site site(Database db, SiteConfig.OnError onError) {
        return new Site(db, new SiteConfig(onError, audit, false, null, Path.of("/sbin/ldconfig"), AbiCheck.SYMBOLS),
                Policy.DEFAULT);
    }

    Request hook(Map<String, String> annotations, boolean applied) {
        return new Request(Mode.HOOK, "createRuntime", "c1", rootfs, annotations, Map.of(), List.of(), null, applied);
    }

    List<String> auditLines() throws Exception {
        return Files.exists(audit) ? Files.readAllLines(audit) : List.of();
    }

    @Test
    void theTrustChecksListingServesOneDecisionThenTheDatabaseIsListedAgain() {
        if (!Site.isRoot()) {
            return;   // the trust check, and so its listing, needs a root-owned database
        }
        Database db = new Database(tmp.resolve("db"));
        db.init();
        Site site = site(db, SiteConfig.OnError.FAIL);
        site.requireDatabase(Mode.HOOK);
        assertTrue(site.noBundles());
        database();   // registers a bundle in the same directory, after the trust check
        assertTrue(site.noBundles(), "within its decision, the trust check's listing");
        Database.Listing listing = site.takeDatabaseListing();
        assertTrue(listing != null && listing.isEmpty());
        assertEquals(null, site.takeDatabaseListing(), "taken once");
        assertFalse(site.noBundles(), "listed again, the database has the bundle");
        assertFalse(db.generation(listing).equals(db.generation()), "and a key made now differs");
    }

    @Test
    void anInjectionIsAppliedAndAudited() throws Exception {
        boolean[] applied = new boolean[1];
        Decision d = Front.decide(site(database(), SiteConfig.OnError.FAIL), hook(Map.of(), false), x -> applied[0] = true);
        assertEquals(Plan.Verdict.INJECT, d.verdict(), d.findings().toString());
        assertTrue(applied[0]);
        String line = auditLines().get(0);
        assertTrue(line.contains(" container=c1 stage=createRuntime verdict=inject bundles=tool "), line);
        assertTrue(line.contains("detail=\"1 mounts, 0 devices; cache=off\""), line);
    }

    @Test
    void optedOutAndAlreadyAppliedContainersCostNothing() throws Exception {
        Site site = site(new Database(tmp.resolve("absent")), SiteConfig.OnError.FAIL);
        Decision off = Front.decide(site, hook(Map.of("org.supercontainers.bypass.enabled", "false"), false));
        assertEquals(List.of("disabled"), off.codes());
        Decision applied = Front.decide(site, hook(Map.of(), true));
        assertEquals(List.of("already-applied"), applied.codes());
        assertEquals(Plan.Verdict.NONE, applied.verdict());
        assertTrue(auditLines().get(1).contains("verdict=none bundles=- codes=already-applied"), auditLines().toString());
        assertFalse(Files.exists(tmp.resolve("absent")), "a short cut does not even look at the database");
    }

    @Test
    void aMissingDatabaseFailsOrIsSkippedByTheSitesChoice() throws Exception {
        Database absent = new Database(tmp.resolve("absent"));
        BypassException e = assertThrows(BypassException.class,
                () -> Front.decide(site(absent, SiteConfig.OnError.FAIL), hook(Map.of(), false)));
        assertEquals(FindingCode.DATABASE_MISSING, e.code());
        assertTrue(auditLines().get(0).contains("verdict=error bundles=- codes=database-missing"), auditLines().toString());
        Decision d = Front.decide(site(absent, SiteConfig.OnError.SKIP), hook(Map.of(), false));
        assertTrue(d.skipped());
        assertEquals(List.of("database-missing"), d.codes());
        assertTrue(auditLines().get(1).contains("verdict=error-skipped bundles=- codes=database-missing"), auditLines().toString());
        assertFalse(Files.exists(tmp.resolve("absent")));
    }

    @Test
    void aDatabaseOthersCanWriteIsUntrusted() throws Exception {
        Database db = database();
        Files.setPosixFilePermissions(db.dir(), PosixFilePermissions.fromString("rwxrwxrwx"));
        BypassException e = assertThrows(BypassException.class,
                () -> Front.decide(site(db, SiteConfig.OnError.FAIL), hook(Map.of(), false)));
        assertEquals(FindingCode.DATABASE_UNTRUSTED, e.code());
        assertTrue(auditLines().get(0).contains("codes=database-untrusted"), auditLines().toString());
    }

    @Test
    void aRegisteredFileThatChangedIsStale() throws Exception {
        Database db = database();
        Files.write(hostLib, new byte[] {1, 2});
        boolean[] applied = new boolean[1];
        BypassException e = assertThrows(BypassException.class,
                () -> Front.decide(site(db, SiteConfig.OnError.FAIL), hook(Map.of(), false), x -> applied[0] = true));
        assertEquals(FindingCode.STALE_FILE, e.code());
        assertFalse(applied[0], "nothing is applied from a stale bundle");
        assertTrue(e.getMessage().contains(hostLib + " of bundle tool changed since registration"), e.getMessage());
    }

    @Test
    void errorsOfTheApplyStepAndOfTheInputsHaveTheirCodes() throws Exception {
        Site fail = site(database(), SiteConfig.OnError.FAIL);
        BypassException e = assertThrows(BypassException.class, () -> Front.decide(fail, hook(Map.of(), false), x -> {
            throw BypassException.badInput("the helper failed");
        }));
        assertEquals(FindingCode.APPLY_FAILED, e.code());
        Site skip = site(database(), SiteConfig.OnError.SKIP);
        Decision bad = Front.decide(skip, Mode.HOOK, "createRuntime", "c2", () -> {
            throw BypassException.badInput("config.json: not valid JSON");
        }, null);
        assertEquals(List.of("bad-input"), bad.codes());
        Decision bug = Front.decide(skip, Mode.HOOK, "createRuntime", "c3", () -> {
            throw new IllegalStateException("a bug");
        }, null);
        assertEquals(List.of("internal-error"), bug.codes());
        List<String> lines = auditLines();
        assertTrue(lines.get(0).contains("verdict=error bundles=tool codes=apply-failed")
                || lines.get(0).contains("verdict=error bundles=- codes=apply-failed"), lines.toString());
        assertTrue(lines.get(1).contains("container=c2 stage=createRuntime verdict=error-skipped bundles=- codes=bad-input"),
                lines.toString());
        assertTrue(lines.get(2).contains("codes=internal-error"), lines.toString());
    }

    @Test
    void adminQueriesAreNotAuditedAndDoNotSwallowErrors() throws Exception {
        Site skip = site(new Database(tmp.resolve("absent")), SiteConfig.OnError.SKIP);
        BypassException e = assertThrows(BypassException.class,
                () -> Front.decide(skip, Request.ofRootfs(Mode.CHECK, rootfs, Map.of(), Map.of(), null)));
        assertEquals(FindingCode.DATABASE_MISSING, e.code());
        Decision d = Front.decide(site(database(), SiteConfig.OnError.SKIP), Request.ofRootfs(Mode.CHECK, rootfs, Map.of(),
                Map.of(), null));
        assertEquals(Plan.Verdict.INJECT, d.verdict());
        assertEquals(List.of(), auditLines());
    }
}
