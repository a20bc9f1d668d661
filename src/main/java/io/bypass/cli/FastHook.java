package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * The `hook` command without picocli: a runtime starts a hook for every container, and building
 * picocli's command model costs more than everything else a hook with nothing to do does. Only the
 * exact forms a hooks.d file or a bundle uses are taken here; anything else (help, a typo) goes to
 * picocli, which gives the usual messages.
 */
final class FastHook {
    private FastHook() {
    }

    /** The exit code, or null when these arguments are not a plain hook invocation. */
    static Integer tryRun(String[] args, PrintWriter err) {
        Path db = null;
        Path config = null;
        Path state = null;
        String stage = null;
        boolean hook = false;
        boolean debug = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "hook" -> {
                    if (hook) {
                        return null;
                    }
                    hook = true;
                }
                case "--db" -> {
                    if (++i >= args.length) {
                        return null;
                    }
                    db = Path.of(args[i]);
                }
                case "--config" -> {
                    if (++i >= args.length) {
                        return null;
                    }
                    config = Path.of(args[i]);
                }
                case "--state" -> {
                    if (!hook || ++i >= args.length) {
                        return null;
                    }
                    state = Path.of(args[i]);
                }
                case "--stage" -> {
                    if (!hook || ++i >= args.length) {
                        return null;
                    }
                    stage = args[i];
                }
                case "--debug" -> debug = true;
                default -> {
                    if (a.startsWith("--db=")) {
                        db = Path.of(a.substring(5));
                    } else {
                        return null;
                    }
                }
            }
        }
        if (!hook) {
            return null;
        }
        try {
            int code = HookCommand.run(Main.databaseAt(db), config, state, stage, System.in, err);
            err.flush();
            return code;
        } catch (BypassException e) {
            err.println("bypass: " + e.getMessage());
            if (debug && e.getCause() != null) {
                e.getCause().printStackTrace(err);
            }
            err.flush();
            return e.exitCode();
        } catch (RuntimeException | Error e) {
            err.println("bypass: internal error: " + e);
            if (debug) {
                e.printStackTrace(err);
            }
            err.flush();
            return ExitCodes.INTERNAL;
        }
    }
}
