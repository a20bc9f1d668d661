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
        // The decision cache's paths: a miss that computes and stores, then a hit (validation,
        // the payload's plan): a warm hook's classes must be in the archive too.
        java.nio.file.Path dir = null;
        try {
            dir = java.nio.file.Files.createTempDirectory("bypass-train-cache-");
            sink.println(io.bypass.cache.CachedDecision.train(main.database(), rootfs, exec, dir.resolve("c")));
        } catch (java.io.IOException | RuntimeException e) {
            sink.println("training without the decision cache: " + e);
        } finally {
            removeTree(dir);
        }
        return ExitCodes.OK;
    }

    private static void removeTree(java.nio.file.Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = java.nio.file.Files.walk(dir)) {
            for (java.nio.file.Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(p);
            }
        } catch (java.io.IOException ignored) {
            // A temporary directory of the build: best effort.
        }
    }
}
