package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What reading a container by descriptor guarantees, run once per resolver: openat2 with
 * RESOLVE_IN_ROOT ({@link ContainerRootOpenat2Test}) and the O_PATH walk that stands in for it on
 * older kernels ({@link ContainerRootWalkTest}).
 */
abstract class ContainerRootContract {
    abstract ContainerRoot.Resolver resolver();

    /** Removed by {@link #cleanUp()}: JUnit's own cleanup warns about every link that points out of it. */
    @TempDir(cleanup = CleanupMode.NEVER)
    Path tmp;
    /** A directory outside the rootfs standing for the host: nothing may ever resolve into it. */
    Path host;
    ContainerRoot rootfs;
    Path root;

    @BeforeEach
    void layout() throws IOException {
        host = Files.createDirectories(tmp.resolve("host"));
        Files.writeString(host.resolve("secret"), "host file");
        Path r = Files.createDirectories(tmp.resolve("root"));

        Path multiarch = Files.createDirectories(r.resolve("usr/lib/x86_64-linux-gnu"));
        Files.writeString(multiarch.resolve("libc.so.6"), "container libc");
        Files.writeString(multiarch.resolve("ld-linux-x86-64.so.2"), "container loader");
        Files.writeString(multiarch.resolve("libmpich.so.12.4.1"), "mpich");
        link(r, "usr/lib/x86_64-linux-gnu/libmpi.so.12", "libmpich.so.12.4.1");
        link(r, "lib", "usr/lib");                                                   // usr-merge
        Files.createDirectories(r.resolve("lib64"));
        link(r, "lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        link(r, "mpi", "/lib/x86_64-linux-gnu/libmpi.so.12");
        Files.createDirectories(r.resolve("etc"));
        Files.writeString(r.resolve("etc/passwd"), "container passwd");
        Files.createDirectories(r.resolve("tmp"));
        Files.writeString(r.resolve("tmp/marker"), "container tmp");

        // Hostile links.
        Files.createDirectories(r.resolve("hostile"));
        link(r, "hostile/etc", "/etc");                          // the container's /etc, not the host's
        link(r, "hostile/hostdir", host.toString());             // a host path: only inside the rootfs
        link(r, "hostile/up", "../../../../../../../.." + host); // ".." above the root
        link(r, "a", "../../../../..");
        link(r, "b", "/../../tmp");
        link(r, "dangling", "/nonexistent");
        link(r, "self", "self");
        link(r, "y", "z");
        link(r, "z", "y");
        Files.createDirectories(r.resolve("chain41"));
        for (int i = 1; i <= 41; i++) {
            link(r, "chain41/l" + i, "l" + (i + 1));
        }
        Files.writeString(r.resolve("chain41/l42"), "end of 41 links");
        Files.createDirectories(r.resolve("chain40"));
        for (int i = 1; i <= 40; i++) {
            link(r, "chain40/l" + i, i % 2 == 0 ? "/chain40/l" + (i + 1) : "l" + (i + 1));
        }
        Files.writeString(r.resolve("chain40/l41"), "end of 40 links");
        rootfs = open(r);
        root = rootfs.hostDir();
    }

    ContainerRoot open(Path dir) {
        return ContainerRoot.open(dir, ProfileBudget.standard(), resolver());
    }

    /** The host file a container path names: what the canonical path means on the host. */
    Path hostPathOf(ContainerRoot.Node n) {
        return n.path().equals("/") ? root : root.resolve(n.path().substring(1));
    }

    String contents(ContainerRoot r, String path) {
        return r.read(path, f -> new String(f.readBytes(0, 1000), java.nio.charset.StandardCharsets.UTF_8)).orElseThrow();
    }

    @AfterEach
    void cleanUp() throws IOException {
        rootfs.close();
        // Files.walk does not follow links, so this deletes the links themselves, never their targets.
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void link(Path root, String at, String target) throws IOException {
        Files.createSymbolicLink(root.resolve(at), Path.of(target));
    }

    // ---- resolve ----

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            // plain paths, relative paths, "." and "..", trailing slashes
            "/usr/lib/x86_64-linux-gnu/libc.so.6,       /usr/lib/x86_64-linux-gnu/libc.so.6",
            "usr/lib/x86_64-linux-gnu/libc.so.6,        /usr/lib/x86_64-linux-gnu/libc.so.6",
            "//usr///lib/./x86_64-linux-gnu//libc.so.6, /usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/../lib/x86_64-linux-gnu/libc.so.6, /usr/lib/x86_64-linux-gnu/libc.so.6",
            "/../../../usr/lib/x86_64-linux-gnu/libc.so.6, /usr/lib/x86_64-linux-gnu/libc.so.6",
            "/,                                         /",
            "/..,                                       /",
            ".,                                         /",
            "/etc/,                                     /etc",
            "/etc/passwd/,                              -",
            "/usr/lib/x86_64-linux-gnu/libc.so.6/..,    -",
            "/usr/lib/x86_64-linux-gnu/libc.so.6/x,     -",
            "/nonexistent,                              -",
            "/nonexistent/..,                           -",
            // relative and absolute links inside the rootfs
            "/lib,                                      /usr/lib",
            "/lib/x86_64-linux-gnu/libmpi.so.12,        /usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1",
            "/lib64/ld-linux-x86-64.so.2,               /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "/mpi,                                      /usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1",
            "/mpi/x,                                    -",
            // ".." after a symlinked directory is the parent of its target, as for the kernel
            "/lib/../lib/x86_64-linux-gnu/libc.so.6,    /usr/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/../etc/passwd,                        -",
            "/dangling,                                 -",
            "/chain40/l1,                               /chain40/l41",
            // hostile links stay in the rootfs
            "/hostile/etc,                              /etc",
            "/hostile/etc/passwd,                       /etc/passwd",
            "/hostile/hostdir/secret,                   -",
            "/hostile/up/secret,                        -",
            "/a,                                        /",
            "/a/etc/passwd,                             /etc/passwd",
            "/a/a/a/../../a/tmp/marker,                 /tmp/marker",
            "/b,                                        /tmp",
            "/b/marker,                                 /tmp/marker",
    })
    void resolvesInsideTheRoot(String path, String canonical) throws IOException {
        Optional<ContainerRoot.Node> r = rootfs.resolve(path);
        if (canonical.equals("-")) {
            assertTrue(r.isEmpty(), () -> path + " resolved to " + r.get());
            return;
        }
        ContainerRoot.Node res = r.orElseThrow(() -> new AssertionError(path + " did not resolve"));
        assertEquals(canonical, res.path());
        assertInside(res, true);
        assertFalse(res.stat().isSymbolicLink());
    }

    @Test
    void absoluteLinkToAHostDirectoryIsReRooted() throws IOException {
        // Once the rootfs has a directory at the link's (host) target path, that is where it leads.
        Path inRoot = Files.createDirectories(root.resolve(host.toString().substring(1)));
        Files.writeString(inRoot.resolve("secret"), "container file");
        ContainerRoot.Node r = rootfs.resolve("/hostile/hostdir/secret").orElseThrow();
        assertEquals(host + "/secret", r.path());
        assertEquals("container file", contents(rootfs, "/hostile/hostdir/secret"));
        assertInside(r, true);
        ContainerRoot.Node up = rootfs.resolve("/hostile/up/secret").orElseThrow();
        assertEquals(r.path(), up.path());
    }

    @Test
    void hostEtcIsNeverReached() throws IOException {
        // The host has /etc/passwd; the container path /hostile/etc/<x> only ever reaches <rootfs>/etc/<x>.
        assertTrue(Files.exists(Path.of("/etc/passwd")));
        assertEquals("container passwd", contents(rootfs, "/hostile/etc/passwd"));
        assertTrue(rootfs.resolve("/hostile/etc/hostname").isEmpty() || !Files.exists(root.resolve("etc/hostname")));
        assertEquals(List.of("passwd"), rootfs.list("/hostile/etc"));
    }

    // ---- symlink loops and long chains ----

    @ParameterizedTest(name = "{0}")
    @CsvSource({"/self", "/y", "/z/more", "/chain41/l1", "/usr/../self/x"})
    void loopsAndLongChainsAreNotFound(String path) {
        // The loader's ELOOP: it goes on searching as for a missing file, and so does the profile.
        assertTimeoutPreemptively(Duration.ofSeconds(3), () -> assertTrue(rootfs.resolve(path).isEmpty()));
        assertFalse(rootfs.isRegularFile(path));
        assertEquals(List.of(), rootfs.list(path));
        assertTrue(rootfs.read(path, f -> "read").isEmpty());
    }

    @Test
    void etcLinkedToItselfAbsolutelyIsALoop() throws IOException {
        // A rootfs whose /etc is the symlink "/etc": restarting at the rootfs finds the link again.
        Path r2 = Files.createDirectories(tmp.resolve("root2"));
        link(r2, "etc", "/etc");
        try (ContainerRoot other = open(r2)) {
            assertTimeoutPreemptively(Duration.ofSeconds(3), () -> assertTrue(other.resolve("/etc/passwd").isEmpty()));
            ContainerRoot.Node link = other.resolveNoFollowLast("/etc").orElseThrow();
            assertTrue(link.stat().isSymbolicLink());
            assertEquals("/etc", link.path());
        }
    }

    @Test
    void longLinkBodiesStayCheap() throws IOException {
        // 40 links, each with a ~4000-character body of "./" and "x/..": bounded work, no error.
        Path r3 = Files.createDirectories(tmp.resolve("root3"));
        Files.createDirectories(r3.resolve("x"));
        String padding = "./x/../".repeat(570);
        for (int i = 0; i < 40; i++) {
            link(r3, "l" + i, padding + "l" + (i + 1));
        }
        Files.writeString(r3.resolve("l40"), "end");
        try (ContainerRoot other = open(r3)) {
            ContainerRoot.Node r = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> other.resolve("/l0").orElseThrow());
            assertEquals("/l40", r.path());
        }
    }

    // ---- resolveNoFollowLast, list, isRegularFile ----

    @ParameterizedTest(name = "{0} -> {1} (symlink: {2})")
    @CsvSource({
            "/lib,                               /lib,                                  true",
            "/lib/,                              /usr/lib,                              false",
            "/lib/x86_64-linux-gnu/libmpi.so.12, /usr/lib/x86_64-linux-gnu/libmpi.so.12, true",
            "/dangling,                          /dangling,                             true",
            "/self,                              /self,                                 true",
            "/hostile/etc,                       /hostile/etc,                          true",
            "/etc/passwd,                        /etc/passwd,                           false",
    })
    void noFollowLast(String path, String canonical, boolean symlink) throws IOException {
        ContainerRoot.Node r = rootfs.resolveNoFollowLast(path).orElseThrow();
        assertEquals(canonical, r.path());
        assertEquals(symlink, r.stat().isSymbolicLink());
        assertInside(r, !symlink);
    }

    @Test
    void listing() throws IOException {
        assertEquals(List.of("ld-linux-x86-64.so.2", "libc.so.6", "libmpi.so.12", "libmpich.so.12.4.1"),
                rootfs.list("/lib/x86_64-linux-gnu"));
        assertTrue(rootfs.list("/").containsAll(List.of("a", "b", "etc", "lib", "lib64", "usr")));
        assertEquals(rootfs.list("/"), rootfs.list("/a"));
        assertEquals(List.of("marker"), rootfs.list("/b"));
        assertEquals(List.of(), rootfs.list("/nonexistent"));
        assertEquals(List.of(), rootfs.list("/etc/passwd"));
        assertEquals(List.of(), rootfs.list("/hostile/hostdir"), "no host listing through a link");
    }

    @Test
    void regularFiles() {
        assertTrue(rootfs.isRegularFile("/lib/x86_64-linux-gnu/libmpi.so.12"));
        assertTrue(rootfs.isRegularFile("/mpi"));
        assertFalse(rootfs.isRegularFile("/etc"));
        assertFalse(rootfs.isRegularFile("/dangling"));
        assertFalse(rootfs.isRegularFile("/hostile/hostdir/secret"));
    }

    // ---- bad roots and bad paths ----

    @Test
    void badRoots() throws IOException {
        Path missing = tmp.resolve("missing");
        assertEquals(missing + ": rootfs directory does not exist",
                assertThrows(BypassException.class, () -> open(missing)).getMessage());
        Path file = host.resolve("secret");
        assertEquals(file + ": rootfs is not a directory",
                assertThrows(BypassException.class, () -> open(file)).getMessage());
        // A host symlink naming the rootfs (the runtime's or admin's choice) is pinned to its target.
        Path alias = Files.createSymbolicLink(tmp.resolve("alias"), tmp.resolve("root"));
        try (ContainerRoot viaAlias = open(alias)) {
            assertEquals(root, viaAlias.hostDir());
        }
    }

    @Test
    void badPaths() {
        BypassException nul = assertThrows(BypassException.class, () -> rootfs.resolve("/a\0b"));
        assertEquals(ExitCodes.BAD_INPUT, nul.exitCode());
        assertFalse(nul.getMessage().contains("\0"));
        assertThrows(BypassException.class, () -> rootfs.list("/a\0b"));
        assertThrows(BypassException.class, () -> rootfs.resolve("/x".repeat(3000)));
        assertTrue(rootfs.resolve("").isEmpty(), "an empty path is ENOENT, as for the kernel");
        assertTrue(rootfs.resolve("/" + "n".repeat(300)).isEmpty(), "a name too long is not found");
    }

    // ---- files that are not regular, budgets, the record of lookups ----

    @Test
    void aFifoIsNeverOpened() throws Exception {
        Path fifo = root.resolve("tmp/fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        link(root, "tmp/to-fifo", "/tmp/fifo");
        // Opening a FIFO for reading blocks until a writer comes; the type is checked on the descriptor first.
        assertTimeoutPreemptively(Duration.ofSeconds(3), () -> {
            assertTrue(rootfs.read("/tmp/fifo", f -> "opened").isEmpty());
            assertTrue(rootfs.read("/tmp/to-fifo", f -> "opened").isEmpty());
            assertEquals("other", rootfs.resolve("/tmp/to-fifo").orElseThrow().stat().type());
        });
    }

    @Test
    void readsComeFromTheResolvedFileAndAreRecorded() {
        String text = rootfs.read("/mpi", f -> {
            assertEquals("/usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1", f.path());
            byte[] b = f.readBytes(0, 100);
            assertEquals(List.of(new ContainerFile.Range(0, 5)), f.ranges());
            return new String(b, java.nio.charset.StandardCharsets.US_ASCII);
        }).orElseThrow();
        assertEquals("mpich", text);
        ContainerRoot.Lookup l = rootfs.lookups().stream().filter(x -> x.path().equals("/mpi")).findFirst().orElseThrow();
        assertEquals("/usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1", l.found().path());
        assertEquals(5, l.found().stat().size());
        rootfs.resolve("/nonexistent/lib");
        assertTrue(rootfs.lookups().stream().anyMatch(x -> x.path().equals("/nonexistent/lib") && x.found() == null),
                "a miss is recorded too: a file appearing there later changes the decision");
    }

    ProfileBudget tiny(int lookups, long bytes, int dirEntries, int searchList) {
        return new ProfileBudget(searchList, lookups, 1000, 1000, bytes, dirEntries, 2000, 20000,
                new ProfileBudget.Counters());
    }

    @Test
    void everyBudgetNamesItsLimit() throws IOException {
        try (ContainerRoot r = ContainerRoot.open(root, tiny(3, 1 << 20, 100, 8), resolver())) {
            r.resolve("/etc");
            r.resolve("/lib");
            r.resolve("/usr");
            ProfileBudget.Exceeded e = assertThrows(ProfileBudget.Exceeded.class, () -> r.resolve("/tmp"));
            assertEquals("lookups", e.limit());
            assertEquals("more than 3 path lookups in the container (the last: /tmp)", e.getMessage());
        }
        try (ContainerRoot r = ContainerRoot.open(root, tiny(100, 3, 100, 8), resolver())) {
            ProfileBudget.Exceeded e = assertThrows(ProfileBudget.Exceeded.class,
                    () -> r.read("/etc/passwd", f -> f.readBytes(0, 100)));
            assertEquals("bytes", e.limit());
        }
        Path big = Files.createDirectories(root.resolve("big"));
        for (int i = 0; i < 20; i++) {
            Files.writeString(big.resolve("f" + i), "");
        }
        try (ContainerRoot r = ContainerRoot.open(root, tiny(100, 1 << 20, 10, 8), resolver())) {
            ProfileBudget.Exceeded e = assertThrows(ProfileBudget.Exceeded.class, () -> r.list("/big"));
            assertEquals("dir-entries", e.limit());
            assertEquals("container directory /big has more than 10 entries", e.getMessage());
        }
        ProfileBudget b = tiny(100, 1 << 20, 10, 8);
        ProfileBudget.Exceeded e = assertThrows(ProfileBudget.Exceeded.class, () -> b.searchList("LD_LIBRARY_PATH", 9));
        assertEquals("LD_LIBRARY_PATH has 9 entries, more than the 8 a profile looks at", e.getMessage());
        assertEquals(ExitCodes.REFUSED, e.exitCode());
    }

    /**
     * A resolution stays in the rootfs: its host path is the rootfs plus its container path, and
     * no component below the rootfs is a symlink (but the last, when it was not followed).
     */
    private void assertInside(ContainerRoot.Node r, boolean lastFollowed) throws IOException {
        Path hostPath = hostPathOf(r);
        assertTrue(hostPath.startsWith(root), hostPath + " is outside the rootfs");
        assertFalse(hostPath.startsWith(host), hostPath + " is a host file");
        Path p = root;
        Path rel = root.relativize(hostPath);
        for (int i = 0; i < rel.getNameCount(); i++) {
            p = p.resolve(rel.getName(i));
            boolean last = i == rel.getNameCount() - 1;
            if (!last || lastFollowed) {
                assertFalse(Files.isSymbolicLink(p), p + " is a symlink");
            }
            assertTrue(Files.exists(p, LinkOption.NOFOLLOW_LINKS), p + " does not exist");
        }
        assertNotEquals("host file", Files.isRegularFile(hostPath, LinkOption.NOFOLLOW_LINKS)
                ? Files.readString(hostPath) : "");
        // The identity is the file's at that host path.
        assertEquals(Files.getAttribute(hostPath, "unix:ino", LinkOption.NOFOLLOW_LINKS), r.stat().ino());
    }
}
