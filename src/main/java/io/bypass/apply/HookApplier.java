package io.bypass.apply;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.cache.Expectations;
import io.bypass.container.ContainerProfile;
import io.bypass.plan.Plan;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Realises a plan in a running container's mount namespace from an OCI hook: device-cgroup rules
 * from here, mounts through the native helper (a JVM cannot setns into a mount namespace).
 */
public final class HookApplier {
    private static final long HELPER_TIMEOUT_SECONDS = 60;

    private final Path helper;
    private final Path ldconfig;
    private final Path scratchParent;
    private final CreatedTargets created;

    public HookApplier(Path helper, Path ldconfig, Path scratchParent) {
        this(helper, ldconfig, scratchParent, null);
    }

    /** @param created where the mount points made in the rootfs are recorded for poststop; null: not recorded */
    public HookApplier(Path helper, Path ldconfig, Path scratchParent, CreatedTargets created) {
        this.helper = helper;
        this.ldconfig = ldconfig;
        this.scratchParent = scratchParent;
        this.created = created;
    }

    /**
     * @param expectations a cache hit's files for the helper to re-check first (null: none)
     * @throws StaleEntry when one no longer holds: the helper then changed nothing
     */
    public void apply(Plan plan, ContainerProfile profile, int pid, String containerId, Expectations expectations) {
        if (pid <= 0) {
            throw BypassException.badInput("hook: the container state has no pid; run bypass at the prestart or createRuntime stage");
        }
        requireTrustedExecutable(helper, "the mount helper");
        if (plan.libraryDir() != null) {
            requireTrustedExecutable(ldconfig, "ldconfig");
        }
        // The helper starts on a thread of its own while this one writes the record and the plan:
        // a JVM's first process start initialises the JDK's process machinery (7-10 ms here),
        // and the helper does nothing but wait for its plan on stdin until it has all of it.
        Launch launch = new Launch(helper);
        launch.start();
        boolean handedOver = false;
        Path scratch = null;
        try {
            if (!plan.devices().isEmpty()) {
                DeviceCgroup.allow(pid, plan.devices());
            }
            String conf = null;
            if (plan.libraryDir() != null) {
                Files.createDirectories(scratchParent);
                scratch = Files.createTempDirectory(scratchParent, "bypass-" + safe(containerId) + "-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                Path confFile = scratch.resolve("ld.so.conf");
                Files.writeString(confFile, HelperPlan.ldSoConf(plan, profile));
                Files.setPosixFilePermissions(confFile, PosixFilePermissions.fromString("rw-r--r--"));
                conf = confFile.toString();
            }
            String helperPlan = HelperPlan.render(plan, pid, profile.rootfs(), conf, ldconfig.toString(), expectations);
            // This container's record is written before the helper runs, and what the helper
            // reports it made is added after (whatever its outcome), so that poststop can remove it.
            long t0 = System.nanoTime();
            CreatedTargets.Tracking tracking = created == null ? null : created.begin(containerId, pid, profile.rootfs());
            long t1 = System.nanoTime();
            Process process = launch.await();
            long t2 = System.nanoTime();
            handedOver = true;
            HelperRun run = converse(process, helperPlan);
            long t3 = System.nanoTime();
            if (tracking != null) {
                // Whatever the outcome: after a failure these are what its rollback could not remove.
                tracking.finish(onImage(run.created(), plan));
            }
            if (Boolean.getBoolean("bypass.trace")) {
                System.err.println("bypass: trace: record " + millis(t1 - t0) + " ms, waiting for the helper's start "
                        + millis(t2 - t1) + " ms, its run " + millis(t3 - t2) + " ms, record again " + millis(System.nanoTime() - t3)
                        + " ms");
            }
            if (run.exit() == HELPER_STALE && expectations != null) {
                throw new StaleEntry(stripped(run.lastLine()));
            }
            requireSuccess(run, containerId);
        } catch (IOException e) {
            throw BypassException.internal("cannot prepare the injection for container " + containerId + ": " + e.getMessage(), e);
        } finally {
            if (!handedOver) {
                launch.abandon();   // it never got a plan: it has done nothing
            }
            // The helper's bind mounts hold what they need; nothing of this run stays on the host.
            deleteTree(scratch);
        }
    }

    private static String millis(long nanos) {
        return String.valueOf(nanos / 100_000 / 10.0);
    }

    /**
     * The helper's start on a thread of its own. Until it is handed a plan it only waits on its
     * stdin; {@link #abandon} kills one that never gets one.
     */
    private static final class Launch extends Thread {
        private final Path helper;
        private Process process;
        private IOException failure;
        private RuntimeException crash;

        Launch(Path helper) {
            super("bypass-helper-start");
            setDaemon(true);
            this.helper = helper;
        }

        @Override
        public void run() {
            try {
                process = HookApplier.start(helper);
            } catch (IOException e) {
                failure = e;
            } catch (RuntimeException e) {
                crash = e;
            }
        }

        /** The started helper (join gives this thread what the other wrote). */
        Process await() throws IOException {
            joinUninterruptibly();
            if (failure != null) {
                throw failure;
            }
            if (crash != null) {
                throw crash;
            }
            return process;
        }

        void abandon() {
            joinUninterruptibly();
            if (process != null) {
                process.destroyForcibly();
                try {
                    process.waitFor(HELPER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        private void joinUninterruptibly() {
            boolean interrupted = false;
            while (true) {
                try {
                    join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The JDK's default launch on Linux is posix_spawn of {@code jspawnhelper}, which then execs
     * the helper: two execs per spawn. VFORK execs the helper directly from a vfork'ed child; on
     * this machine class a spawn after the first took 7-9 ms against jspawnhelper's 14-43 ms
     * (JDK 17, medians of 21; FORK, which copies the JVM's page tables, 67-92 ms), and 28 against
     * 61 ms under heavy load (medians of 15 JVMs); strace shows 2 execve instead of 3. JDK 23 and later
     * deprecate VFORK and print a warning on stderr when it is chosen, so it is set only for older
     * JDKs, only when nobody chose a mechanism, and before this JVM's first spawn (the JDK reads
     * the property once, when it first starts a process). The hook spawns nothing before the
     * helper, so this takes effect for it; elsewhere it is harmless.
     */
    static void preferDirectLaunch() {
        if (Runtime.version().feature() < 23 && System.getProperty(LAUNCH_PROPERTY) == null) {
            System.setProperty(LAUNCH_PROPERTY, "VFORK");
        }
    }

    static final String LAUNCH_PROPERTY = "jdk.lang.Process.launchMechanism";

    /**
     * What of the helper's report is on the image's own file system: entries made inside the
     * tmpfs the plan mounts (bypass' directory) go with the container's mount namespace.
     */
    static List<CreatedTargets.Entry> onImage(List<CreatedTargets.Entry> created, Plan plan) {
        if (plan.libraryDir() == null) {
            return created;
        }
        List<CreatedTargets.Entry> out = new ArrayList<>();
        for (CreatedTargets.Entry e : created) {
            if (!e.path().startsWith(HelperPlan.RUN_DIR + "/")) {
                out.add(e);
            }
        }
        return out;
    }

    /** The helper's exit status when a plan's expectations do not all hold (it then did nothing). */
    static final int HELPER_STALE = 17;

    /**
     * Re-checks a decision-cache entry's container files through the helper (a validate-only
     * plan): null when all still hold, else the first difference, or why they could not be
     * checked (either way the caller decides afresh).
     */
    public static String verify(Path helper, Path rootfs, Expectations files) {
        try {
            requireTrustedExecutable(helper, "the mount helper");
            HelperRun r = spawn(helper, HelperPlan.renderExpectations(rootfs.toString(), files));
            if (r.exit() == 0) {
                return null;
            }
            String line = stripped(r.lastLine());
            return r.exit() == HELPER_STALE ? line : "the mount helper could not re-check the files (exit status "
                    + r.exit() + "): " + line;
        } catch (IOException | BypassException e) {
            return "the mount helper could not re-check the files: " + e.getMessage();
        }
    }

    private static String stripped(String helperLine) {
        String prefix = "bypass-mount-helper: ";
        return helperLine.startsWith(prefix) ? helperLine.substring(prefix.length()) : helperLine;
    }

    /**
     * A cache hit's files changed since its entry was written: the helper checked them before
     * anything else and changed nothing, so the caller decides afresh.
     */
    public static final class StaleEntry extends BypassException {
        private static final long serialVersionUID = 1L;

        StaleEntry(String why) {
            super(ExitCodes.INTERNAL, "the decision cache's entry no longer holds: " + why);
        }
    }

    /**
     * How one run of the helper ended: its exit status, the last line of its stderr, and the
     * entries it reported making in the rootfs (its "created" lines on stdout).
     */
    record HelperRun(int exit, String lastLine, List<CreatedTargets.Entry> created) {
    }

    private static void requireSuccess(HelperRun r, String containerId) {
        if (r.exit() != 0) {
            String line = r.lastLine().isEmpty() ? "exit status " + r.exit() : r.lastLine();
            if (r.exit() > 128 || r.lastLine().isEmpty()) {
                // Killed, or died without its one line: it may have left mounts half made in the
                // container's namespace, so the start must fail whatever the site's onError says.
                throw new PartialApply("the mount helper died (exit status " + r.exit() + ") while injecting into container "
                        + containerId + "; the container must not start half-injected");
            }
            throw new BypassException(ExitCodes.INTERNAL, "cannot inject into container " + containerId + ": " + line);
        }
    }

    private static HelperRun spawn(Path helper, String planText) throws IOException {
        return converse(start(helper), planText);
    }

    /**
     * The helper, started with a clean environment; it waits for its plan on stdin. The one the
     * launcher started before this JVM, when there is one ({@link HelperChannel}).
     */
    private static Process start(Path helper) throws IOException {
        Process waiting = HelperChannel.take(helper);
        if (waiting != null) {
            return waiting;
        }
        preferDirectLaunch();
        ProcessBuilder pb = new ProcessBuilder(helper.toString());
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("LC_ALL", "C");
        return pb.start();
    }

    /** Hands a started helper its plan and collects how its run ended. */
    private static HelperRun converse(Process p, String planText) throws IOException {
        try (OutputStream in = p.getOutputStream()) {
            in.write(planText.getBytes(StandardCharsets.UTF_8));
        } catch (IOException brokenPipe) {
            // The helper is gone before reading its plan: its exit status below says how.
        }
        // Its stderr is one line at most, its stdout a line per entry made: both small and
        // written at its exit, so reading one then the other cannot block it.
        String out;
        try (InputStream os = p.getInputStream()) {
            out = new String(os.readNBytes(MAX_HELPER_OUTPUT), StandardCharsets.UTF_8);
        }
        String err;
        try (InputStream es = p.getErrorStream()) {
            err = new String(es.readNBytes(64 * 1024), StandardCharsets.UTF_8).trim();
        }
        boolean done;
        try {
            done = p.waitFor(HELPER_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw BypassException.internal("interrupted while waiting for the mount helper", e);
        }
        if (!done) {
            p.destroyForcibly();
            throw new BypassException(ExitCodes.INTERNAL, "the mount helper did not finish within " + HELPER_TIMEOUT_SECONDS + " s");
        }
        String last = err;
        int nl = err.lastIndexOf('\n');
        if (nl >= 0) {
            last = err.substring(nl + 1);
        }
        List<CreatedTargets.Entry> created = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("created ")) {
                try {
                    created.add(CreatedTargets.parseCreated(line));
                } catch (IllegalArgumentException e) {
                    // Only a defect of the helper gets here; poststop would lose just this entry.
                    System.err.println("bypass: warning: the mount helper's report: " + e.getMessage());
                }
            }
        }
        return new HelperRun(p.exitValue(), last, created);
    }

    /** Bounds what is read of the helper's report (a plan has at most 100,000 lines). */
    private static final int MAX_HELPER_OUTPUT = 16 << 20;

    /** A failure after which the container's mount namespace may hold part of the plan. */
    public static final class PartialApply extends BypassException {
        private static final long serialVersionUID = 1L;

        PartialApply(String message) {
            super(ExitCodes.INTERNAL, message);
        }
    }

    /** The helper and ldconfig run as root: they must be root's, and writable by nobody else. */
    static void requireTrustedExecutable(Path file, String what) {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file)) {
                throw BypassException.badInput(what + " " + file + " does not exist; reinstall bypass");
            }
            Path real = file.toRealPath();
            String problem = io.bypass.util.Ownership.problem(real, false);
            if (problem != null) {
                throw BypassException.badInput(what + " " + real + " " + problem + "; refusing to run it");
            }
            int mode = (Integer) Files.getAttribute(real, "unix:mode");
            if ((mode & 0111) == 0) {
                throw BypassException.badInput(what + " " + real + " is not executable");
            }
        } catch (IOException e) {
            throw BypassException.badInput(what + " " + file + ": " + e.getMessage());
        }
    }

    private static String safe(String id) {
        StringBuilder sb = new StringBuilder();
        for (char c : id.toCharArray()) {
            sb.append(Character.isLetterOrDigit(c) || c == '-' || c == '_' ? c : '_');
            if (sb.length() >= 40) {
                break;
            }
        }
        return sb.toString();
    }

    static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(files.toList());
            java.util.Collections.reverse(all);
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // Best effort: the directory is private (0700) and in a tmpfs.
        }
    }
}
