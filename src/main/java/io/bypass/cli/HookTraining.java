package io.bypass.cli;

import io.bypass.ExitCodes;
import io.bypass.apply.CreatedTargets;
import io.bypass.apply.HelperPlan;
import io.bypass.apply.HookApplier;
import io.bypass.cache.CachedDecision;
import io.bypass.cache.Expectations;
import io.bypass.cache.FileIdentity;
import io.bypass.container.ContainerRoot;
import io.bypass.db.Database;
import io.bypass.front.Site;
import io.bypass.plan.Plan;
import io.bypass.util.Json;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The training of the class-data archive or AOT cache (packaging/make-cds.sh), run as a main class
 * of its own: no picocli, whose reflection would put JDK classes no hook uses into the archive.
 *
 * <p>What the archive holds is a trade. Every JVM relocates all of it at start (ASLR), about
 * 3.7 ms per MB on this machine class whether the hook needs those classes or not; a class it
 * lacks costs the hook that loads it a read from the jar and a verification. So it holds what an
 * opted-out hook and a cache hit load, and not the profiler's path: of 64 ranks starting on a node,
 * one computes and the others hit. Two phases, two JVMs:
 * <ul>
 *   <li>{@code store}: computes a decision of the training image and stores it in the cache
 *       directory (a plain JVM, not archived);</li>
 *   <li>{@code hit}: the archiving JVM. An idle hook, the stored decision hit with the hook's own
 *       checker, the helper's re-check, the poststop record, a plan through the helper's format,
 *       and every class of the packages a hit reaches (loaded, not initialised).</li>
 * </ul>
 * It never applies anything.
 */
public final class HookTraining {
    /**
     * The packages a cache hit or an idle hook may reach. Not the profiler's, the planner's or the
     * database's (container, elf, host, plan, db): linking those at the dump pulls in what they
     * use (jackson-databind for the descriptors: 1.4 MB more archive). Not the command line's
     * (cli): its admin commands are the admin archive's, and the hook's own classes of it are
     * loaded by running the hook.
     */
    private static final List<String> HIT_PACKAGES = List.of("io/bypass/apply/", "io/bypass/cache/",
            "io/bypass/config/", "io/bypass/front/", "io/bypass/oci/", "io/bypass/util/");

    private HookTraining() {
    }

    public static void main(String[] args) {
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(run(args, err));
    }

    /**
     * {@code --phase store|hit --db DIR --cache DIR --rootfs DIR --exec PATH [--state FILE]};
     * the state (of a container that opts out) is for the hit phase's idle hook.
     */
    static int run(String[] args, PrintWriter err) {
        String phase = null;
        Path db = null;
        Path cache = null;
        Path rootfs = null;
        Path state = null;
        String exec = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            String value = args[i + 1];
            switch (args[i]) {
                case "--phase" -> phase = value;
                case "--db" -> db = Path.of(value);
                case "--cache" -> cache = Path.of(value);
                case "--rootfs" -> rootfs = Path.of(value);
                case "--state" -> state = Path.of(value);
                case "--exec" -> exec = value;
                default -> {
                    err.println("bypass training: unknown option " + args[i]);
                    return ExitCodes.BAD_INPUT;
                }
            }
        }
        if (args.length % 2 != 0 || db == null || cache == null || rootfs == null || !("store".equals(phase) || "hit".equals(phase))
                || ("hit".equals(phase) && state == null)) {
            err.println("bypass training: usage: --phase store|hit --db DIR --cache DIR --rootfs DIR [--exec PATH] [--state FILE]"
                    + " (--state for the hit phase)");
            return ExitCodes.BAD_INPUT;
        }
        Database database = new Database(db);
        if ("store".equals(phase)) {
            String outcome = CachedDecision.train(database, rootfs, exec, cache, null);
            return report(err, "store", "computed", outcome);
        }
        return hit(database, cache, rootfs, exec, state, err);
    }

    private static int hit(Database db, Path cache, Path rootfs, String exec, Path state, PrintWriter err) {
        PrintWriter sink = new PrintWriter(new StringWriter());
        // The hook's own parser and entry, then an idle hook.
        FastHook.parse(new String[] {"--db", "d", "hook", "--stage", "createRuntime"});
        loadOnly("io.bypass.cli.Main");
        HookCommand.run(db, Site.configFileFor(null, false), state, null, new ByteArrayInputStream(new byte[0]), sink);
        String helper = System.getProperty("bypass.helper", "");
        Path helperPath = helper.isEmpty() || !Files.isExecutable(Path.of(helper)) ? null : Path.of(helper);
        // The hit, checked as the hook checks it: an injecting plan left to the helper that mounts.
        String outcome = CachedDecision.train(db, rootfs, exec, cache,
                helperPath == null ? null : new HookCommand.HelperChecker(Site.load(db, Site.configFileFor(null, false))));
        if (helperPath != null) {
            // The helper's own re-check (a refusing or empty plan's hit), on what a profile records.
            sink.println(HookApplier.verify(helperPath, ContainerRoot.realDir(rootfs),
                    Expectations.of(List.of(FileIdentity.missing("/nonexistent-training-path")))));
        }
        // The freshness check of a hit's sources, whatever the training bundle mounts.
        io.bypass.db.Verifier.quickCheckSources(List.of(new io.bypass.db.Verifier.Source("training", "/nonexistent", 0, 0)));
        trainRecords(cache.resolve("state"), ContainerRoot.realDir(rootfs).toString(), sink);
        // A hit's payload holds a plan with mounts, which the training image may not need; the
        // helper reads it in its own format.
        Plan sample = new Plan(Plan.Verdict.INJECT, List.of(), List.of("training"), List.of(new Plan.Mount(
                "/host/libx.so.1", "/usr/lib/libx.so.1", Plan.Mount.Kind.REPLACE, true, "training", "libx.so.1")),
                List.of(), List.of(), null);
        Plan decoded = Plan.fromJson(Json.parse(Json.compact(sample.toJson()).getBytes(StandardCharsets.UTF_8), "training plan"));
        sink.println(HelperPlan.render(decoded, 1, "/nonexistent-training-root", null, "/sbin/ldconfig"));
        int loaded = loadPackages();
        sink.flush();
        err.println("bypass training: hit phase: " + outcome + ", " + loaded + " classes of the hit's packages loaded");
        return report(err, "hit", "hit", outcome);
    }

    private static int report(PrintWriter err, String phase, String expected, String outcome) {
        if (!expected.equals(outcome)) {
            // make-cds.sh keeps the archive (it works, it only holds other paths) and says so.
            err.println("bypass training: " + phase + " phase: expected '" + expected + "', got '" + outcome + "'");
            return ExitCodes.INTERNAL;
        }
        return ExitCodes.OK;
    }

    /**
     * What an injection records for poststop (apply/CreatedTargets), for this very process in a
     * directory of its own: the record written, the helper's report parsed, the record removed.
     * Only root can (the records' directory must be root's). The record stays empty, as most are
     * (bind mounts over files the image has): removing what an injection made goes through the
     * container's root by descriptor (JNA), which a poststop with nothing to remove never loads.
     */
    private static void trainRecords(Path stateDir, String rootfs, PrintWriter sink) {
        CreatedTargets records = new CreatedTargets(stateDir, sink);
        String id = "training-" + ProcessHandle.current().pid();
        try {
            sink.println(CreatedTargets.parseCreated("created /opt/bypass-training 40755 1 0 0 0 0"));
            records.begin(id, (int) ProcessHandle.current().pid(), rootfs).finish(List.of());
            records.poststop(id);
        } catch (RuntimeException e) {
            sink.println("training without the records: " + e);
        }
    }

    /**
     * Every class of the hit's packages in bypass' jar, loaded (not initialised): the training image
     * does not reach all of a hit (its apply, the helper's conversation, the error paths), and the
     * first class a hook loads from outside the archive makes the JVM open the jar and verify it
     * (9 ms here). t-cache checks that warm and idle hooks load none from the jar.
     */
    static int loadPackages() {
        int n = 0;
        try {
            Path own = io.bypass.util.OwnJar.path();
            if (own == null || !Files.isRegularFile(own)) {
                return 0;
            }
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(own.toFile())) {
                java.util.Enumeration<java.util.jar.JarEntry> entries = jar.entries();
                while (entries.hasMoreElements()) {
                    String name = entries.nextElement().getName();
                    if (name.endsWith(".class") && inHitPackages(name) && loadOnly(name.substring(0, name.length() - 6).replace('/', '.'))) {
                        n++;
                    }
                }
            }
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            // What was loaded so far goes into the archive; the rest comes from the jar.
        }
        return n;
    }

    static boolean inHitPackages(String entry) {
        for (String p : HIT_PACKAGES) {
            if (entry.startsWith(p) && entry.indexOf('/', p.length()) < 0) {
                return true;
            }
        }
        // The top package (io.bypass.Engine, BypassException, Finding, ...): the errors every path reports.
        return entry.startsWith("io/bypass/") && entry.indexOf('/', "io/bypass/".length()) < 0;
    }

    private static boolean loadOnly(String className) {
        try {
            Class.forName(className, false, HookTraining.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;   // not loadable on this JVM: it stays out of the archive
        }
    }
}
