package io.bypass.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.Engine;
import io.bypass.Finding;
import io.bypass.container.ContainerProfile;
import io.bypass.plan.Plan;
import io.bypass.util.Json;

import java.io.PrintWriter;
import java.util.Locale;

/** The readable and JSON forms of a decision, shared by the commands that print one. */
final class Report {
    private Report() {
    }

    static void printText(PrintWriter out, Engine.Result r) {
        Plan plan = r.plan();
        ContainerProfile p = r.profile();
        out.println("verdict: " + plan.verdict().id() + (plan.bundles().isEmpty() ? "" : " (" + String.join(", ", plan.bundles()) + ")"));
        out.println("container: " + describe(p));
        if (!plan.findings().isEmpty()) {
            out.println("findings:");
            for (Finding f : plan.findings()) {
                out.println("  " + f.severity().id().toUpperCase(Locale.ROOT) + " " + f.code() + ": " + f.message());
                if (f.hint() != null) {
                    out.println("      what to do: " + f.hint());
                }
            }
        }
        printConsumers(out, p);
        if (plan.verdict() == Plan.Verdict.NONE) {
            out.println("nothing to inject");
            return;
        }
        if (plan.refused()) {
            out.println("refused: the container must not start with these bundles");
            return;
        }
        out.println("mounts (read-only, nosuid, nodev):");
        for (Plan.Mount m : plan.mounts()) {
            out.println("  " + m.source() + " -> " + m.target() + "  [" + m.kind().name().toLowerCase(Locale.ROOT) + "]");
        }
        if (!plan.devices().isEmpty()) {
            out.println("devices:");
            for (Plan.Device d : plan.devices()) {
                out.println("  " + d.target() + " (" + d.host().type() + " " + d.host().major() + ":" + d.host().minor() + ")");
            }
        }
        if (!plan.env().isEmpty()) {
            out.println("environment:");
            for (Plan.EnvEdit e : plan.env()) {
                out.println("  " + e.name() + "=" + e.value() + (e.action() == Plan.EnvEdit.Action.PREPEND ? ":$" + e.name() : ""));
            }
        }
        if (plan.libraryDir() != null) {
            out.println("loader: " + plan.libraryDir() + " is added to the container's library search path");
        }
    }

    static String describe(ContainerProfile p) {
        StringBuilder sb = new StringBuilder(p.rootfs());
        sb.append(" (").append(p.libc().implementation());
        if (p.libc().version() != null) {
            sb.append(' ').append(p.libc().version());
        }
        if (p.mpi() != null) {
            sb.append(", ").append(p.mpi().family()).append(' ').append(p.mpi().mainSoname());
            if (!p.mpi().libtoolVersion().isEmpty()) {
                sb.append(" (").append(p.mpi().libtoolVersion()).append(')');
            }
        } else {
            sb.append(", no MPI");
        }
        if (p.libfabric() != null) {
            sb.append(", libfabric");
        }
        if (p.exec() != null) {
            sb.append(", program ").append(p.exec().canonicalPath());
        }
        return sb.append(')').toString();
    }

    static ObjectNode profileJson(ContainerProfile p) {
        ObjectNode o = Json.object();
        o.put("rootfs", p.rootfs());
        o.put("machine", p.machine());
        ObjectNode libc = o.putObject("libc");
        libc.put("implementation", p.libc().implementation());
        libc.put("version", p.libc().version());
        libc.put("path", p.libc().path());
        o.put("ldCache", p.hasLdCache());
        if (p.mpi() != null) {
            ObjectNode m = o.putObject("mpi");
            m.put("family", p.mpi().family());
            m.put("soname", p.mpi().mainSoname());
            m.put("libtoolVersion", p.mpi().libtoolVersion());
            ObjectNode libs = m.putObject("libraries");
            p.mpi().libraries().forEach((k, v) -> libs.put(k, v.realPath()));
        }
        if (p.libfabric() != null) {
            ObjectNode f = o.putObject("libfabric");
            f.put("path", p.libfabric().library().realPath());
            f.set("versions", Json.array(p.libfabric().versions()));
        }
        if (p.exec() != null) {
            ObjectNode e = o.putObject("exec");
            e.put("path", p.exec().path());
            e.put("resolved", p.exec().canonicalPath());
            e.set("loaded", Json.array(p.exec().loaded()));
            e.put("imports", p.exec().imports().size());
        }
        ObjectNode c = o.putObject("consumers");
        c.put("scope", p.consumerScope());
        var checked = c.putArray("checked");
        for (ContainerProfile.Consumer consumer : p.consumers()) {
            ObjectNode one = checked.addObject();
            one.put("path", consumer.path());
            one.put("why", consumer.why());
            one.put("bindNow", consumer.bindNow());
            one.set("needs", Json.array(consumer.needed()));
        }
        ObjectNode copies = c.putObject("copies");
        p.providers().forEach((soname, paths) -> copies.set(soname, Json.array(paths)));
        return o;
    }

    /** The consumers a decision was checked against, one line each, for the text report. */
    static void printConsumers(java.io.PrintWriter out, ContainerProfile p) {
        if (p.consumers().isEmpty()) {
            return;
        }
        out.println("consumers checked (" + p.consumerScope() + "):");
        for (ContainerProfile.Consumer c : p.consumers()) {
            out.println("  " + c.path() + (c.why().isEmpty() ? "" : "  [" + c.why() + "]")
                    + (c.bindNow() ? " (bound at load)" : ""));
        }
    }
}
