package io.bypass.host;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.Finding;
import io.bypass.container.ContainerProfile;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.plan.NvidiaRequire;
import io.bypass.plan.Plan;
import io.bypass.util.Json;
import io.bypass.util.Versions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How well an image will run on this node, one colour and reason per dimension: green (near
 * bare-metal), orange (runs, not optimally), red (will not run). From an image's annotations
 * alone, or from its rootfs through the planner's decision.
 */
public final class Matcher {
    public static final String ANN_CPU = "org.supercontainers.hardware.cpu.optimized.version";
    public static final String ANN_KERNEL_MIN = "org.supercontainers.host.kernel.version.min";

    public enum Colour {
        GREEN, ORANGE, RED;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public record Dimension(String name, Colour colour, String reason) {
    }

    public record Result(Colour overall, List<Dimension> dimensions) {
        public ObjectNode toJson() {
            ObjectNode o = Json.object();
            o.put("colour", overall.id());
            ArrayNode a = o.putArray("dimensions");
            for (Dimension d : dimensions) {
                a.addObject().put("name", d.name()).put("colour", d.colour().id()).put("reason", d.reason());
            }
            return o;
        }
    }

    private Matcher() {
    }

    /**
     * @param annotations the image's annotations (environment variables such as NVIDIA_REQUIRE_CUDA
     *                    may be given among them)
     * @param plan        the planner's decision for the image's rootfs, or null when only
     *                    annotations are known
     */
    public static Result match(Fingerprint host, Map<String, String> annotations, ContainerProfile profile, Plan plan) {
        List<Dimension> dims = new ArrayList<>();
        dims.add(cpu(host.cpu(), annotations.get(ANN_CPU)));
        dims.add(kernel(host.kernel(), annotations.get(ANN_KERNEL_MIN)));
        if (plan != null) {
            dims.addAll(fromPlan(profile, plan, host));
        } else {
            dims.addAll(fromAnnotations(annotations, host));
        }
        dims.add(cuda(annotations, profile, host));
        Colour overall = Colour.GREEN;
        for (Dimension d : dims) {
            if (d.colour().ordinal() > overall.ordinal()) {
                overall = d.colour();
            }
        }
        return new Result(overall, dims);
    }

    static Dimension cpu(CpuInfo cpu, String wanted) {
        CpuTargets.Target own = CpuTargets.bestFor(cpu);
        if (wanted == null || wanted.isBlank()) {
            return new Dimension("cpu", cpu.x86Level() > 1 ? Colour.ORANGE : Colour.GREEN, "the image declares no CPU "
                    + "optimization (" + ANN_CPU + "): generic code on a " + own.name() + " CPU");
        }
        String name = wanted.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        CpuTargets.Target t = CpuTargets.get(name);
        if (t == null) {
            return new Dimension("cpu", Colour.ORANGE, "unknown CPU target '" + wanted + "' (known: "
                    + String.join(", ", CpuTargets.names()) + ")");
        }
        if (t.vendor() != null && !t.vendor().equals(cpu.vendor()) || !CpuTargets.runs(cpu, t)) {
            List<String> missing = new ArrayList<>(CpuTargets.features(t));
            missing.removeAll(cpu.flags());
            missing.sort(null);
            return new Dimension("cpu", Colour.RED, "built for " + t.name() + "; this " + own.name() + " CPU "
                    + (missing.isEmpty() ? "is another vendor's" : "lacks " + String.join(" ", missing))
                    + ": illegal instruction");
        }
        if (t.name().equals(own.name()) || t.level() >= cpu.x86Level()) {
            return new Dimension("cpu", Colour.GREEN, "built for " + t.name() + ", which this " + own.name() + " CPU runs natively");
        }
        return new Dimension("cpu", Colour.ORANGE, "built for " + t.name() + "; this CPU is a " + own.name()
                + " (x86-64-v" + cpu.x86Level() + "): runs, without its newer instructions");
    }

    static Dimension kernel(String kernel, String min) {
        if (min == null || min.isBlank()) {
            return new Dimension("kernel", Colour.GREEN, "no minimum kernel declared; host " + kernel);
        }
        if (Versions.compare(kernel, min) < 0) {
            return new Dimension("kernel", Colour.RED, "needs kernel " + min + " or newer; host " + kernel);
        }
        return new Dimension("kernel", Colour.GREEN, "host kernel " + kernel + " meets " + min);
    }

    static List<Dimension> fromPlan(ContainerProfile p, Plan plan, Fingerprint host) {
        List<Dimension> out = new ArrayList<>();
        Finding glibc = find(plan, "glibc-too-old");
        out.add(glibc != null ? new Dimension("glibc", Colour.RED, glibc.message())
                : new Dimension("glibc", Colour.GREEN, "container glibc " + p.libc().version() + "; host " + host.glibc()));
        Finding mpiError = null;
        for (String code : List.of("abi-major-mismatch", "abi-minor-mismatch", "missing-symbols", "mpi-family-mismatch", "abi-unknown", "mpi-fortran-abi")) {
            mpiError = mpiError != null ? mpiError : find(plan, code);
        }
        if (p.mpi() == null) {
            out.add(new Dimension("mpi", Colour.GREEN, "the image has no MPI"));
        } else if (mpiError != null) {
            out.add(new Dimension("mpi", Colour.RED, mpiError.message()));
        } else if (plan.bundles().stream().anyMatch(n -> bundleKind(host, n) == BundleKind.MPI)) {
            Finding older = find(plan, "abi-minor-older");
            out.add(new Dimension("mpi", Colour.GREEN, "the site's MPI replaces the image's " + p.mpi().mainSoname()
                    + (older != null ? " (host minor older, every imported symbol present)" : "")));
        } else {
            out.add(new Dimension("mpi", Colour.ORANGE, "the image's " + p.mpi().family() + " " + p.mpi().mainSoname()
                    + " has no site bundle: it runs on its own MPI, not the site's"));
        }
        Finding fabric = find(plan, "fabric-too-old");
        if (fabric != null) {
            out.add(new Dimension("libfabric", Colour.RED, fabric.message()));
        } else if (p.libfabric() != null) {
            boolean site = plan.bundles().stream().anyMatch(n -> bundleKind(host, n) == BundleKind.LIBFABRIC);
            out.add(new Dimension("libfabric", site ? Colour.GREEN : Colour.ORANGE, site ? "the site's libfabric replaces the image's"
                    : "the image's libfabric has no site bundle: its providers may not reach the fabric"));
        } else {
            out.add(new Dimension("libfabric", Colour.GREEN, "the image has no libfabric"));
        }
        if (plan.refused() && glibc == null && mpiError == null && fabric == null && find(plan, "cuda-requirement") == null) {
            Finding f = plan.firstError();
            out.add(new Dimension("bundles", Colour.RED, f.message()));
        }
        return out;
    }

    static List<Dimension> fromAnnotations(Map<String, String> ann, Fingerprint host) {
        List<Dimension> out = new ArrayList<>();
        String glibc = ann.get("org.supercontainers.glibc.version");
        String needed = null;
        for (BundleEntry b : host.bundles()) {
            needed = Versions.max(needed, b.property("glibc.required"));
        }
        if (glibc == null) {
            out.add(new Dimension("glibc", Colour.ORANGE, "the image declares no glibc version; check its rootfs (match --rootfs)"));
        } else if (needed != null && Versions.compare(glibc, needed) < 0) {
            out.add(new Dimension("glibc", Colour.RED, "image glibc " + glibc + " is older than the " + needed
                    + " the site's bundles need"));
        } else {
            out.add(new Dimension("glibc", Colour.GREEN, "image glibc " + glibc + (needed == null ? "" : " meets " + needed)));
        }
        String mpi = ann.getOrDefault("org.supercontainers.mpi.implementation", ann.get("org.supercontainers.mpi.provider"));
        if (mpi == null) {
            out.add(new Dimension("mpi", Colour.GREEN, "the image declares no MPI"));
        } else {
            String family = io.bypass.container.Profiler.mpiFamilyOfAnnotation(mpi);
            boolean site = host.bundles().stream().anyMatch(b -> b.kind() == BundleKind.MPI && family != null
                    && family.equals(b.property("mpi.family")));
            out.add(new Dimension("mpi", site ? Colour.GREEN : Colour.ORANGE, site ? "the site has a " + family + " MPI bundle"
                    : "no site MPI bundle for " + mpi + ": it runs on its own MPI"));
        }
        String fabric = ann.getOrDefault("org.supercontainers.libfabric.abi.version", ann.get("org.supercontainers.libfabric.abi"));
        String hostFabric = null;
        for (BundleEntry b : host.bundles()) {
            if (b.kind() == BundleKind.LIBFABRIC) {
                for (var f : b.libraries()) {
                    hostFabric = Versions.max(hostFabric, Versions.highest(f.versionDefinitions(), "FABRIC_"));
                }
            }
        }
        if (fabric == null) {
            out.add(new Dimension("libfabric", Colour.GREEN, "the image declares no libfabric ABI"));
        } else if (hostFabric == null) {
            out.add(new Dimension("libfabric", Colour.ORANGE, "the image uses libfabric " + fabric + "; the site registers none"));
        } else if (Versions.compare(fabric, hostFabric) > 0) {
            out.add(new Dimension("libfabric", Colour.RED, "the image needs FABRIC_" + fabric + "; the host's libfabric defines up to FABRIC_"
                    + hostFabric));
        } else {
            out.add(new Dimension("libfabric", Colour.GREEN, "FABRIC_" + fabric + " is defined by the host's libfabric"));
        }
        return out;
    }

    static Dimension cuda(Map<String, String> ann, ContainerProfile p, Fingerprint host) {
        Map<String, String> env = new java.util.HashMap<>(ann);
        if (p != null) {
            env.putAll(p.env());
        }
        if (NvidiaRequire.variables(env).isEmpty() || "void".equals(env.get("NVIDIA_VISIBLE_DEVICES"))) {
            return new Dimension("cuda", Colour.GREEN, "the image states no CUDA requirement");
        }
        BundleEntry driver = host.bundles().stream().filter(b -> b.kind() == BundleKind.CUDA).findFirst().orElse(null);
        if (driver == null) {
            return new Dimension("cuda", Colour.RED, "the image needs CUDA; the site registers no NVIDIA driver bundle");
        }
        try {
            NvidiaRequire.Result r = NvidiaRequire.check(env, new NvidiaRequire.Host(driver.property("cuda.version"),
                    driver.property("cuda.driver"), driver.property("cuda.brand"), driver.property("cuda.arch")));
            return r.satisfied() ? new Dimension("cuda", Colour.GREEN, "driver " + driver.property("cuda.driver") + " (CUDA "
                    + driver.property("cuda.version") + ") meets the image's requirements")
                    : new Dimension("cuda", Colour.RED, r.message());
        } catch (BypassException e) {
            return new Dimension("cuda", Colour.RED, e.getMessage());
        }
    }

    private static Finding find(Plan plan, String code) {
        for (Finding f : plan.findings()) {
            if (f.code().equals(code)) {
                return f;
            }
        }
        return null;
    }

    private static BundleKind bundleKind(Fingerprint host, String name) {
        for (BundleEntry b : host.bundles()) {
            if (b.name().equals(name)) {
                return b.kind();
            }
        }
        return null;
    }
}
