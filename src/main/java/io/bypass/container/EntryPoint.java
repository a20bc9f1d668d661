package io.bypass.container;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the container's entrypoint really runs, read without running anything: an ELF program is
 * itself the target; a script (shebang) or a shell's {@code -c} string is read for the programs it
 * runs by absolute path or through PATH ({@code exec /app/solver}, {@code /app/solver "$@"}), with
 * a literal {@code LD_LIBRARY_PATH=...} set in front of them or exported before; an interpreter
 * (python3, perl, R, julia, ...), or a script whose targets cannot be known (a variable in command
 * position, {@code source}/{@code .}, {@code eval}, {@code module}, {@code conda activate}, a search
 * path built from variables), makes every consumer in the image count.
 */
final class EntryPoint {
    /** Bytes of a script read. */
    static final int MAX_SCRIPT = 64 << 10;
    static final int MAX_DEPTH = 4;

    private static final Pattern INTERPRETER = Pattern.compile(
            "(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|R|Rscript|julia|ruby[0-9.]*|node|nodejs|lua[0-9.]*|luajit|tclsh[0-9.]*"
                    + "|wish[0-9.]*|octave(-cli)?|php[0-9.]*|java|guile[0-9.]*|ipython[0-9]*|jupyter)");
    private static final Pattern SHELL = Pattern.compile("(sh|bash|dash|ash|zsh|ksh|mksh|busybox)");
    private static final Set<String> BUILTINS = Set.of("echo", "printf", "cd", "set", "unset", "test", "[", "[[", "true",
            "false", "exit", "return", "shift", "read", "wait", "trap", "umask", "ulimit", ":", "local", "declare",
            "typeset", "readonly", "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
            "esac", "in", "{", "}", "!", "function", "break", "continue", "getopts", "hash", "type", "alias", "unalias",
            "pwd", "sleep", "mkdir", "rm", "cp", "mv", "ln", "cat", "touch", "chmod", "date", "env-check", "hostname",
            "id", "ls", "uname", "export");
    private static final Set<String> UNKNOWABLE = Set.of("source", ".", "eval", "module", "ml", "conda", "mamba",
            "micromamba", "spack", "activate", "xargs", "nohup", "timeout", "mpirun", "mpiexec", "srun");
    private static final Pattern ASSIGNMENT = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*=.*");

    /** A program the entrypoint runs, with the LD_LIBRARY_PATH it runs under (null: the container's). */
    record Target(String path, String ldLibraryPath, String why) {
    }

    /**
     * The analysis.
     *
     * @param targets    ELF programs to check with their closures
     * @param wholeImage null when the targets are all there is; else why every consumer counts
     * @param notes      what was read on the way (scripts and their interpreters)
     */
    record Result(List<Target> targets, String wholeImage, List<String> notes) {
    }

    private final ContainerRoot root;
    private final Map<String, String> env;
    private final List<Target> targets = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private String wholeImage;

    private EntryPoint(ContainerRoot root, Map<String, String> env) {
        this.root = root;
        this.env = env;
    }

    static Result analyse(ContainerRoot root, List<String> args, Map<String, String> env) {
        EntryPoint e = new EntryPoint(root, env);
        if (args.isEmpty()) {
            e.image("no program was given");
        } else {
            e.command(args, env.get("LD_LIBRARY_PATH"), "the entrypoint", 0);
        }
        return new Result(List.copyOf(e.targets), e.wholeImage, List.copyOf(e.notes));
    }

    private void image(String why) {
        if (wholeImage == null) {
            wholeImage = why;
        }
    }

    /** One command: argv[0] resolved, then what it is. */
    private void command(List<String> argv, String llp, String why, int depth) {
        String name = argv.get(0);
        Optional<String> path = locate(name);
        if (path.isEmpty()) {
            image(name + " (" + why + ") is not found in the container");
            return;
        }
        String p = path.get();
        String base = p.substring(p.lastIndexOf('/') + 1);
        byte[] head = root.read(p, new Head(256)).orElse(new byte[0]);
        boolean elf = head.length >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
        if (elf) {
            if (INTERPRETER.matcher(base).matches()) {
                targets.add(new Target(p, llp, why + ", an interpreter"));
                image(p + " is an interpreter: what it loads is decided by its scripts and modules");
                return;
            }
            if (SHELL.matcher(base).matches()) {
                shellArgs(p, argv, llp, why, depth);
                return;
            }
            if (base.equals("env")) {
                envCommand(argv, llp, why, depth);
                return;
            }
            targets.add(new Target(p, llp, why));
            return;
        }
        if (head.length >= 2 && head[0] == '#' && head[1] == '!') {
            script(p, argv, llp, why, depth);
            return;
        }
        image(p + " (" + why + ") is not an ELF program, nor a script with #!");
    }

    /** {@code env [-i] [VAR=value]... program args}. */
    private void envCommand(List<String> argv, String llp, String why, int depth) {
        int i = 1;
        while (i < argv.size() && (argv.get(i).startsWith("-") || ASSIGNMENT.matcher(argv.get(i)).matches())) {
            String a = argv.get(i);
            if (a.startsWith("LD_LIBRARY_PATH=")) {
                llp = a.substring("LD_LIBRARY_PATH=".length());
            } else if (a.startsWith("-") && !a.equals("-i")) {
                image("env " + a + " (" + why + ") is not understood");
                return;
            }
            i++;
        }
        if (i < argv.size()) {
            command(argv.subList(i, argv.size()), llp, why + " through env", depth + 1);
        }
    }

    private void shellArgs(String shell, List<String> argv, String llp, String why, int depth) {
        int i = 1;
        while (i < argv.size() && argv.get(i).startsWith("-") && !argv.get(i).equals("-c")) {
            i++;
        }
        if (i < argv.size() && argv.get(i).equals("-c")) {
            if (i + 1 >= argv.size()) {
                image(shell + " -c without a command");
                return;
            }
            shellText(argv.get(i + 1), llp, why + ", " + shell + " -c", depth + 1);
        } else if (i < argv.size()) {
            scriptFile(argv.get(i), llp, why + ", run by " + shell, depth + 1);
        } else {
            image(shell + " (" + why + ") reads its commands from stdin");
        }
    }

    private void script(String path, List<String> argv, String llp, String why, int depth) {
        if (depth >= MAX_DEPTH) {
            image("scripts nested deeper than " + MAX_DEPTH);
            return;
        }
        byte[] text = root.read(path, new Head(MAX_SCRIPT)).orElse(new byte[0]);
        String s = new String(text, StandardCharsets.UTF_8);
        int nl = s.indexOf('\n');
        String shebang = (nl < 0 ? s : s.substring(0, nl)).substring(2).trim();
        List<String> interp = new ArrayList<>(List.of(shebang.split("[ \t]+", 2)));
        if (interp.isEmpty() || interp.get(0).isEmpty()) {
            image(path + " has an empty #! line");
            return;
        }
        String ibase = interp.get(0).substring(interp.get(0).lastIndexOf('/') + 1);
        if (ibase.equals("env") && interp.size() > 1) {
            interp = new ArrayList<>(List.of(interp.get(1).split("[ \t]+")));
            ibase = interp.get(0).substring(interp.get(0).lastIndexOf('/') + 1);
        }
        notes.add(path + " is a script for " + interp.get(0));
        if (SHELL.matcher(ibase).matches()) {
            Optional<String> shell = locate(interp.get(0));
            if (shell.isPresent()) {
                targets.add(new Target(shell.get(), llp, "the interpreter of " + path));
            }
            if (text.length >= MAX_SCRIPT) {
                image(path + " is longer than " + (MAX_SCRIPT >> 10) + " KiB");
                return;
            }
            shellText(s.substring(nl < 0 ? s.length() : nl + 1), llp, "run by " + path, depth + 1);
            return;
        }
        List<String> cmd = new ArrayList<>(interp);
        cmd.add(path);
        command(cmd, llp, why + ", the interpreter of " + path, depth + 1);
    }

    private void scriptFile(String path, String llp, String why, int depth) {
        String p = path.startsWith("/") ? path : env.getOrDefault("PWD", "/") + "/" + path;
        byte[] text = root.read(p, new Head(MAX_SCRIPT)).orElse(null);
        if (text == null) {
            image("script " + path + " (" + why + ") is not found in the container");
            return;
        }
        String s = new String(text, StandardCharsets.UTF_8);
        if (s.startsWith("#!")) {
            int nl = s.indexOf('\n');
            s = nl < 0 ? "" : s.substring(nl + 1);
        }
        notes.add(p + " is a shell script");
        shellText(s, llp, why + " " + p, depth);
    }

    /**
     * The commands of shell text. Not a shell parser: enough to find the programs a run script
     * starts, and to notice when it does something whose effect cannot be known.
     */
    private void shellText(String text, String llp, String why, int depth) {
        String current = llp;
        for (String raw : text.split("\n|;|&&|\\|\\||\\|")) {
            String line = raw.strip();
            int hash = line.startsWith("#") ? 0 : line.indexOf(" #");
            if (hash >= 0) {
                line = line.substring(0, hash).strip();
            }
            if (line.isEmpty()) {
                continue;
            }
            if (line.contains("$(") || line.contains("`")) {
                image("a script runs command substitutions (" + shorten(line) + ")");
                return;
            }
            List<String> words = words(line);
            String cmdLlp = current;
            int i = 0;
            boolean exported = false;
            if (!words.isEmpty() && (words.get(0).equals("export") || words.get(0).equals("readonly"))) {
                exported = true;
                i = 1;
            }
            while (i < words.size() && ASSIGNMENT.matcher(words.get(i)).matches()) {
                String w = words.get(i);
                String var = w.substring(0, w.indexOf('='));
                String value = w.substring(w.indexOf('=') + 1);
                if (var.equals("LD_LIBRARY_PATH") || var.equals("PATH") || var.equals("LD_PRELOAD")) {
                    if (value.contains("$")) {
                        if (!var.equals("PATH")) {
                            image("a script sets " + var + " from variables (" + shorten(line) + ")");
                            return;
                        }
                    } else if (var.equals("LD_LIBRARY_PATH")) {
                        cmdLlp = value;
                    } else if (var.equals("LD_PRELOAD")) {
                        image("a script sets LD_PRELOAD (" + shorten(line) + ")");
                        return;
                    }
                }
                i++;
            }
            if (i >= words.size()) {
                current = cmdLlp;   // plain assignments persist for later commands
                continue;
            }
            if (exported) {
                current = cmdLlp;
                continue;
            }
            while (i < words.size() && (words.get(i).equals("exec") || words.get(i).equals("command")
                    || words.get(i).equals("time") || words.get(i).equals("builtin"))) {
                i++;
            }
            if (i >= words.size()) {
                continue;
            }
            String cmd = words.get(i);
            if (cmd.startsWith("$") || cmd.contains("${")) {
                image("a script runs a program named by a variable (" + shorten(line) + ")");
                return;
            }
            if (UNKNOWABLE.contains(cmd)) {
                image("a script runs '" + cmd + "', whose effect on what is loaded cannot be known (" + shorten(line) + ")");
                return;
            }
            if (BUILTINS.contains(cmd) || cmd.startsWith("-") || cmd.equals("then") || cmd.endsWith(")")) {
                continue;
            }
            List<String> argv = new ArrayList<>(words.subList(i, words.size()));
            command(argv, cmdLlp, why, depth + 1);
            if (wholeImage != null) {
                return;
            }
        }
    }

    /** Words of one command line, with simple quotes removed. */
    static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        char quote = 0;
        boolean any = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    w.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                any = true;
            } else if (c == ' ' || c == '\t') {
                if (w.length() > 0 || any) {
                    out.add(w.toString());
                    w.setLength(0);
                    any = false;
                }
            } else if (c == '\\' && i + 1 < line.length()) {
                w.append(line.charAt(++i));
            } else {
                w.append(c);
            }
        }
        if (w.length() > 0 || any) {
            out.add(w.toString());
        }
        return out;
    }

    private Optional<String> locate(String name) {
        if (name.contains("/")) {
            String p = name.startsWith("/") ? name : env.getOrDefault("PWD", "/") + "/" + name;
            return root.isRegularFile(p) ? Optional.of(p) : Optional.empty();
        }
        List<String> dirs = Profiler.splitPath(env.getOrDefault("PATH", Profiler.DEFAULT_PATH));
        root.budget().searchList("PATH", dirs.size());
        for (String dir : dirs) {
            String candidate = (dir.endsWith("/") ? dir : dir + "/") + name;
            if (root.isRegularFile(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static String shorten(String s) {
        return ContainerRoot.shown(s.length() > 80 ? s.substring(0, 77) + "..." : s);
    }

    /** The first bytes of a file; a class, not a lambda: a cold hook links none it can do without (docs/speed.md). */
    private static final class Head implements ContainerRoot.FileFunction<byte[]> {
        private final int length;

        Head(int length) {
            this.length = length;
        }

        @Override
        public byte[] apply(ContainerFile f) throws java.io.IOException {
            return f.readBytes(0, length);
        }
    }
}
