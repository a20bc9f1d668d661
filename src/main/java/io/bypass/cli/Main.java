package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.db.Database;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** The `bypass` command line: global options here, one class per command. */
@Command(name = "bypass", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Checks and injects host MPI, libfabric, CUDA and glibc libraries into containers.",
        subcommands = {DbCommand.class, CheckCommand.class, HookCommand.class, PrecreateCommand.class,
                PatchBundleCommand.class, CdiCommand.class, WrapCommand.class, FingerprintCommand.class, MatchCommand.class,
                InspectCommand.class, RefuseCommand.class, TrainCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success, including nothing to do", "1:internal error", "2:bad usage or bad input",
                "3:refused as incompatible"})
public final class Main implements Callable<Integer> {

    @Option(names = "--db", scope = ScopeType.INHERIT, paramLabel = "DIR",
            description = "the site database (default: $BYPASS_DB or " + Database.DEFAULT_DIR + ")")
    Path db;

    @Option(names = "--config", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "the site configuration (default: $BYPASS_CONFIG or /etc/bypass/config.json)")
    Path config;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "machine-readable output")
    boolean json;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "log what bypass does, on stderr")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        Integer fast = FastHook.tryRun(args, err);
        System.exit(fast != null ? fast : run(args, out, err));
    }

    /** Runs the CLI with the given writers; tests capture output this way. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof BypassException be) {
                commandLine.getErr().println("bypass: " + be.getMessage());
                if (main.debug && be.getCause() != null) {
                    be.getCause().printStackTrace(commandLine.getErr());
                }
                return be.exitCode();
            }
            commandLine.getErr().println("bypass: internal error: " + ex);
            if (main.debug) {
                ex.printStackTrace(commandLine.getErr());
            }
            return ExitCodes.INTERNAL;
        });
        cl.setParameterExceptionHandler((ex, args1) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("bypass: " + ex.getMessage() + " (see: " + c.getCommandSpec().qualifiedName() + " --help)");
            return ExitCodes.BAD_INPUT;
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return ExitCodes.OK;
    }

    /** The database chosen by --db, then $BYPASS_DB, then the default. */
    public Database database() {
        return databaseAt(db);
    }

    static Database databaseAt(Path option) {
        if (option != null) {
            return new Database(option);
        }
        String env = System.getenv("BYPASS_DB");
        return new Database(Path.of(env != null && !env.isEmpty() ? env : Database.DEFAULT_DIR));
    }

    public Path configFile() {
        return config;
    }

    public boolean json() {
        return json;
    }

    public boolean debug() {
        return debug;
    }

    static Main of(CommandLine.Model.CommandSpec spec) {
        return (Main) spec.root().userObject();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"bypass " + (v == null ? "development build" : v)};
        }
    }
}
