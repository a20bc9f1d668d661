package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "help", description = "Show the help of a command or subcommand, e.g. bypass help db register.")
final class HelpCommand implements Callable<Integer> {
    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "the command and subcommand names")
    List<String> commands = new ArrayList<>();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine target = spec.root().commandLine();
        for (String name : commands) {
            CommandLine sub = target.getSubcommands().get(name);
            if (sub == null) {
                List<String> names = new ArrayList<>(target.getSubcommands().keySet());
                String best = Main.closest(name, names);
                String prefix = target.getCommandSpec().qualifiedName();
                throw BypassException.badInput("unknown command '" + name + "' of " + prefix
                        + (best == null ? "" : "; did you mean '" + best + "'?") + " (see: " + prefix + " --help)");
            }
            target = sub;
        }
        target.usage(spec.commandLine().getOut());
        return ExitCodes.OK;
    }
}
