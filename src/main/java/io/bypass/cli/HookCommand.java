package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.Engine;
import io.bypass.ExitCodes;
import io.bypass.Finding;
import io.bypass.apply.HookApplier;
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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "hook", description = "OCI hook (runc/crun prestart or createRuntime; podman/CRI-O hooks.d): reads the "
        + "container state on stdin, injects what the plan says, or fails the container start with the reason.")
final class HookCommand implements Callable<Integer> {

    @Option(names = "--state", paramLabel = "FILE", description = "read the state from FILE instead of stdin (for testing)")
    Path stateFile;

    @Option(names = "--stage", paramLabel = "STAGE", description = "the stage the hook is registered for (informational)")
    String stage;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return run(Main.of(spec).database(), stateFile, System.in, spec.commandLine().getErr());
    }

    /**
     * The hook itself, free of picocli so that {@link Main} can run it without building the
     * command model (most of a JVM hook's start-up cost).
     */
    static int run(Database db, Path stateFile, InputStream stdin, PrintWriter err) {
        OciState state = stateFile != null
                ? OciState.fromJson(Json.readFile(stateFile), stateFile + ":")
                : OciState.fromJson(Json.readStream(stdin, "hook: container state on stdin"), "hook: container state:");
        if (!db.exists()) {
            throw BypassException.badInput(db.dir() + ": the database does not exist; create it with packaging/install.sh");
        }
        db.requireTrusted();
        // Nothing registered: nothing can apply, and nothing else needs reading.
        if (db.names().isEmpty()) {
            return ExitCodes.OK;
        }
        OciConfig config = OciConfig.read(Path.of(state.bundle()));
        Map<String, String> annotations = new LinkedHashMap<>(config.annotations());
        annotations.putAll(state.annotations());
        if ("false".equalsIgnoreCase(annotations.getOrDefault(Planner.ANN_ENABLED, "true"))
                || annotations.containsKey(io.bypass.apply.ConfigEditor.ANN_APPLIED)) {
            // Off for this container, or precreate/patch-bundle already put the plan in the config.
            return ExitCodes.OK;
        }
        String exec = config.args().isEmpty() ? null : config.args().get(0);
        Engine.Result r = Engine.decide(db, config.rootfs(), annotations, config.env(), exec, false, Policy.DEFAULT);
        Plan plan = r.plan();
        if (plan.verdict() == Plan.Verdict.NONE) {
            return ExitCodes.OK;
        }
        if (plan.refused()) {
            Finding f = plan.firstError();
            err.println("bypass: refused: " + f.message() + (f.hint() == null ? "" : "; " + f.hint()) + " [" + f.code() + "]");
            return ExitCodes.REFUSED;
        }
        new HookApplier(helperPath(), Path.of("/sbin/ldconfig"), Path.of("/run/bypass")).apply(plan, r.profile(), state.pid(),
                state.id());
        return ExitCodes.OK;
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
