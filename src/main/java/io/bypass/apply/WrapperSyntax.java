package io.bypass.apply;

import io.bypass.plan.Plan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A plan in the syntax of the HPC runtimes that bind files and set the environment themselves.
 * Apptainer and Shifter are not installable here: their forms follow their documentation
 * (Apptainer's --bind src:dst:ro / APPTAINER_BIND and APPTAINERENV_*; Shifter's udiRoot.conf
 * module_NAME_siteFs, _siteEnv, _siteEnvPrepend), and golden files pin them.
 */
public final class WrapperSyntax {
    private WrapperSyntax() {
    }

    /** Shell lines for Apptainer / Singularity: eval them, then run apptainer exec. */
    public static String apptainer(Plan plan) {
        List<String> binds = new ArrayList<>();
        for (Plan.Mount m : plan.mounts()) {
            binds.add(m.source() + ":" + m.target() + (m.readOnly() ? ":ro" : ":rw"));
        }
        StringBuilder sb = new StringBuilder();
        sb.append("export APPTAINER_BIND=").append(shellQuote(String.join(",", binds))).append('\n');
        for (Map.Entry<String, String> e : env(plan).entrySet()) {
            sb.append("export APPTAINERENV_").append(e.getKey()).append('=').append(shellQuote(e.getValue())).append('\n');
        }
        for (Plan.Device d : plan.devices()) {
            sb.append("# device ").append(d.target()).append(": bind it too (--bind ").append(d.host().path()).append(':')
                    .append(d.target()).append(")\n");
        }
        return sb.toString();
    }

    /** The arguments of ch-run (Charliecloud), one per line: -b SRC:DST and --set-env=K=V. */
    public static List<String> charliecloudArgs(Plan plan) {
        List<String> args = new ArrayList<>();
        for (Plan.Mount m : plan.mounts()) {
            args.add("-b");
            args.add(m.source() + ":" + m.target());
        }
        for (Plan.Device d : plan.devices()) {
            args.add("-b");
            args.add(d.host().path() + ":" + d.target());
        }
        for (Map.Entry<String, String> e : env(plan).entrySet()) {
            args.add("--set-env=" + e.getKey() + "=" + e.getValue());
        }
        return args;
    }

    /** udiRoot.conf lines defining a Shifter module that applies the plan. */
    public static String shifter(Plan plan, String module) {
        StringBuilder sb = new StringBuilder();
        List<String> fs = new ArrayList<>();
        for (Plan.Mount m : plan.mounts()) {
            fs.add(m.source() + ":" + m.target() + (m.readOnly() ? ":ro" : ""));
        }
        for (Plan.Device d : plan.devices()) {
            fs.add(d.host().path() + ":" + d.target());
        }
        sb.append("module_").append(module).append("_siteFs = ").append(String.join(";", fs)).append('\n');
        List<String> prepend = new ArrayList<>();
        List<String> set = new ArrayList<>();
        for (Plan.EnvEdit e : plan.env()) {
            (e.action() == Plan.EnvEdit.Action.PREPEND ? prepend : set).add(e.name() + "=" + e.value());
        }
        if (!prepend.isEmpty()) {
            sb.append("module_").append(module).append("_siteEnvPrepend = ").append(String.join(" ", prepend)).append('\n');
        }
        if (!set.isEmpty()) {
            sb.append("module_").append(module).append("_siteEnv = ").append(String.join(" ", set)).append('\n');
        }
        return sb.toString();
    }

    /** The final values to set; a PREPEND has nothing to prepend to from outside the container. */
    private static Map<String, String> env(Plan plan) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Plan.EnvEdit e : plan.env()) {
            out.put(e.name(), e.value());
        }
        return out;
    }

    static String shellQuote(String s) {
        return "'" + s.replace("'", "'\"'\"'") + "'";
    }
}
