package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.Finding;
import io.bypass.front.Decision;
import io.bypass.front.Mode;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "patch-bundle", description = "Apply bypass' edit to a runc/crun bundle's config.json in place (atomic "
        + "replace), for wrappers around the runtime. Exit 3 when refused: the config then carries a hook that fails the "
        + "container start with the reason.")
final class PatchBundleCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "the bundle directory")
    Path dir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path file = dir.resolve("config.json");
        if (!Files.isDirectory(dir)) {
            throw BypassException.badInput(dir + ": bundle directory does not exist");
        }
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw BypassException.badInput(file + ": no config.json in the bundle (a regular file, not a link)");
        }
        ConfigFront.Outcome o = ConfigFront.decide(Json.readFile(file), dir.toAbsolutePath(), file + ":", Main.of(spec).site(),
                Mode.PATCH_BUNDLE);
        Decision d = o.decision();
        if (o.config() == null) {
            Finding why = d.findings().isEmpty() ? null : d.findings().get(d.findings().size() - 1);
            spec.commandLine().getOut().println("unchanged: " + file + (d.skipped() ? " (skipped under onError: skip: " : " (")
                    + (why == null ? "nothing to inject" : why.code() + ": " + why.message()) + ")");
            return ExitCodes.OK;
        }
        io.bypass.util.AtomicFile.write(file, Json.write(o.config()).getBytes(StandardCharsets.UTF_8));
        if (d.refused()) {
            spec.commandLine().getErr().println(d.refusalLine());
            return ExitCodes.REFUSED;
        }
        spec.commandLine().getOut().println("patched " + file + ": " + d.plan().mounts().size() + " mounts, "
                + d.plan().devices().size() + " devices");
        return ExitCodes.OK;
    }
}
