package io.bypass.cache;

import io.bypass.BypassException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DecisionCacheTest {
    @TempDir
    Path tmp;

    private int uid() throws IOException {
        return (Integer) Files.getAttribute(tmp, "unix:uid");
    }

    private DecisionCache open(String name) throws IOException {
        return DecisionCache.open(tmp.resolve(name), DecisionCache.Options.defaults().withOwner(uid()));
    }

    static String key(String s) {
        return new CacheKey().field("db", "gen-1").field("config", "c").map("annotations", Map.of("a", s)).digest();
    }

    private static final DecisionCache.Validator ALWAYS = e -> null;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void storeThenLookupThroughTheFiles() throws IOException {
        DecisionCache c = open("c");
        FakeReader img = FileIdentityTest.image();
        List<FileIdentity> ids = FileIdentityTest.record(img);
        String k = key("x");
        assertNull(c.store(k, bytes("{\"verdict\":\"inject\"}"), ids));
        DecisionCache.Entry e = c.lookup(k, c.filesValidator(img)).orElseThrow();
        assertArrayEquals(bytes("{\"verdict\":\"inject\"}"), e.payload());
        assertEquals(ids, e.files().files());
        // The image changed: the entry is not used (and a refuse is never turned into an inject by it).
        img.file("/usr/lib/libmpich.so.12.4.1", "ELF-mpich-3.4.1", 3000, 0644);
        assertTrue(c.lookup(k, c.filesValidator(img)).isEmpty());
        assertTrue(c.lookup(key("y"), ALWAYS).isEmpty(), "another key");
        String dir = Integer.toOctalString((Integer) Files.getAttribute(tmp.resolve("c"), "unix:mode") & 0777);
        assertEquals("700", dir);
        Path f = c.entryPath(k, 0);
        assertEquals("600", Integer.toOctalString((Integer) Files.getAttribute(f, "unix:mode") & 0777));
    }

    @Test
    void keysAreCanonical() {
        String a = new CacheKey().map("annotations", new java.util.TreeMap<>(Map.of("a", "1", "b", "2"))).digest();
        java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
        m.put("b", "2");
        m.put("a", "1");
        assertEquals(a, new CacheKey().map("annotations", m).digest());
        assertFalse(new CacheKey().list("args", List.of("a b")).digest().equals(new CacheKey().list("args", List.of("a", "b")).digest()));
        assertFalse(new CacheKey().field("x", "1\n1:y").digest().equals(new CacheKey().field("x", "1").field("y", "").digest()));
    }

    @Test
    void corruptTruncatedAndForeignEntriesAreIgnoredAndRemoved() throws IOException {
        DecisionCache c = open("c");
        String k = key("x");
        assertNull(c.store(k, bytes("payload"), List.of(FileIdentity.missing("/etc/ld.so.preload"))));
        Path f = c.entryPath(k, 0);
        byte[] good = Files.readAllBytes(f);

        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(good.length / 2);
            raf.write(good[good.length / 2] ^ 1);
        }
        assertTrue(c.lookup(k, ALWAYS).isEmpty());
        assertFalse(Files.exists(f), "a corrupt entry is removed");

        Files.write(f, java.util.Arrays.copyOf(good, good.length - 10));
        assertTrue(c.lookup(k, ALWAYS).isEmpty());
        assertFalse(Files.exists(f), "a truncated entry is removed");

        // A whole, valid entry of another key, put under this key's name.
        String other = key("other");
        assertNull(c.store(other, bytes("other"), List.of()));
        Files.copy(c.entryPath(other, 0), f);
        assertTrue(c.lookup(k, ALWAYS).isEmpty());
        assertFalse(Files.exists(f), "a foreign entry is removed");

        Files.write(f, good);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-rw-"));
        assertTrue(c.lookup(k, ALWAYS).isEmpty(), "an entry others could write is not used");
        assertFalse(Files.exists(f));

        Files.write(f, new byte[0]);
        assertTrue(c.lookup(k, ALWAYS).isEmpty());
        Files.write(f, good);
        assertTrue(c.lookup(k, ALWAYS).isPresent(), "the good bytes still are an entry");
    }

    @Test
    void readsAreBounded() throws IOException {
        DecisionCache c = DecisionCache.open(tmp.resolve("c"), new DecisionCache.Options(1 << 20, 100, 1000, 4, 1 << 20, uid()));
        String k = key("x");
        assertTrue(c.store(k, new byte[2000], List.of()).contains("more than 1000"));
        Files.write(c.entryPath(k, 0), new byte[5000]);
        assertTrue(c.lookup(k, ALWAYS).isEmpty());
        assertFalse(Files.exists(c.entryPath(k, 0)));
    }

    @Test
    void refusesDirectoriesOthersCouldChange() throws IOException {
        Path d = tmp.resolve("open");
        Files.createDirectory(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        BypassException e = assertThrows(BypassException.class, () -> DecisionCache.open(d, DecisionCache.Options.defaults().withOwner(uid())));
        assertEquals(d + " is accessible to group or others (mode 755); refusing to use it as the decision cache (chmod 700 " + d + ")",
                e.getMessage());

        Path real = tmp.resolve("real");
        Files.createDirectory(real, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        e = assertThrows(BypassException.class, () -> DecisionCache.open(link, DecisionCache.Options.defaults().withOwner(uid())));
        assertTrue(e.getMessage().contains("is a symbolic link"), e.getMessage());

        Path shared = tmp.resolve("shared");
        Files.createDirectory(shared);
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        e = assertThrows(BypassException.class, () -> DecisionCache.open(shared.resolve("c"), DecisionCache.Options.defaults().withOwner(uid())));
        assertTrue(e.getMessage().startsWith(shared + " is writable by others"), e.getMessage());

        e = assertThrows(BypassException.class, () -> DecisionCache.open(tmp.resolve("c2"), DecisionCache.Options.defaults().withOwner(uid() + 4242)));
        assertTrue(e.getMessage().contains("is not owned by"), e.getMessage());
        assertEquals(2, e.exitCode());
    }

    @Test
    void leastRecentlyUsedEntriesAreEvicted() throws IOException {
        DecisionCache c = DecisionCache.open(tmp.resolve("c"), DecisionCache.Options.defaults().withOwner(uid()).withMaxEntries(10));
        long t = System.currentTimeMillis() - 3_600_000;
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String k = key("k" + i);
            keys.add(k);
            assertNull(c.store(k, bytes("p" + i), List.of()));
            Files.setLastModifiedTime(c.entryPath(k, 0), FileTime.fromMillis(t + i * 1000));
        }
        // Using k0 makes it the most recently used.
        assertTrue(c.lookup(keys.get(0), ALWAYS).isPresent());
        assertNull(c.store(key("k10"), bytes("p10"), List.of()));
        int left = 0;
        for (String k : keys) {
            left += Files.exists(c.entryPath(k, 0)) ? 1 : 0;
        }
        assertEquals(9, left + 1, "down to 90 % of the bound: 9 entries");
        assertTrue(Files.exists(c.entryPath(keys.get(0), 0)), "the entry just used stays");
        assertFalse(Files.exists(c.entryPath(keys.get(1), 0)), "the least recently used goes");
        assertFalse(Files.exists(c.entryPath(keys.get(2), 0)));

        DecisionCache small = DecisionCache.open(tmp.resolve("s"), DecisionCache.Options.defaults().withOwner(uid()).withMaxBytes(3000));
        for (int i = 0; i < 5; i++) {
            assertNull(small.store(key("b" + i), new byte[1000], List.of()));
        }
        long total = 0;
        try (var files = Files.list(tmp.resolve("s/entries"))) {
            for (Path p : files.toList()) {
                total += Files.size(p);
            }
        }
        assertTrue(total <= 3000, "total " + total);
    }

    @Test
    void oneKeyHoldsEntriesOfSeveralImages() throws IOException {
        DecisionCache c = open("c");
        String k = key("x");
        FakeReader a = FileIdentityTest.image();
        FakeReader b = FileIdentityTest.image().forge("/usr/lib/libmpich.so.12.4.1", "ELF-mpich-3.4.1-dynamic-symbols-MPI_Xxxx");
        assertNull(c.store(k, bytes("A"), FileIdentityTest.record(a)));
        assertNull(c.store(k, bytes("B"), FileIdentityTest.record(b)));
        assertArrayEquals(bytes("A"), c.lookup(k, c.filesValidator(a)).orElseThrow().payload());
        assertArrayEquals(bytes("B"), c.lookup(k, c.filesValidator(b)).orElseThrow().payload());
        // Storing the same file list again replaces that entry rather than taking another variant.
        assertNull(c.store(k, bytes("A2"), FileIdentityTest.record(a)));
        assertArrayEquals(bytes("A2"), c.lookup(k, c.filesValidator(a)).orElseThrow().payload());
        assertFalse(Files.exists(c.entryPath(k, 2)));
    }

    @Test
    void ranksStartingTogetherComputeOnce() throws Exception {
        DecisionCache c = open("c");
        String k = key("job");
        AtomicInteger computed = new AtomicInteger();
        DecisionCache.Computer slow = slowPlan(computed, 300);
        List<DecisionCache.Result> results = together(8, () -> c.getOrCompute(k, ALWAYS, slow, Duration.ofSeconds(5)));
        assertEquals(1, computed.get());
        assertTrue(waitedHitsOfPlan(results) >= 1, "someone waited for the one computing");
        assertEquals(DecisionCache.Outcome.HIT, c.getOrCompute(k, ALWAYS, slow, Duration.ofSeconds(1)).outcome());
    }

    @Test
    void ranksThatWaitedCheckTheEntrySideBySide() throws Exception {
        // Checking an entry stats and hashes the image's files: 64 ranks doing it one after
        // another under the key's lock made a node's last rank wait seconds after the decision
        // was stored.
        DecisionCache c = open("c");
        String k = key("side-by-side");
        AtomicInteger computed = new AtomicInteger();
        AtOnce checking = new AtOnce();
        DecisionCache.Computer slow = slowPlan(computed, 300);
        DecisionCache.Validator slowCheck = e -> {
            checking.during(150);
            return null;
        };
        List<DecisionCache.Result> results = together(6, () -> c.getOrCompute(k, slowCheck, slow, Duration.ofSeconds(10)));
        assertEquals(1, computed.get());
        int waited = waitedHitsOfPlan(results);
        assertTrue(waited >= 2, "ranks waited for the one computing: " + waited);
        assertTrue(checking.most() >= 2, "the ranks that waited checked the entry at the same time: at most "
                + checking.most() + " at once");
    }

    @Test
    void aWaiterWithoutItsEntryTakesTheLockToCompute() throws Exception {
        // The holder's decision was not cacheable: each waiter computes, one at a time.
        DecisionCache c = open("c");
        String k = key("uncacheable");
        AtOnce computing = new AtOnce();
        DecisionCache.Computer uncacheable = () -> {
            computing.during(100);
            return new DecisionCache.Computed(bytes("plan"), Optional.empty());
        };
        List<DecisionCache.Result> results = together(4, () -> c.getOrCompute(k, ALWAYS, uncacheable, Duration.ofSeconds(10)));
        for (DecisionCache.Result r : results) {
            assertEquals(DecisionCache.Outcome.COMPUTED, r.outcome());
        }
        assertEquals(1, computing.most());
    }

    @Test
    void waitersComputeThemselvesAfterTheTimeout() throws Exception {
        DecisionCache c = open("c");
        String k = key("slow");
        AtomicInteger computed = new AtomicInteger();
        DecisionCache.Computer slow = slowPlan(computed, 1500);
        List<DecisionCache.Result> results = together(4, () -> c.getOrCompute(k, ALWAYS, slow, Duration.ofMillis(100)));
        int timedOut = 0;
        for (DecisionCache.Result r : results) {
            assertArrayEquals(bytes("plan"), r.payload());
            if (r.outcome() == DecisionCache.Outcome.COMPUTED_AFTER_TIMEOUT) {
                timedOut++;
                assertTrue(r.waitedNanos() >= TimeUnit.MILLISECONDS.toNanos(100), "waited only " + r.waitedNanos() + " ns");
            }
        }
        assertEquals(computed.get() - 1, timedOut);
        assertTrue(timedOut >= 1);
    }

    @Test
    void anUncacheableOrFailingComputationStoresNothing() throws IOException {
        DecisionCache c = open("c");
        String k = key("u");
        DecisionCache.Result r = c.getOrCompute(k, ALWAYS, () -> new DecisionCache.Computed(bytes("p"), Optional.empty()), Duration.ZERO);
        assertEquals(DecisionCache.Outcome.COMPUTED, r.outcome());
        assertTrue(c.lookup(k, ALWAYS).isEmpty());
        BypassException boom = BypassException.badInput("bad config.json");
        assertEquals(boom, assertThrows(BypassException.class, () -> c.getOrCompute(k, ALWAYS, () -> {
            throw boom;
        }, Duration.ZERO)));
        assertTrue(c.lookup(k, ALWAYS).isEmpty());
        // The lock was released: the next one computes at once.
        r = c.getOrCompute(k, ALWAYS, () -> new DecisionCache.Computed(bytes("p"), Optional.of(List.of())), Duration.ZERO);
        assertEquals(DecisionCache.Outcome.COMPUTED, r.outcome());
    }

    @Test
    void separateProcessesComputeOnce() throws Exception {
        DecisionCache c = open("c");
        Path marks = Files.createDirectory(tmp.resolve("marks"));
        List<Process> ps = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ps.add(startRank(c, marks, 1500));
        }
        List<String> outcomes = new ArrayList<>();
        for (Process p : ps) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            outcomes.add(out);
        }
        try (var m = Files.list(marks)) {
            assertEquals(1, m.count(), "one process computed: " + outcomes);
        }
    }

    /** A {@link Rank} in a JVM of its own, computing for ms; its output is its outcome. */
    private Process startRank(DecisionCache c, Path marks, long ms) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                Rank.class.getName(), c.root().toString(), marks.toString(), Integer.toString(uid()), Long.toString(ms))
                .redirectErrorStream(true).start();
    }

    /** One "rank" in its own JVM: computes for args[3] ms, leaving a mark when it starts computing. */
    public static final class Rank {
        public static void main(String[] args) throws Exception {
            DecisionCache c = DecisionCache.open(Path.of(args[0]), DecisionCache.Options.defaults().withOwner(Integer.parseInt(args[2])));
            Path marks = Path.of(args[1]);
            DecisionCache.Result r = c.getOrCompute(key("rank"), e -> null, () -> {
                try {
                    Files.createFile(marks.resolve("m" + ProcessHandle.current().pid()));
                    Thread.sleep(Long.parseLong(args[3]));
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return new DecisionCache.Computed("plan".getBytes(StandardCharsets.UTF_8), Optional.of(List.of()));
            }, Duration.ofSeconds(20));
            System.out.println(r.outcome());
        }
    }

    @Test
    void aWaiterOnAnotherProcessStopsAtItsTimeout() throws Exception {
        // The wait blocks in the kernel, not in a poll: closing the channel must end it.
        DecisionCache c = open("c");
        Path marks = Files.createDirectory(tmp.resolve("marks"));
        Process holder = startRank(c, marks, 6000);
        try {
            for (int i = 0; i < 600 && isEmpty(marks); i++) {
                sleep(50);
            }
            assertFalse(isEmpty(marks), "the holder started computing");
            long t0 = System.nanoTime();
            DecisionCache.Result r = c.getOrCompute(key("rank"), ALWAYS,
                    () -> new DecisionCache.Computed(bytes("mine"), Optional.empty()), Duration.ofMillis(300));
            long took = System.nanoTime() - t0;
            assertEquals(DecisionCache.Outcome.COMPUTED_AFTER_TIMEOUT, r.outcome());
            assertArrayEquals(bytes("mine"), r.payload());
            assertTrue(r.waitedNanos() >= TimeUnit.MILLISECONDS.toNanos(300), "waited " + r.waitedNanos());
            assertTrue(holder.isAlive() && took < TimeUnit.SECONDS.toNanos(5), "stopped waiting before the holder was done");
            // The lock is still the holder's: a second waiter stops at its timeout too.
            assertEquals(DecisionCache.Outcome.COMPUTED_AFTER_TIMEOUT, c.getOrCompute(key("rank"), ALWAYS,
                    () -> new DecisionCache.Computed(bytes("mine"), Optional.empty()), Duration.ofMillis(50)).outcome());
        } finally {
            String out = new String(holder.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
            assertEquals("COMPUTED", out);
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (var m = Files.list(dir)) {
            return m.findAny().isEmpty();
        }
    }

    /** A computer of a cacheable "plan" that takes ms, counting its calls. */
    private static DecisionCache.Computer slowPlan(AtomicInteger calls, long ms) {
        return () -> {
            calls.incrementAndGet();
            sleep(ms);
            return new DecisionCache.Computed(bytes("plan"), Optional.of(List.of()));
        };
    }

    /** How many results waited for another's entry; every one of them is "plan". */
    private static int waitedHitsOfPlan(List<DecisionCache.Result> results) {
        int waited = 0;
        for (DecisionCache.Result r : results) {
            assertArrayEquals(bytes("plan"), r.payload());
            waited += r.outcome() == DecisionCache.Outcome.WAITED_HIT ? 1 : 0;
        }
        return waited;
    }

    /** How many threads are inside {@link #during} at once, and the most there ever were. */
    private static final class AtOnce {
        private final AtomicInteger inside = new AtomicInteger();
        private final AtomicInteger most = new AtomicInteger();

        void during(long ms) {
            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
            sleep(ms);
            inside.decrementAndGet();
        }

        int most() {
            return most.get();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static <T> List<T> together(int n, java.util.concurrent.Callable<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<T>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            start.countDown();
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) {
                out.add(f.get(30, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
