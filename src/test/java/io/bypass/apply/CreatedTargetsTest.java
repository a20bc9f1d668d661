package io.bypass.apply;

import io.bypass.BypassException;
import io.bypass.container.ContainerEntries;
import io.bypass.container.ContainerRoot;
import io.bypass.plan.Plan;
import io.bypass.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The record format, the identity checks and the poststop removal over a real directory tree. */
class CreatedTargetsTest {
    @TempDir
    Path tmp;

    private final StringWriter errText = new StringWriter();
    private final PrintWriter err = new PrintWriter(errText, true);

    private static final ContainerRoot.Stat DIR = new ContainerRoot.Stat(040755, 12, 4096, 0, 8, 1);
    private static final ContainerRoot.Stat FILE = new ContainerRoot.Stat(0100444, 13, 0, 0, 8, 1);

    @Test
    void recordRoundTripsThroughJson() {
        CreatedTargets.Record r = new CreatedTargets.Record("c1", "/var/lib/b/rootfs", DIR, 4242, 987654, List.of(
                new CreatedTargets.Entry("/opt", DIR, 0), new CreatedTargets.Entry("/etc/ld.so.cache", FILE, 1700000000123456789L)));
        String text = Json.write(r.toJson());
        CreatedTargets.Record back = CreatedTargets.Record.fromJson(Json.parse(text.getBytes(), "rec"), "rec:");
        assertEquals(r, back);
        assertTrue(text.contains("\"type\" : \"file\"") || text.contains("\"type\":\"file\""), text);
    }

    @Test
    void recordRejectsWhatItCannotTrust() {
        String ok = Json.write(new CreatedTargets.Record("c1", "/r", DIR, 1, 2, List.of(new CreatedTargets.Entry("/opt", DIR, 0)))
                .toJson());
        for (String[] bad : new String[][] {
                {"\"format\" : 1", "\"format\" : 2", "format"},
                {"\"rootfs\" : \"/r\"", "\"rootfs\" : \"r\"", "rootfs"},
                {"\"path\" : \"/opt\"", "\"path\" : \"/opt/../etc\"", "path"},
                {"\"path\" : \"/opt\"", "\"path\" : \"/\"", "path"},
                {"\"type\" : \"dir\"", "\"type\" : \"file\"", "type"},
                {"\"pid\" : 1", "\"pid\" : -1", "pid"}}) {
            String text = ok.replace(bad[0], bad[1]);
            assertFalse(text.equals(ok), bad[0] + " not in " + ok);
            BypassException e = assertThrows(BypassException.class,
                    () -> CreatedTargets.Record.fromJson(Json.parse(text.getBytes(), "rec"), "rec:"));
            assertTrue(e.getMessage().contains(bad[2]), e.getMessage());
        }
    }

    @Test
    void fileNamesAreTheIdOrItsHash() {
        assertEquals("abc-1.2_x.json", CreatedTargets.fileName("abc-1.2_x"));
        for (String odd : new String[] {"../etc/passwd", ".lock", "a/b", "x".repeat(200), "spa ce"}) {
            String name = CreatedTargets.fileName(odd);
            assertTrue(name.matches("sha256-[0-9a-f]{64}\\.json"), name);
        }
    }

    /** The hand-written check agrees with the pattern it stands for. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"a", "abc-1.2_x", "+x", "-", "_", "9", ".lock", "a.", "a..b",
            "a/b", "spa ce", "", "é", "x\n", "a*b", "A_Z-0.9+"})
    void plainIdsAreWhatThePatternSays(String id) {
        java.util.regex.Pattern plain = java.util.regex.Pattern.compile("[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,127}");
        assertEquals(plain.matcher(id).matches(), CreatedTargets.plainId(id), id);
        assertEquals(plain.matcher(id + "x".repeat(127)).matches(), CreatedTargets.plainId(id + "x".repeat(127)), id + "+127");
        assertEquals(plain.matcher(id + "x".repeat(128)).matches(), CreatedTargets.plainId(id + "x".repeat(128)), id + "+128");
    }

    /** The rootfs identity from the JDK's st_dev (glibc's encoding) agrees with statx's own fields. */
    @Test
    void rootfsIdentityAgreesWithStatx(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        ContainerRoot.Stat ours = CreatedTargets.rootfsIdentity(dir.toRealPath().toString());
        try (ContainerRoot root = ContainerRoot.open(dir)) {
            ContainerRoot.Stat statx = root.resolve("/").orElseThrow().stat();
            assertEquals(statx.ino(), ours.ino());
            assertEquals(statx.devMajor(), ours.devMajor());
            assertEquals(statx.devMinor(), ours.devMinor());
            assertEquals(statx.mode(), ours.mode());
        }
        assertThrows(io.bypass.BypassException.class, () -> CreatedTargets.rootfsIdentity(dir.resolve("missing").toString()));
    }

    @Test
    void startTimeTellsALiveProcessFromAGoneOne() {
        long self = CreatedTargets.startTime((int) ProcessHandle.current().pid());
        assertTrue(self > 0);
        assertEquals(-1, CreatedTargets.startTime(Integer.MAX_VALUE));
        assertTrue(CreatedTargets.alive(new CreatedTargets.Record("x", "/r", DIR, (int) ProcessHandle.current().pid(), self, List.of())));
        assertFalse(CreatedTargets.alive(new CreatedTargets.Record("x", "/r", DIR, (int) ProcessHandle.current().pid(), self + 1,
                List.of())));
    }

    @Test
    void sameEntryComparesTypeIdentityAndMode() {
        assertNull(ContainerEntries.sameEntry(DIR, DIR));
        assertTrue(ContainerEntries.sameEntry(DIR, new ContainerRoot.Stat(0120777, 12, 4, 0, 8, 1)).contains("symbolic link"));
        assertTrue(ContainerEntries.sameEntry(DIR, new ContainerRoot.Stat(040755, 99, 4096, 0, 8, 1)).contains("inode 99"));
        assertTrue(ContainerEntries.sameEntry(DIR, new ContainerRoot.Stat(040755, 12, 4096, 0, 8, 2)) != null);
        assertTrue(ContainerEntries.sameEntry(DIR, new ContainerRoot.Stat(040700, 12, 4096, 0, 8, 1)).contains("mode"));
        // The size is not identity (a directory's grows); emptiness is checked on removal.
        assertNull(ContainerEntries.sameEntry(FILE, new ContainerRoot.Stat(0100444, 13, 5, 0, 8, 1)));
    }

    // --- removal over a real tree (root only: the state directory must be root's) ------------------

    private Path rootfs() throws IOException {
        Path r = tmp.resolve("rootfs");
        Files.createDirectories(r.resolve("etc"));
        Files.writeString(r.resolve("etc/hostname"), "image file\n");
        return r.toRealPath();
    }

    private CreatedTargets state() {
        return new CreatedTargets(tmp.resolve("state"), err);
    }

    /** Makes what the helper would, and the record createRuntime would write for it. */
    private CreatedTargets.Record made(Path rootfs, String id, int pid, long start) throws IOException {
        Files.createDirectories(rootfs.resolve("opt/bypass"));
        Path cache = rootfs.resolve("etc/ld.so.cache");
        Files.createFile(cache, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("r--r--r--")));
        List<CreatedTargets.Entry> entries = new ArrayList<>();
        try (ContainerRoot root = ContainerRoot.open(rootfs)) {
            for (String p : List.of("/opt", "/opt/bypass", "/etc/ld.so.cache")) {
                ContainerRoot.Node n = root.resolve(p).orElseThrow();
                entries.add(new CreatedTargets.Entry(n.path(), n.stat(), ContainerEntries.birthTime(root, p)));
            }
            ContainerRoot.Stat rs = root.resolve("/").orElseThrow().stat();
            CreatedTargets.Record r = new CreatedTargets.Record(id, rootfs.toString(), rs, pid, start, entries);
            CreatedTargets s = state();
            s.ensureDir();
            s.write(r);
            return r;
        }
    }

    private static boolean exists(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void poststopRemovesWhatWasMadeDeepestFirstAndOnlyThat() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        Path r = rootfs();
        made(r, "c1", 1, 1);
        state().poststop("c1");
        assertFalse(exists(r.resolve("opt")));
        assertFalse(exists(r.resolve("etc/ld.so.cache")));
        assertTrue(exists(r.resolve("etc/hostname")));
        assertFalse(exists(tmp.resolve("state/c1.json")));
        assertEquals("", errText.toString());
        state().poststop("c1");     // again: no record, nothing to do, silent
        assertEquals("", errText.toString());
    }

    @Test
    void poststopLeavesSwappedOrFilledEntriesAndSaysSo() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        Path r = rootfs();
        Path host = Files.createDirectories(tmp.resolve("host"));
        Path canary = Files.writeString(host.resolve("canary"), "");
        made(r, "c2", 1, 1);
        Files.delete(r.resolve("opt/bypass"));
        Files.createSymbolicLink(r.resolve("opt/bypass"), host);
        Files.setPosixFilePermissions(r.resolve("etc/ld.so.cache"), PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(r.resolve("etc/ld.so.cache"), PosixFilePermissions.fromString("r--r--r--"));
        state().poststop("c2");
        String said = errText.toString();
        assertTrue(said.contains("left /opt/bypass in the rootfs " + r + " of container c2: it is now a symbolic link"), said);
        assertTrue(said.contains("left /opt in the rootfs"), said);     // not empty: the link is in it
        assertTrue(Files.isSymbolicLink(r.resolve("opt/bypass")));
        assertTrue(exists(canary));
        assertFalse(exists(r.resolve("etc/ld.so.cache")), "the untouched placeholder still goes");
        assertFalse(exists(tmp.resolve("state/c2.json")));
    }

    @Test
    void aFilledPlaceholderIsKept() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        Path r = rootfs();
        made(r, "c3", 1, 1);
        Files.writeString(r.resolve("etc/ld.so.cache"), "now with data");
        state().poststop("c3");
        assertEquals("now with data", Files.readString(r.resolve("etc/ld.so.cache")));
        assertTrue(errText.toString().contains("left /etc/ld.so.cache"), errText.toString());
        assertFalse(exists(r.resolve("opt")));
    }

    @Test
    void aRecordOfADeadContainerIsSweptAndALiveOneOnTheSameRootfsInherits() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        int self = (int) ProcessHandle.current().pid();
        long start = CreatedTargets.startTime(self);
        Path r = rootfs();
        CreatedTargets.Record dead = made(r, "dead", self, start + 1);
        // A live container on the same rootfs: the dead one's entries are handed to it.
        CreatedTargets.Record live = new CreatedTargets.Record("live", r.toString(), dead.rootfsStat(), self, start, List.of());
        state().write(live);
        state().poststop("unrelated");
        assertTrue(exists(r.resolve("opt/bypass")), "kept while a live container uses the rootfs");
        assertFalse(exists(tmp.resolve("state/dead.json")));
        assertEquals(3, state().read("live").orElseThrow().created().size());
        // The live one stops: it removes them.
        state().poststop("live");
        assertFalse(exists(r.resolve("opt")));
        assertFalse(exists(r.resolve("etc/ld.so.cache")));
        assertEquals("", errText.toString());
    }

    /**
     * Sweeps are spaced: within SWEEP_INTERVAL_MS of the last one (the .swept stamp's mtime) a
     * hook run leaves a dead container's record for a later one, which then cleans it as before.
     * A stamp dated ahead of the clock is no reason to wait.
     */
    @Test
    void sweepsAreSpacedByTheStampOfTheLastOne() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        int self = (int) ProcessHandle.current().pid();
        long start = CreatedTargets.startTime(self);
        Path r = rootfs();
        Path stamp = tmp.resolve("state").resolve(CreatedTargets.SWEPT);
        state().poststop("nobody");     // no directory yet: nothing at all
        assertFalse(exists(stamp));
        made(r, "dead", self, start + 1);
        state().poststop("first");
        assertFalse(exists(r.resolve("opt")), "the first run ever sweeps");
        assertFalse(exists(tmp.resolve("state/dead.json")));
        assertTrue(exists(stamp));

        made(r, "dead2", self, start + 1);
        state().begin("live", self, r.toString()).finish(List.of());
        assertTrue(exists(tmp.resolve("state/dead2.json")), "swept a moment ago: left for a later run");
        assertTrue(exists(r.resolve("opt/bypass")));

        Files.setLastModifiedTime(stamp, FileTime.fromMillis(System.currentTimeMillis() - CreatedTargets.SWEEP_INTERVAL_MS - 1000));
        state().poststop("other");
        assertFalse(exists(tmp.resolve("state/dead2.json")), "due again: swept");
        assertTrue(exists(r.resolve("opt/bypass")), "handed over to the live container on the same rootfs");
        assertEquals(3, state().read("live").orElseThrow().created().size());

        CreatedTargets.Record live = state().read("live").orElseThrow();
        state().write(new CreatedTargets.Record("dead3", r.toString(), live.rootfsStat(), self, start + 1, List.of()));
        Files.setLastModifiedTime(stamp, FileTime.fromMillis(System.currentTimeMillis() + 10 * CreatedTargets.SWEEP_INTERVAL_MS));
        state().poststop("other");
        assertFalse(exists(tmp.resolve("state/dead3.json")), "a stamp from the future: swept");
        assertTrue(Math.abs(Files.getLastModifiedTime(stamp).toMillis() - System.currentTimeMillis()) < 60_000, "and dated now");
        assertEquals("", errText.toString());
    }

    /** A helper that made nothing leaves the record written before it ran as it is. */
    @Test
    void finishWithNothingMadeWritesNothing() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        int self = (int) ProcessHandle.current().pid();
        Path r = rootfs();
        CreatedTargets.Tracking t = state().begin("quiet", self, r.toString());
        Path f = tmp.resolve("state/quiet.json");
        Object inode = Files.readAttributes(f, "unix:ino").get("ino");
        t.finish(List.of());
        assertEquals(inode, Files.readAttributes(f, "unix:ino").get("ino"), "not rewritten");
        assertEquals(List.of(), state().read("quiet").orElseThrow().created());
        t.finish(List.of(CreatedTargets.parseCreated("created /opt 40755 1 8 1 0 0")));
        assertEquals(List.of("/opt"), state().read("quiet").orElseThrow().created().stream().map(CreatedTargets.Entry::path).toList());
    }

    @Test
    void aGoneRootfsDropsTheRecordWithANote() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        Path r = rootfs();
        made(r, "c4", 1, 1);
        try (var walk = Files.walk(r)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        state().poststop("c4");
        assertTrue(errText.toString().contains("is gone"), errText.toString());
        assertFalse(exists(tmp.resolve("state/c4.json")));
    }

    @Test
    void anUntrustedStateDirectoryIsRefused() throws IOException {
        assumeTrue(HookCommandAccess.isRoot(), "needs root: the state directory must be root's");
        Path d = Files.createDirectory(tmp.resolve("state"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        BypassException e = assertThrows(BypassException.class, () -> state().ensureDir());
        assertTrue(e.getMessage().contains("0700 expected"), e.getMessage());
    }

    /** Whether the tests run as root. */
    static final class HookCommandAccess {
        static boolean isRoot() {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "created /opt/bypass 40755 12 8 1 0 1700000000123456789|/opt/bypass|16877|12|8|1|1700000000123456789",
            "created /usr/lib/x%20y/lib%25.so 100444 5 254 3 0 0|/usr/lib/x y/lib%.so|33060|5|254|3|0",
    })
    void theHelpersCreatedLines(String line, String path, int mode, long ino, int major, int minor, long birth) {
        CreatedTargets.Entry e = CreatedTargets.parseCreated(line);
        org.junit.jupiter.api.Assertions.assertEquals(path, e.path());
        org.junit.jupiter.api.Assertions.assertEquals(mode, e.stat().mode());
        org.junit.jupiter.api.Assertions.assertEquals(ino, e.stat().ino());
        org.junit.jupiter.api.Assertions.assertEquals(major, e.stat().devMajor());
        org.junit.jupiter.api.Assertions.assertEquals(minor, e.stat().devMinor());
        org.junit.jupiter.api.Assertions.assertEquals(birth, e.birthNs());
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {
            "created /opt 40755 1 0 0 0",             // a field short
            "made /opt 40755 1 0 0 0 0",              // not a created line
            "created opt 40755 1 0 0 0 0",            // relative
            "created /opt/../etc 40755 1 0 0 0 0",    // not canonical
            "created /opt 0 1 0 0 0 0",               // no mode
            "created /opt 40755 x 0 0 0 0",           // not a number
            "created /a%00b 100444 1 0 0 0 0",        // NUL
            "created /a%2 100444 1 0 0 0 0",          // cut escape
    })
    void malformedCreatedLinesAreRefused(String line) {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> CreatedTargets.parseCreated(line));
    }
}
