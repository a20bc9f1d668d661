package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.Finding;
import io.bypass.apply.CreatedTargets;
import io.bypass.apply.HookApplier;
import io.bypass.cache.CachedDecision;
import io.bypass.config.Audit;
import io.bypass.config.SiteConfig;
import io.bypass.db.Verifier;
import io.bypass.db.Database;
import io.bypass.oci.OciConfig;
import io.bypass.oci.OciState;
import io.bypass.plan.Plan;
import io.bypass.plan.Planner;
import io.bypass.plan.Policy;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "hook", description = "OCI hook (runc/crun prestart or createRuntime; podman/CRI-O hooks.d): reads the "
        + "container state on stdin, injects what the plan says, or fails the container start with the reason.")
final class HookCommand implements Callable<Integer> {

    @Option(names = "--state", paramLabel = "FILE", description = "read the state from FILE instead of stdin (for testing)")
    Path stateFile;

    @Option(names = "--stage", paramLabel = "STAGE", description = "the stage the hook is registered for: poststop removes "
            + "the mount points this container's createRuntime made (also chosen by the state's status \"stopped\")")
    String stage;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return run(Main.of(spec).database(), Main.of(spec).configFile(), stateFile, stage, System.in, spec.commandLine().getErr());
    }

    static int run(Database db, Path configFile, Path stateFile, InputStream stdin, PrintWriter err) {
        return run(db, configFile, stateFile, null, stdin, err);
    }

    // --- stage dispatch: poststop removes what createRuntime made (apply/CreatedTargets) -----------

    /** Whether this run is the poststop one: named so by the hooks.d file or bundle, or a stopped container's state. */
    static boolean isPoststop(String stage, OciState state) {
        return stage != null ? stage.equalsIgnoreCase("poststop") : "stopped".equals(state.status());
    }

    /** The poststop stage: fast, reads no database or config, and never fails the teardown. */
    static int poststop(OciState state, PrintWriter err) {
        new CreatedTargets(stateDir(), err).poststop(state.id());
        return ExitCodes.OK;
    }

    /** The records' directory: BYPASS_STATE_DIR from the hook's environment (hooks.d or bundle entry), else /run/bypass/state. */
    static Path stateDir() {
        String dir = System.getenv("BYPASS_STATE_DIR");
        if (dir == null || dir.isEmpty()) {
            return CreatedTargets.DEFAULT_DIR;
        }
        if (!dir.startsWith("/")) {
            throw BypassException.badInput("BYPASS_STATE_DIR: '" + dir + "' must be an absolute path");
        }
        return Path.of(dir);
    }

    /**
     * The hook itself, free of picocli so that {@link Main} can run it without building the
     * command model (most of a JVM hook's start-up cost). Every decision is audited; an error that
     * is not a refusal follows the site's onError policy.
     */
    static int run(Database db, Path configFile, Path stateFile, String stage, InputStream stdin, PrintWriter err) {
        long start = System.nanoTime();
        OciState state = stateFile != null
                ? OciState.fromJson(Json.readFile(stateFile), stateFile + ":")
                : OciState.fromJson(Json.readStream(stdin, "hook: container state on stdin"), "hook: container state:");
        if (isPoststop(stage, state)) {
            return poststop(state, err);
        }
        Path configPath = SiteConfig.locate(configFile, System.getenv());
        SiteConfig config = SiteConfig.load(configPath, isRoot());
        try {
            return decideAndApply(db, config, configPath, state, err, start);
        } catch (BypassException e) {
            boolean skip = config.onError() == SiteConfig.OnError.SKIP && !(e instanceof HookApplier.PartialApply);
            audit(config, state, List.of(), skip ? "error-skipped" : "error", List.of("error"), start, e.getMessage(), err);
            if (skip) {
                // The site prefers the container to start without bypass over not starting.
                return ExitCodes.OK;
            }
            throw e;
        }
    }

    private static int decideAndApply(Database db, SiteConfig config, Path configFile, OciState state, PrintWriter err,
                                      long start) {
        // What the container asks for comes first: a container that opts out, or whose config
        // precreate/patch-bundle already edited, costs no more than reading its config.
        OciConfig oci = OciConfig.read(Path.of(state.bundle()));
        Map<String, String> annotations = new LinkedHashMap<>(oci.annotations());
        annotations.putAll(state.annotations());
        if ("false".equalsIgnoreCase(annotations.getOrDefault(Planner.ANN_ENABLED, "true"))
                || annotations.containsKey(io.bypass.apply.ConfigEditor.ANN_APPLIED)) {
            audit(config, state, List.of(), "none", List.of("disabled"), start, null, err);
            return ExitCodes.OK;
        }
        if (!db.exists()) {
            throw BypassException.badInput(db.dir() + ": the database does not exist; create it with packaging/install.sh");
        }
        db.requireTrusted();
        // Nothing registered: nothing can apply, and nothing else needs reading.
        if (db.names().isEmpty()) {
            audit(config, state, List.of(), "none", List.of("no-bundles"), start, null, err);
            return ExitCodes.OK;
        }
        trace("config read", start);
        // Through the node's decision cache (docs/cache.md): a hit reads no database entry and
        // parses no ELF file; the freshness check and the apply below run as for a fresh decision.
        CachedDecision.Decision r = CachedDecision.decide(db, configFile, new CachedDecision.Request(oci.rootfs(), annotations,
                oci.env(), oci.args(), "runtime-hook", "hook", new Policy(config.abiCheck())), System.getenv());
        trace("decided", start);
        Plan plan = r.plan();
        String cacheNote = r.auditNote();
        List<String> codes = new ArrayList<>();
        plan.findings().forEach(f -> codes.add(f.code()));
        if (plan.verdict() == Plan.Verdict.NONE) {
            audit(config, state, plan.bundles(), "none", codes, start, cacheNote, err);
            return ExitCodes.OK;
        }
        if (plan.refused()) {
            Finding f = plan.firstError();
            if ("profile-budget".equals(f.code()) && config.onError() == SiteConfig.OnError.SKIP) {
                // Not a verdict on the image but bypass giving up on it: the site's onError decides.
                audit(config, state, plan.bundles(), "error-skipped", codes, start, f.message() + "; " + cacheNote, err);
                return ExitCodes.OK;
            }
            String line = f.refusalLine();
            audit(config, state, plan.bundles(), "refuse", codes, start, f.message() + "; " + cacheNote, err);
            err.println(line);
            return ExitCodes.REFUSED;
        }
        List<Verifier.Problem> stale = Verifier.quickCheckSources(r.sources());
        if (!stale.isEmpty()) {
            Verifier.Problem p = stale.get(0);
            throw BypassException.badInput("registered file " + p.path() + " of bundle " + p.bundle() + " " + p.problem()
                    + "; the admin must run `bypass db register` for it again");
        }
        Path helper = config.helper() != null ? config.helper() : helperPath();
        new HookApplier(helper, config.ldconfig(), Path.of("/run/bypass"), new CreatedTargets(stateDir(), err))
                .apply(plan, r.profile(), state.pid(), state.id());
        trace("applied", start);
        audit(config, state, plan.bundles(), "inject", codes, start, plan.mounts().size() + " mounts, " + plan.devices().size()
                + " devices; " + cacheNote, err);
        return ExitCodes.OK;
    }

    private static void audit(SiteConfig config, OciState state, List<String> bundles, String verdict, List<String> codes,
                              long start, String detail, PrintWriter err) {
        long ms = (System.nanoTime() - start) / 1_000_000;
        String problem = Audit.record(config, new Audit.Decision(state.id(), null, bundles, verdict, codes, ms, detail));
        if (problem != null) {
            err.println("bypass: warning: " + problem);
        }
    }

    /** Phase timings on stderr with -Dbypass.trace=true (for profiling a hook; runtimes show stderr only on failure). */
    static void trace(String phase, long start) {
        if (Boolean.getBoolean("bypass.trace")) {
            System.err.println("bypass: trace: " + phase + " after " + (System.nanoTime() - start) / 1_000_000 + " ms");
        }
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    static Path helperPath() {
        String p = System.getProperty("bypass.helper");
        if (p == null || p.isEmpty()) {
            throw BypassException.badInput("the mount helper is unknown: run bypass through its launcher (hook/bypass)");
        }
        Path helper = Path.of(p);
        if (!Files.exists(helper)) {
            throw BypassException.badInput("the mount helper " + helper + " does not exist; build it (mvn package) or reinstall");
        }
        return helper;
    }
}
