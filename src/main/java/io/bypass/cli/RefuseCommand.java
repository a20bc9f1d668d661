package io.bypass.cli;

import io.bypass.ExitCodes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "refuse", hidden = true, description = "The hook precreate and patch-bundle add to a refused container: "
        + "prints the reason and fails the start (exit 3).")
final class RefuseCommand implements Callable<Integer> {
    @Option(names = "--code", paramLabel = "CODE")
    String code;

    @Parameters(paramLabel = "MESSAGE")
    List<String> message = List.of();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println(io.bypass.Finding.refusalLine(String.join(" ", message), code));
        return ExitCodes.REFUSED;
    }
}
