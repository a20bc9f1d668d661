package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.apply.ConfigEditor;
import io.bypass.apply.CreatedTargets;
import io.bypass.apply.HookApplier;
import io.bypass.cache.CachedDecision;
import io.bypass.cache.Expectations;
import io.bypass.front.Decision;
import io.bypass.front.Front;
import io.bypass.front.Mode;
import io.bypass.front.Request;
import io.bypass.front.Site;
import io.bypass.oci.OciConfig;
import io.bypass.oci.OciState;
import io.bypass.plan.Plan;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "hook", description = {"OCI hook (runc/crun prestart or createRuntime; podman/CRI-O hooks.d): reads the "
        + "container state on stdin, injects what the plan says, or fails the container start with the reason.",
        "As a hook, bypass takes its database and configuration from --db/--config, the install and the site "
        + "configuration only, never from BYPASS_* in the environment."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:injected, nothing to do, or skipped under onError: skip", "1:internal error",
                "2:bad input (state, config.json, database, configuration)", "3:refused as incompatible"})
final class HookCommand implements Callable<Integer> {

    @Option(names = "--state", paramLabel = "FILE", description = "read the state from FILE instead of stdin (for testing)")
    Path stateFile;

    @Option(names = "--stage", paramLabel = "STAGE", description = "the stage the hook is registered for (for the audit log); "
            + "poststop removes the mount points this container's createRuntime made (also chosen by the state's status "
            + "\"stopped\")")
    String stage;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main main = Main.of(spec);
        return run(Site.databaseFor(main.db, false), Site.configFileFor(main.config, false), stateFile, stage, System.in,
                spec.commandLine().getErr());
    }

    /**
     * The hook itself, free of picocli so that {@link FastHook} can run it without building the
     * command model (most of a JVM hook's start-up cost): an adapter over {@link Front#decide}.
     */
    static int run(io.bypass.db.Database db, Path configFile, Path stateFile, String stage, InputStream stdin, PrintWriter err) {
        OciState state = stateFile != null
                ? OciState.fromJson(Json.readFile(stateFile), stateFile + ":")
                : OciState.fromJson(Json.readStream(stdin, "hook: container state on stdin"), "hook: container state:");
        if (isPoststop(stage, state)) {
            return poststop(state, err);
        }
        Site site = Site.load(db, configFile);
        // Anonymous classes, not lambdas: a JVM's first lambda initialises the method-handle
        // machinery (5-6 ms), and a hook with nothing to do need not pay for it.
        Decision d = Front.decide(site, Mode.HOOK, stage != null ? stage : Mode.HOOK.id(), state.id(),
                new java.util.function.Supplier<Request>() {
                    @Override
                    public Request get() {
                        return request(state, stage);
                    }
                },
                new Front.Apply() {
                    @Override
                    public void apply(Decision decision) {
                        if (decision.verdict() == Plan.Verdict.INJECT) {
                            new HookApplier(helperOf(site), site.config().ldconfig(), Path.of("/run/bypass"),
                                    new CreatedTargets(stateDir(), err))
                                    .apply(decision.plan(), decision.result().profile(), state.pid(), state.id(), decision.unchecked());
                        }
                    }
                },
                new HelperChecker(site));
        if (d.refused()) {
            err.println(d.refusalLine());
            return ExitCodes.REFUSED;
        }
        return ExitCodes.OK;
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

    /**
     * The records' directory: BYPASS_STATE_DIR from the hook's environment (tests), else
     * /run/bypass/state; CreatedTargets refuses one that is not root's 0700.
     */
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

    /** The container's config with the runtime's annotations over its own. */
    static Request request(OciState state, String stage) {
        if (io.bypass.plan.OptOut.optedOut(state.annotations())) {
            // The runtime's state carries the config's annotations and wins over them: a container
            // that opts out costs no config.json read (its rootfs, env and args are never looked at).
            return new Request(Mode.HOOK, stage, state.id(), null, state.annotations(), Map.of(), List.of(), null, false);
        }
        OciConfig oci = OciConfig.read(Path.of(state.bundle()));
        Map<String, String> annotations = new LinkedHashMap<>(oci.annotations());
        annotations.putAll(state.annotations());
        return Request.ofConfig(Mode.HOOK, stage, state.id(), oci, annotations, annotations.containsKey(ConfigEditor.ANN_APPLIED));
    }

    /** The site's mount helper, else the one next to this bypass (the launcher's). */
    /**
     * How a hook's cache hit re-checks its files: through the helper (no JNA, no ELF parsing
     * here); one that injects leaves it to the helper run that mounts (one spawn). The helper is
     * located when first needed. A class of its own: the archive's training uses it too.
     */
    static final class HelperChecker implements CachedDecision.Checker {
        private final Site site;

        HelperChecker(Site site) {
            this.site = site;
        }

        @Override
        public String problem(Path rootfs, Expectations files) {
            return HookApplier.verify(helperOf(site), rootfs, files);
        }

        @Override
        public boolean defersInject() {
            return true;
        }
    }

    static Path helperOf(Site site) {
        return site.config().helper() != null ? site.config().helper() : helperPath();
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
