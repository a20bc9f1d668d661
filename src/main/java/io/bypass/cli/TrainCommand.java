package io.bypass.cli;

import io.bypass.Engine;
import io.bypass.ExitCodes;
import io.bypass.apply.CreatedTargets;
import io.bypass.apply.HookApplier;
import io.bypass.cache.CachedDecision;
import io.bypass.container.ContainerRoot;
import io.bypass.front.Front;
import io.bypass.front.Mode;
import io.bypass.front.Request;
import io.bypass.plan.Plan;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        // The hook's own parser, then an idle hook.
        FastHook.parse(new String[] {"--db", "d", "hook", "--stage", "createRuntime"});
        HookCommand.run(main.database(), main.configFile(), state, null, new ByteArrayInputStream(new byte[0]), sink);
        Engine.Result r = Front.decide(main.site(), Request.ofRootfs(Mode.TRAIN, rootfs, Map.of(), Map.of(), exec)).result();
        sink.print(Json.write(r.plan().toJson()));
        Report.printText(sink, r);
        // The decision cache's paths: a miss that computes and stores, then a hit (validation,
        // the payload's plan): a warm hook's classes must be in the archive too.
        Path dir = null;
        try {
            dir = Files.createTempDirectory("bypass-train-cache-");
            // The hook's hit re-checks through its mount helper: train that path where there is one.
            String helper = System.getProperty("bypass.helper", "");
            CachedDecision.Checker checker = helper.isEmpty() || !Files.isExecutable(Path.of(helper))
                    ? null : (root, files) -> HookApplier.verify(Path.of(helper), root, files);
            sink.println(CachedDecision.train(main.database(), rootfs, exec, dir.resolve("c"), checker));
            trainRecords(dir.resolve("state"), ContainerRoot.realDir(rootfs).toString(), sink);
            // The freshness check of a hit's sources, whatever the training bundle mounts.
            io.bypass.db.Verifier.quickCheckSources(List.of(new io.bypass.db.Verifier.Source("training", "/nonexistent", 0, 0)));
            // A hit's payload holds a plan with mounts, which the training image may not need.
            Plan sample = new Plan(Plan.Verdict.INJECT, List.of(), List.of("training"), List.of(new Plan.Mount(
                    "/host/libx.so.1", "/usr/lib/libx.so.1", Plan.Mount.Kind.REPLACE, true, "training", "libx.so.1")),
                    List.of(), List.of(), null);
            sink.println(Plan.fromJson(Json.parse(Json.compact(sample.toJson()).getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    "training plan")).mounts());
        } catch (IOException | RuntimeException e) {
            sink.println("training without the decision cache: " + e);
        } finally {
            removeTree(dir);
        }
        sink.println(loadEveryClass() + " classes loaded");
        return ExitCodes.OK;
    }

    /**
     * Every class of bypass in its jar, loaded (not initialised), so that the archive holds them
     * all. The training image (a libc and /usr/bin/true) does not reach what a real one does (an
     * ld.so.cache, an MPI, the image scan's objects, the apply), and the first class a hook loads
     * from outside the archive makes the JVM open the 5 MB jar and verify the class: 9 ms for
     * the first, here. t-cache checks that cold, warm and idle hooks load none from the jar.
     */
    static int loadEveryClass() {
        int n = 0;
        try {
            Path own = io.bypass.util.OwnJar.path();
            if (own == null || !Files.isRegularFile(own)) {
                return 0;
            }
            ClassLoader loader = TrainCommand.class.getClassLoader();
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(own.toFile())) {
                java.util.Enumeration<java.util.jar.JarEntry> entries = jar.entries();
                while (entries.hasMoreElements()) {
                    String name = entries.nextElement().getName();
                    if (name.startsWith("io/bypass/") && name.endsWith(".class")) {
                        try {
                            Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), false, loader);
                            n++;
                        } catch (ClassNotFoundException | LinkageError e) {
                            // Not loadable on this JVM: it stays out of the archive.
                        }
                    }
                }
            }
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            // What was loaded so far goes into the archive; the rest comes from the jar.
        }
        return n;
    }

    /**
     * What an injection records for poststop (apply/CreatedTargets), for this very process in a
     * directory of its own: the record written, the helper's report added, then removed. Only
     * root can (the records' directory must be root's).
     */
    private static void trainRecords(Path stateDir, String rootfs, PrintWriter sink) {
        CreatedTargets records = new CreatedTargets(stateDir, sink);
        String id = "training-" + ProcessHandle.current().pid();
        records.begin(id, (int) ProcessHandle.current().pid(), rootfs)
                .finish(List.of(CreatedTargets.parseCreated("created /opt/bypass-training 40755 1 0 0 0 0")));
        records.poststop(id);
    }

    private static void removeTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (java.io.IOException ignored) {
            // A temporary directory of the build: best effort.
        }
    }
}
