package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.front.Site;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Set;

/**
 * The `hook` command without picocli: a runtime starts a hook for every container, and building
 * picocli's command model costs more than everything else a hook with nothing to do does. It takes
 * a strict subset of picocli's grammar for `bypass [--db D] [--config F] [--debug] hook [--state F]
 * [--stage S]` (each option at most once, {@code --opt=value} or {@code --opt value}, the global
 * options on either side of `hook`); anything else (help, a typo, a repeat) goes to picocli, which
 * gives the usual messages. FastHookParityTest runs a table of argv forms through both parsers.
 */
final class FastHook {
    /** The options of a plain hook invocation; null fields were not given. */
    record Args(Path db, Path config, Path state, String stage, boolean debug) {
    }

    private static final Set<String> COMMANDS = Set.of("db", "check", "hook", "precreate", "patch-bundle", "cdi", "wrap",
            "fingerprint", "match", "inspect", "explain", "refuse", "help");

    private FastHook() {
    }

    /** The exit code, or null when these arguments are not a plain hook invocation. */
    static Integer tryRun(String[] args, PrintWriter err) {
        Args a = parse(args);
        if (a == null) {
            return null;
        }
        try {
            // A hook: the database and configuration come from the options and the install only.
            int code = HookCommand.run(Site.databaseFor(a.db(), false), Site.configFileFor(a.config(), false), a.state(),
                    a.stage(), System.in, err);
            err.flush();
            return code;
        } catch (BypassException e) {
            err.println("bypass: " + e.getMessage());
            if (a.debug() && e.getCause() != null) {
                e.getCause().printStackTrace(err);
            }
            err.flush();
            return e.exitCode();
        } catch (RuntimeException | Error e) {
            err.println("bypass: internal error: " + e);
            if (a.debug()) {
                e.printStackTrace(err);
            }
            err.flush();
            return ExitCodes.INTERNAL;
        }
    }

    /** The parsed options, or null when picocli must handle these arguments. */
    static Args parse(String[] args) {
        String db = null;
        String config = null;
        String state = null;
        String stage = null;
        boolean hook = false;
        boolean debug = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("hook")) {
                if (hook) {
                    return null;
                }
                hook = true;
                continue;
            }
            if (a.equals("--debug")) {
                if (debug) {
                    return null;
                }
                debug = true;
                continue;
            }
            int eq = a.indexOf('=');
            String name = eq > 0 ? a.substring(0, eq) : a;
            String value;
            if (eq > 0) {
                value = a.substring(eq + 1);
            } else {
                if (i + 1 >= args.length) {
                    return null;
                }
                value = args[++i];
                // picocli takes neither an option nor a command name as a separate option value.
                if (value.startsWith("-") || COMMANDS.contains(value)) {
                    return null;
                }
            }
            if (value.isEmpty()) {
                return null;
            }
            switch (name) {
                case "--db" -> {
                    if (db != null) {
                        return null;
                    }
                    db = value;
                }
                case "--config" -> {
                    if (config != null) {
                        return null;
                    }
                    config = value;
                }
                case "--state" -> {
                    if (!hook || state != null) {
                        return null;
                    }
                    state = value;
                }
                case "--stage" -> {
                    if (!hook || stage != null) {
                        return null;
                    }
                    stage = value;
                }
                default -> {
                    return null;
                }
            }
        }
        if (!hook) {
            return null;
        }
        return new Args(db == null ? null : Path.of(db), config == null ? null : Path.of(config),
                state == null ? null : Path.of(state), stage, debug);
    }
}
