package io.bypass.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.Engine;
import io.bypass.config.SiteConfig;
import io.bypass.container.ContainerProfile;
import io.bypass.container.ContainerRoot;
import io.bypass.db.Database;
import io.bypass.db.Verifier;
import io.bypass.plan.Plan;
import io.bypass.plan.Policy;
import io.bypass.util.Json;
import io.bypass.util.OwnJar;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A hook's decision through the node's {@link DecisionCache}: the key is every input that is not
 * a container file (the bypass build, the database generation, the site configuration's bytes,
 * the owner of the rootfs, the request); the entry holds the plan, the parts of the profile the
 * applier needs (loader directories, whether the image has an ld.so.cache), the registered
 * sources' facts for the freshness check, and the identity of every container file the profile
 * rests on. A hit re-resolves and re-stats those files inside the rootfs of the container being
 * started and re-hashes the bytes the profile parsed, through the {@link Checker} the front gives
 * (the hook's is its mount helper, so no JNA in this JVM) or else a {@link ContainerRoot}; it
 * reads no database entry and parses no ELF file. A miss computes (profile and plan) with the lookups recorded, and
 * stores; ranks of one job that miss together wait for the first one's entry
 * ({@link DecisionCache#getOrCompute}). Failures of the cache never fail a decision: a cache that
 * cannot be opened or written is a note in the trace and the audit.
 *
 * <p>The cache directory is $BYPASS_CACHE of the hook's environment (set in the hooks.d entry or
 * the bundle's hook entry), {@code off} for none; the default {@link DecisionCache#DEFAULT_DIR}.
 */
public final class CachedDecision {
    /** The environment variable naming the cache directory, or "off". */
    public static final String ENV_DIR = "BYPASS_CACHE";
    /** The environment variable overriding how long a rank waits for another's entry, in ms. */
    public static final String ENV_WAIT = "BYPASS_CACHE_WAIT_MS";
    private static final int PAYLOAD_VERSION = 1;

    /**
     * What a front asks.
     *
     * @param stage which point of the container's life the plan is for (a key field: a front
     *              whose stage changes the plan gets its own entries)
     * @param mode  the front ("hook", ...)
     */
    public record Request(Path rootfs, Map<String, String> annotations, Map<String, String> env, List<String> args,
                          String stage, String mode, Policy policy) {
    }

    /**
     * The decision and how it was reached.
     *
     * @param profile the full profile when computed here; on a hit, one holding only what the
     *                applier reads (rootfs, loader directories, ld.so.cache), the rest empty
     * @param sources the registered files the plan mounts, for {@link Verifier#quickCheckSources}
     * @param cache   "hit", "waited-hit", "computed", "computed-after-timeout" or "off"
     * @param note    why the cache was not used or written (a miss' reason, a store error), or null
     * @param unchecked a hit's files not yet re-checked (the checker deferred them to the apply
     *                step), else null
     */
    public record Decision(Plan plan, ContainerProfile profile, List<Verifier.Source> sources, String cache, String note,
                           Expectations unchecked) {
        /** What the audit line says of the cache, e.g. "cache=hit". */
        public String auditNote() {
            return "cache=" + cache;
        }
    }

    /**
     * Re-checks an entry's container files against the rootfs about to start: null when every
     * identity still holds, else a one-line reason naming the first that does not. The hook's
     * checker is the mount helper (native-shims, a validate-only plan): it resolves by descriptor
     * inside the rootfs like the profile did, and the hit path never loads JNA.
     */
    @FunctionalInterface
    public interface Checker {
        String problem(Path rootfs, Expectations files);

        /**
         * Whether a hit that injects may leave the check to the apply step: the hook's helper
         * checks the files first in the same run that mounts (one spawn), and fails with
         * {@code StaleEntry} having done nothing. Only when the key has one variant (with
         * several, the check is what picks the valid one).
         */
        default boolean defersInject() {
            return false;
        }
    }

    private CachedDecision() {
    }

    /**
     * @param configFile the site configuration's file as given (null: located as the hook does)
     * @param env        the hook process' environment (for $BYPASS_CACHE)
     */
    public static Decision decide(Database db, Path configFile, Request req, Map<String, String> env) {
        return decide(db, configFile, req, env, null);
    }

    /**
     * @param checker how a hit re-checks its files (null: in this JVM, through a
     *                {@link ContainerRoot} and {@link RootReader})
     */
    public static Decision decide(Database db, Path configFile, Request req, Map<String, String> env, Checker checker) {
        return decide(db, null, configFile, req, env, checker);
    }

    /** @param listing the database's entries as its trust check listed them (null: listed here) */
    public static Decision decide(Database db, Database.Listing listing, Path configFile, Request req, Map<String, String> env,
                                  Checker checker) {
        // -Dbypass.cache=off (the unit tests) turns it off for a whole JVM.
        String where = env.getOrDefault(ENV_DIR, System.getProperty("bypass.cache", DecisionCache.DEFAULT_DIR));
        if (where.isEmpty() || where.equals("off")) {
            return compute(db, req, "off", null);
        }
        DecisionCache cache;
        try {
            cache = DecisionCache.open(Path.of(where));
        } catch (BypassException | IllegalArgumentException e) {
            trace("cache not used: " + e.getMessage());
            return compute(db, req, "off", e.getMessage());
        }
        String generation = listing != null ? db.generation(listing) : db.generation();
        return decide(cache, key(generation, SiteConfig.locate(configFile, env), req).digest(), db, req, waitTimeout(env),
                checker);
    }

    private static Decision decide(DecisionCache cache, String key, Database db, Request req, Duration wait,
                                   Checker checker) {
        if (checker != null) {
            Path rootfs = ContainerRoot.realDir(req.rootfs());
            return decide(cache, key, db, req, wait, new CheckerValidator(checker, rootfs, cache, key), rootfs);
        }
        try (ContainerRoot root = ContainerRoot.open(req.rootfs())) {
            return decide(cache, key, db, req, wait, cache.filesValidator(new RootReader(root)), root.hostDir());
        }
    }

    /**
     * A class, not a lambda: the hit path should load as few classes as it can. An injecting
     * plan is left to the apply step's helper to check when it is the key's only entry (several
     * would need checking to tell which one is this image's), counted when an entry is looked at:
     * ranks that waited for another's entry find it there, and one helper run checks and mounts.
     */
    private static final class CheckerValidator implements DecisionCache.Validator {
        private final Checker checker;
        private final Path rootfs;
        private final DecisionCache cache;
        private final String key;
        /** The entry accepted unchecked (an injecting plan left to the apply step), and its payload decoded. */
        DecisionCache.Entry deferred;
        Stored deferredPayload;

        CheckerValidator(Checker checker, Path rootfs, DecisionCache cache, String key) {
            this.checker = checker;
            this.rootfs = rootfs;
            this.cache = cache;
            this.key = key;
        }

        @Override
        public String problem(DecisionCache.Entry entry) {
            deferred = null;
            if (checker.defersInject() && cache.presentVariants(key) == 1) {
                try {
                    Stored s = Stored.decode(entry.payload());
                    if (s.plan.verdict() == Plan.Verdict.INJECT) {
                        deferred = entry;
                        deferredPayload = s;
                        return null;
                    }
                } catch (RuntimeException e) {
                    // Checked now, and its payload rejected below like any other.
                }
            }
            return checker.problem(rootfs, entry.files());
        }
    }

    private static Decision decide(DecisionCache cache, String key, Database db, Request req, Duration wait,
                                   DecisionCache.Validator validator, Path hostDir) {
        Computing computing = new Computing(db, req);
        long t0 = System.nanoTime();
        DecisionCache.Result r = cache.getOrCompute(key, validator, computing, wait);
        String outcome = switch (r.outcome()) {
            case HIT -> "hit";
            case WAITED_HIT -> "waited-hit";
            case COMPUTED -> "computed";
            case COMPUTED_AFTER_TIMEOUT -> "computed-after-timeout";
        };
        String note = r.storeError() != null ? "not stored: " + r.storeError() : r.missReason();
        trace("cache " + outcome + " after " + (System.nanoTime() - t0) / 1_000_000 + " ms (waited "
                + r.waitedNanos() / 1_000_000 + " ms)" + (note == null ? "" : ": " + note)
                + (computing.uncacheable != null ? "; not cacheable: " + computing.uncacheable : ""));
        if (computing.result != null) {
            return new Decision(computing.result.plan(), computing.result.profile(), computing.sources, outcome, note, null);
        }
        CheckerValidator deferring = validator instanceof CheckerValidator cv && cv.deferred != null
                && cv.deferred.payload() == r.payload() ? cv : null;
        Stored s;
        try {
            s = deferring != null ? deferring.deferredPayload : Stored.decode(r.payload());
        } catch (RuntimeException e) {
            // An entry this build wrote and the checksum vouched for: only a bug gets here.
            // Decide afresh rather than trust it.
            trace("cache entry unusable: " + e.getMessage());
            return compute(db, req, "computed", "entry unusable: " + e.getMessage());
        }
        ContainerProfile profile = new ContainerProfile(hostDir.toString(), "ELF64", System.getProperty("os.arch"),
                new ContainerProfile.Libc("unknown", null, null, List.of()), s.hasLdCache, s.loaderDirs, Map.of(), null,
                null, null, null, req.annotations(), req.env(), List.of());
        return new Decision(s.plan, profile, s.sources, outcome, note, deferring == null ? null : deferring.deferred.files());
    }

    /**
     * For the class-data archive's training (packaging/make-cds.sh), in two JVMs so that the
     * archive holds the paths of a warm hook and not those of a cold one: {@code store} computes
     * and stores a decision of the training image in a cache at dir (owned by whoever runs it),
     * and {@code hit} finds it there, with the hook's checker. Returns the outcome: "computed",
     * then "hit".
     */
    public static String train(Database db, Path rootfs, String exec, Path dir, Checker checker) {
        int uid;
        try {
            uid = (Integer) Files.getAttribute(Files.createDirectories(dir), "unix:uid");
        } catch (IOException e) {
            throw BypassException.internal("training: cannot make " + dir + ": " + e.getMessage(), e);
        }
        DecisionCache cache = DecisionCache.open(dir.resolve("decisions"), DecisionCache.Options.defaults().withOwner(uid));
        Request req = new Request(rootfs, Map.of(), Map.of(), exec == null ? List.of() : List.of(exec), "runtime-hook", "hook",
                Policy.DEFAULT);
        return decide(cache, key(db, dir.resolve("no-config.json"), req).digest(), db, req, DecisionCache.DEFAULT_WAIT, checker)
                .cache();
    }

    /** The decision computed here, without the cache. */
    private static Decision compute(Database db, Request req, String outcome, String note) {
        Computing c = new Computing(db, req);
        c.run(null);
        return new Decision(c.result.plan(), c.result.profile(), c.sources, outcome, note, null);
    }

    /** Profile and plan on a miss, the lookups recorded; the result is kept for the caller. */
    private static final class Computing implements DecisionCache.Computer {
        private final Database db;
        private final Request req;
        Engine.Result result;
        List<Verifier.Source> sources;
        String uncacheable;

        Computing(Database db, Request req) {
            this.db = db;
            this.req = req;
        }

        void run(ContainerRoot.Observer observer) {
            result = Engine.decide(db, req.rootfs(), req.annotations(), req.env(), req.args(), false, req.policy(), observer);
            List<String> paths = new ArrayList<>();
            for (Plan.Mount m : result.plan().mounts()) {
                paths.add(m.source());
            }
            sources = Verifier.sources(result.bundles(), paths);
        }

        @Override
        public DecisionCache.Computed compute() {
            IdentityRecorder recorder = new IdentityRecorder();
            run(new RootRecorder(recorder));
            Plan plan = result.plan();
            Optional<List<FileIdentity>> files = recorder.identities();
            uncacheable = recorder.uncacheableReason();
            for (io.bypass.Finding f : plan.findings()) {
                if ("profile-budget".equals(f.code())) {
                    // bypass gave up on the image part way: not a value of the files it read.
                    uncacheable = "the profile was stopped by its budget";
                    files = Optional.empty();
                }
            }
            byte[] payload = new Stored(plan, result.profile().hasLdCache(), result.profile().loaderDirs(), sources).encode();
            return new DecisionCache.Computed(payload, files);
        }
    }

    // ---------------------------------------------------------------- the key

    /** The key of a request: every input of the decision that is not a container file. */
    public static CacheKey key(Database db, Path configFile, Request req) {
        return key(db.generation(), configFile, req);
    }

    static CacheKey key(String dbGeneration, Path configFile, Request req) {
        return new CacheKey()
                .field("build", build())
                .field("arch", System.getProperty("os.arch"))
                .field("db", dbGeneration)
                .field("config", configDigest(configFile))
                .field("policy", req.policy().abiCheck().name())
                .field("rootfs-owner", rootfsOwner(req.rootfs()))
                .field("mode", req.mode())
                .field("stage", req.stage())
                .map("annotations", req.annotations())
                .map("env", req.env())
                .list("args", req.args());
    }

    /**
     * This build of bypass: its version and its jar's size and mtime, so that an upgraded or
     * rebuilt hook never serves a plan of an older one.
     */
    static String build() {
        StringBuilder sb = new StringBuilder(String.valueOf(CachedDecision.class.getPackage().getImplementationVersion()));
        try {
            Path jar = OwnJar.path();
            if (jar != null && Files.isRegularFile(jar)) {
                sb.append(' ').append(jar).append(' ').append(Files.size(jar)).append(' ')
                        .append(Files.getLastModifiedTime(jar).toMillis());
            }
        } catch (IOException | RuntimeException | java.net.URISyntaxException e) {
            sb.append(" unknown-jar");
        }
        return sb.toString();
    }

    /** The configuration file's path and bytes (SHA-256); "absent" when there is none (the defaults). */
    static String configDigest(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            MessageDigest md = FileIdentity.newDigest();
            md.update(file.toString().getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            return FileIdentity.hex(md.digest(bytes));
        } catch (NoSuchFileException e) {
            return "absent " + file;
        } catch (IOException e) {
            // SiteConfig.load read it a moment ago: a file that cannot be read now keys alone.
            return "unreadable " + file + " " + System.nanoTime();
        }
    }

    /**
     * The rootfs directory's owner: entries are partitioned by it, so that one user's images
     * never serve another user's containers, on top of the content evidence (docs/cache.md).
     * Every container of one image has the same owner on its overlay's root.
     */
    static String rootfsOwner(Path rootfs) {
        try {
            return String.valueOf(Files.getAttribute(rootfs, "unix:uid"));
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static Duration waitTimeout(Map<String, String> env) {
        String w = env.get(ENV_WAIT);
        if (w != null) {
            try {
                long ms = Long.parseLong(w);
                if (ms >= 0 && ms <= 60_000) {
                    return Duration.ofMillis(ms);
                }
            } catch (NumberFormatException ignored) {
                // fall through to the default
            }
            trace(ENV_WAIT + "=" + w + " ignored: not a number of ms in 0..60000");
        }
        return DecisionCache.DEFAULT_WAIT;
    }

    private static void trace(String line) {
        if (Boolean.getBoolean("bypass.trace")) {
            System.err.println("bypass: trace: " + line);
        }
    }

    // ---------------------------------------------------------------- the payload

    /** What an entry's payload holds: a JSON object, versioned. */
    static final class Stored {
        final Plan plan;
        final boolean hasLdCache;
        final List<String> loaderDirs;
        final List<Verifier.Source> sources;

        Stored(Plan plan, boolean hasLdCache, List<String> loaderDirs, List<Verifier.Source> sources) {
            this.plan = plan;
            this.hasLdCache = hasLdCache;
            this.loaderDirs = List.copyOf(loaderDirs);
            this.sources = List.copyOf(sources);
        }

        byte[] encode() {
            ObjectNode o = Json.object();
            o.put("version", PAYLOAD_VERSION);
            o.set("plan", plan.toJson());
            ObjectNode p = o.putObject("profile");
            p.put("hasLdCache", hasLdCache);
            p.set("loaderDirs", Json.array(loaderDirs));
            ArrayNode src = o.putArray("sources");
            for (Verifier.Source s : sources) {
                src.addObject().put("bundle", s.bundle()).put("path", s.path()).put("size", s.size()).put("mtime", s.mtime());
            }
            return Json.compact(o).getBytes(StandardCharsets.UTF_8);
        }

        /** @throws IllegalArgumentException (or another RuntimeException) for anything but what encode wrote */
        static Stored decode(byte[] payload) {
            JsonNode o = Json.parse(payload, "cache entry");
            if (o.path("version").asInt(-1) != PAYLOAD_VERSION) {
                throw new IllegalArgumentException("payload version " + o.get("version"));
            }
            Plan plan = Plan.fromJson(o.get("plan"));
            JsonNode p = o.get("profile");
            if (p == null || !p.path("hasLdCache").isBoolean() || !p.path("loaderDirs").isArray()) {
                throw new IllegalArgumentException("payload: profile");
            }
            List<String> dirs = new ArrayList<>();
            for (JsonNode d : p.get("loaderDirs")) {
                if (!d.isTextual()) {
                    throw new IllegalArgumentException("payload: profile.loaderDirs");
                }
                dirs.add(d.textValue());
            }
            List<Verifier.Source> sources = new ArrayList<>();
            JsonNode src = o.get("sources");
            if (src == null || !src.isArray()) {
                throw new IllegalArgumentException("payload: sources");
            }
            for (JsonNode s : src) {
                if (!s.path("bundle").isTextual() || !s.path("path").isTextual() || !s.path("size").canConvertToLong()
                        || !s.path("mtime").canConvertToLong()) {
                    throw new IllegalArgumentException("payload: sources[]");
                }
                sources.add(new Verifier.Source(s.get("bundle").textValue(), s.get("path").textValue(), s.get("size").longValue(),
                        s.get("mtime").longValue()));
            }
            return new Stored(plan, p.get("hasLdCache").booleanValue(), dirs, sources);
        }
    }
}
