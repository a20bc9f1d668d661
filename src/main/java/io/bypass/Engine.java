package io.bypass;

import io.bypass.container.ContainerProfile;
import io.bypass.container.ContainerRoot;
import io.bypass.container.ProfileBudget;
import io.bypass.container.Profiler;
import io.bypass.db.BundleEntry;
import io.bypass.db.Database;
import io.bypass.db.RegisteredFile;
import io.bypass.plan.Plan;
import io.bypass.plan.Planner;
import io.bypass.plan.Policy;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** profile → plan, shared by every front end: the database tells the profiler what to look up. */
public final class Engine {

    /** A decision with what it was based on. */
    public record Result(ContainerProfile profile, Plan plan, List<BundleEntry> bundles) {
    }

    private Engine() {
    }

    public static Result decide(Database db, Path rootfs, Map<String, String> annotations, Map<String, String> env,
                                String exec, boolean execMustBeElf, Policy policy) {
        return decide(db, rootfs, annotations, env, exec == null ? List.of() : List.of(exec), execMustBeElf, policy, null);
    }

    /** The same, with every container lookup and read reported to observer (null: none). */
    public static Result decide(Database db, Path rootfs, Map<String, String> annotations, Map<String, String> env,
                                String exec, boolean execMustBeElf, Policy policy, ContainerRoot.Observer observer) {
        return decide(db, rootfs, annotations, env, exec == null ? List.of() : List.of(exec), execMustBeElf, policy,
                observer);
    }

    public static Result decide(Database db, Path rootfs, Map<String, String> annotations, Map<String, String> env,
                                List<String> args, boolean execMustBeElf, Policy policy) {
        return decide(db, rootfs, annotations, env, args, execMustBeElf, policy, null);
    }

    /**
     * @param args     the container's whole command line (process.args): a shell's -c string is read too
     * @param observer every container lookup and read is reported to it (null: none)
     */
    public static Result decide(Database db, Path rootfs, Map<String, String> annotations, Map<String, String> env,
                                List<String> args, boolean execMustBeElf, Policy policy, ContainerRoot.Observer observer) {
        String exec = args.isEmpty() ? null : args.get(0);
        long t0 = System.nanoTime();
        List<BundleEntry> bundles = db.loadAll();
        long t1 = System.nanoTime();
        ContainerProfile profile = Profiler.profile(new Profiler.Request(rootfs, annotations, env, exec, execMustBeElf,
                sonamesOfInterest(bundles), args), ProfileBudget.standard(), observer);
        long t2 = System.nanoTime();
        Plan plan = Planner.plan(profile, bundles, policy);
        if (Boolean.getBoolean("bypass.trace")) {
            System.err.println("bypass: trace: database " + (t1 - t0) / 1_000_000 + " ms, profile " + (t2 - t1) / 1_000_000
                    + " ms, plan " + (System.nanoTime() - t2) / 1_000_000 + " ms");
        }
        return new Result(profile, plan, bundles);
    }

    /** Every soname a bundle provides or needs: the container's copies decide what is injected. */
    static Set<String> sonamesOfInterest(List<BundleEntry> bundles) {
        Set<String> out = new LinkedHashSet<>();
        out.add("libc.so.6");
        for (BundleEntry b : bundles) {
            for (RegisteredFile f : b.files()) {
                out.add(f.soname());
                out.addAll(f.needed());
            }
        }
        return out;
    }
}
