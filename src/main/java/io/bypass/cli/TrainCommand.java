package io.bypass.cli;

import io.bypass.Engine;
import io.bypass.ExitCodes;
import io.bypass.front.Front;
import io.bypass.front.Mode;
import io.bypass.front.Request;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The training run of the class-data archive or AOT cache (packaging/make-cds.sh): one JVM that
 * walks the paths a hook takes, an idle hook and a full decision, so the archive holds their
 * classes. Never applies anything.
 */
@Command(name = "train", hidden = true, description = "Exercise the hook's code paths for a class-data archive.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--state", required = true, paramLabel = "FILE", description = "an OCI state of a container that opts out")
    Path state;

    @Option(names = "--rootfs", required = true, paramLabel = "DIR", description = "a rootfs to decide on")
    Path rootfs;

    @Option(names = "--exec", paramLabel = "PATH", description = "the program inside the rootfs")
    String exec;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main main = Main.of(spec);
        PrintWriter sink = new PrintWriter(new StringWriter());
        HookCommand.run(main.database(), main.configFile(), state, null, new ByteArrayInputStream(new byte[0]), sink);
        Engine.Result r = Front.decide(main.site(), Request.ofRootfs(Mode.TRAIN, rootfs, Map.of(), Map.of(), exec)).result();
        sink.print(Json.write(r.plan().toJson()));
        Report.printText(sink, r);
        return ExitCodes.OK;
    }
}
