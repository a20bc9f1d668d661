package io.bypass.cli;

import io.bypass.ExitCodes;
import io.bypass.front.Decision;
import io.bypass.front.Front;
import io.bypass.front.Mode;
import io.bypass.front.Request;
import io.bypass.apply.WrapperSyntax;
import io.bypass.plan.Plan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "wrap", description = "Check a rootfs like `check`, then print the plan in an HPC runtime's syntax: "
        + "apptainer (APPTAINER_BIND and APPTAINERENV_* lines to eval), charliecloud (ch-run arguments, one per line), "
        + "shifter (udiRoot.conf module lines). Exit 3 with the reason when refused; nothing is printed then.")
final class WrapCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUNTIME", description = "apptainer, charliecloud or shifter")
    String runtime;

    @Option(names = "--rootfs", required = true, paramLabel = "DIR", description = "the container's root file system")
    Path rootfs;

    @Option(names = "--annotation", paramLabel = "KEY=VALUE", description = "an OCI annotation of the container (repeatable)")
    Map<String, String> annotations = new LinkedHashMap<>();

    @Option(names = "--env", paramLabel = "KEY=VALUE", description = "the container's environment (repeatable)")
    Map<String, String> env = new LinkedHashMap<>();

    @Option(names = "--exec", paramLabel = "PATH", description = "the program the container runs (its imports are checked)")
    String exec;

    @Option(names = "--module", paramLabel = "NAME", description = "the Shifter module name (default: bypass)")
    String module = "bypass";

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (!runtime.equals("apptainer") && !runtime.equals("charliecloud") && !runtime.equals("shifter")) {
            throw io.bypass.BypassException.badInput("wrap: unknown runtime '" + runtime + "' (apptainer, charliecloud, shifter)");
        }
        // A wrapped command may be a script: its imports are then not checked (a finding says so).
        Decision d = Front.decide(Main.of(spec).site(), Request.ofRootfs(Mode.WRAP, rootfs, annotations, env, exec));
        Plan plan = d.plan();
        PrintWriter out = spec.commandLine().getOut();
        if (d.refused()) {
            spec.commandLine().getErr().println(d.refusalLine());
            return ExitCodes.REFUSED;
        }
        switch (runtime) {
            case "apptainer" -> out.print(WrapperSyntax.apptainer(plan));
            case "charliecloud" -> WrapperSyntax.charliecloudArgs(plan).forEach(out::println);
            default -> out.print(WrapperSyntax.shifter(plan, module));
        }
        return ExitCodes.OK;
    }
}
