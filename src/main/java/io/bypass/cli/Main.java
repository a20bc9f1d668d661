package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.db.Database;
import io.bypass.front.Site;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;

/** The `bypass` command line: global options here, one class per command. */
@Command(name = "bypass", versionProvider = Main.Version.class,
        description = "Checks and injects host MPI, libfabric, CUDA and glibc libraries into containers.",
        subcommands = {DbCommand.class, CheckCommand.class, HookCommand.class, PrecreateCommand.class,
                PatchBundleCommand.class, CdiCommand.class, WrapCommand.class, FingerprintCommand.class, MatchCommand.class,
                InspectCommand.class, ExplainCommand.class, RefuseCommand.class,
                HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success, including nothing to do", "1:internal error", "2:bad usage or bad input",
                "3:refused as incompatible"})
public final class Main implements Callable<Integer> {

    @Option(names = "--db", scope = ScopeType.INHERIT, paramLabel = "DIR",
            description = "the site database (default: $BYPASS_DB, else the install's, else " + Database.DEFAULT_DIR
                    + "; a hook ignores $BYPASS_DB)")
    Path db;

    @Option(names = "--config", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "the site configuration (default: $BYPASS_CONFIG, else the install's, else "
                    + "/etc/bypass/config.json; a hook ignores $BYPASS_CONFIG)")
    Path config;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "machine-readable output")
    boolean json;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "log what bypass does, on stderr")
    boolean debug;

    // Inherited, so that `bypass CMD --help` and `-h` answer for every command and subcommand
    // before any required option or parameter is looked at.
    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT, description = "show this help and exit")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "print the version and the commit, and exit")
    boolean version;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        Integer fast = FastHook.tryRun(args, err);
        System.exit(fast != null ? fast : run(args, out, err));
    }

    /** The command line with bypass' error handling, writing to the given writers. */
    static CommandLine commandLine(Main main, PrintWriter out, PrintWriter err) {
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
            String unknown = unknownCommand(ex);
            if (unknown != null) {
                c.getErr().println("bypass: " + unknown);
            } else {
                c.getErr().println("bypass: " + ex.getMessage() + " (see: " + c.getCommandSpec().qualifiedName() + " --help)");
            }
            return ExitCodes.BAD_INPUT;
        });
        return cl;
    }

    /** Runs the CLI with the given writers; tests capture output this way. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        int code = commandLine(new Main(), out, err).execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /**
     * "unknown command 'chek'; did you mean 'check'?" when the first unmatched word stands where a
     * command of a command with subcommands goes; null for other parameter errors.
     */
    static String unknownCommand(CommandLine.ParameterException ex) {
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u) || u.isUnknownOption()) {
            return null;
        }
        CommandLine c = ex.getCommandLine();
        List<String> unmatched = u.getUnmatched();
        if (c.getSubcommands().isEmpty() || unmatched.isEmpty() || unmatched.get(0).startsWith("-")
                || !c.getCommandSpec().positionalParameters().isEmpty()) {
            return null;
        }
        String word = unmatched.get(0);
        List<String> names = new ArrayList<>();
        c.getSubcommands().forEach((name, sub) -> {
            if (!sub.getCommandSpec().usageMessage().hidden()) {
                names.add(name);
            }
        });
        String prefix = c.getCommandSpec().qualifiedName().replaceFirst("^bypass ?", "");
        String qualified = prefix.isEmpty() ? word : prefix + " " + word;
        String best = closest(word, names);
        return "unknown command '" + qualified + "'" + (best == null ? "" : "; did you mean '" + (prefix.isEmpty() ? best
                : prefix + " " + best) + "'?") + " (see: " + c.getCommandSpec().qualifiedName() + " --help)";
    }

    /** The name at the smallest edit distance, if it is close enough to be what was meant (or a prefix). */
    static String closest(String word, List<String> names) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String n : names) {
            int d = n.startsWith(word) ? 0 : editDistance(word, n);
            if (d < bestDistance) {
                best = n;
                bestDistance = d;
            }
        }
        return bestDistance <= Math.max(2, word.length() / 3) ? best : null;
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return ExitCodes.OK;
    }

    /** The database an admin command uses: --db, then $BYPASS_DB, then the install's, then the default. */
    public Database database() {
        return Site.databaseFor(db, true);
    }

    /** The database of a command that only reads it: exit 2, naming it, when it does not exist. */
    Database existingDatabase() {
        Database d = database();
        d.requireExists();
        return d;
    }

    /** The site of an admin command (check, wrap, match, patch-bundle). */
    Site site() {
        return Site.load(database(), configFile());
    }

    public Path configFile() {
        return Site.configFileFor(config, true);
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

    /** The version and commit written at build time (packaging/version.sh, into io/bypass/version.properties). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {line()};
        }

        static String line() {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/io/bypass/version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                // Reported as unknown below.
            }
            return "bypass " + p.getProperty("version", "unknown") + " (commit " + p.getProperty("commit", "unknown") + ")";
        }
    }
}
