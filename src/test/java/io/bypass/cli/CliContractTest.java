package io.bypass.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a newcomer meets first: help for every command whatever else is missing, typos, the version, a missing database. */
class CliContractTest {
    @TempDir
    Path tmp;

    static MainTest.Run run(String... args) {
        return MainTest.run(args);
    }

    /** Every command and subcommand, as its words after "bypass" (e.g. ["db", "register"]). */
    static List<List<String>> commands() {
        List<List<String>> out = new ArrayList<>();
        walk(new CommandLine(new Main()), new ArrayList<>(), out);
        return out;
    }

    private static void walk(CommandLine cl, List<String> prefix, List<List<String>> out) {
        cl.getSubcommands().forEach((name, sub) -> {
            List<String> words = new ArrayList<>(prefix);
            words.add(name);
            out.add(words);
            walk(sub, words, out);
        });
    }

    @Test
    void helpWorksForEveryCommandWhateverElseIsMissing() {
        List<List<String>> all = commands();
        assertTrue(all.size() >= 18, "the walk finds the commands: " + all);
        for (List<String> words : all) {
            String usage = "Usage: bypass " + String.join(" ", words);
            for (String flag : List.of("--help", "-h")) {
                List<String> args = new ArrayList<>(words);
                args.add(flag);
                MainTest.Run r = run(args.toArray(String[]::new));
                assertEquals(0, r.code(), args + ": " + r.err());
                assertTrue(r.out().startsWith(usage), args + ": " + r.out());
            }
            List<String> args = new ArrayList<>();
            args.add("help");
            args.addAll(words);
            MainTest.Run r = run(args.toArray(String[]::new));
            assertEquals(0, r.code(), args + ": " + r.err());
            assertTrue(r.out().startsWith(usage), args + ": " + r.out());
        }
        MainTest.Run top = run("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().startsWith("Usage: bypass"), top.out());
        assertTrue(top.out().contains("explain"), "the command list names explain: " + top.out());
    }

    @Test
    void anUnknownCommandGetsASuggestionAndExitTwo() {
        MainTest.Run r = run("chek");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("bypass: unknown command 'chek'; did you mean 'check'?"), r.err());
        r = run("db", "lst");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("bypass: unknown command 'db lst'; did you mean 'db list'?"), r.err());
        r = run("help", "chek");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("did you mean 'check'?"), r.err());
        r = run("zzzzzzzzzz");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("bypass: unknown command 'zzzzzzzzzz' (see: bypass --help)"), r.err());
    }

    @Test
    void versionNamesTheProjectVersionAndTheCommit() {
        MainTest.Run r = run("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().matches("bypass \\d+\\.\\d+\\.\\d+\\S* \\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\)\n"), r.out());
        assertFalse(r.out().contains("unknown"), "the build wrote the version resource: " + r.out());
    }

    @Test
    void readOnlyCommandsAgainstAMissingDatabaseExitTwoAndCreateNothing() throws Exception {
        Path db = tmp.resolve("no-db");
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs"));
        Path descriptor = tmp.resolve("d.json");
        Files.writeString(descriptor, "{\"name\": \"x\", \"kind\": \"generic\", \"libraries\": [\"/lib/x86_64-linux-gnu/libc.so.6\"]}");
        List<String[]> forms = List.of(
                new String[] {"db", "list"}, new String[] {"db", "show", "x"}, new String[] {"db", "verify"},
                new String[] {"db", "remove", "x"}, new String[] {"db", "register", descriptor.toString()},
                new String[] {"check", "--rootfs", rootfs.toString()}, new String[] {"wrap", "apptainer", "--rootfs", rootfs.toString()},
                new String[] {"match", "--rootfs", rootfs.toString()}, new String[] {"fingerprint"},
                new String[] {"cdi", "generate", "--output", tmp.resolve("cdi").toString()});
        for (String[] form : forms) {
            List<String> args = new ArrayList<>(List.of("--db", db.toString()));
            args.addAll(List.of(form));
            MainTest.Run r = run(args.toArray(String[]::new));
            assertEquals(2, r.code(), args + ": " + r.out() + r.err());
            assertEquals("bypass: " + db + ": the database does not exist; create it with packaging/install.sh --db " + db
                    + ", or: bypass --db " + db + " db init\n", r.err(), args.toString());
            assertFalse(Files.exists(db), args + " created the database");
        }
        MainTest.Run init = run("--db", db.toString(), "db", "init");
        assertEquals(0, init.code(), init.err());
        assertEquals("created the database " + db + "\n", init.out());
        MainTest.Run list = run("--db", db.toString(), "db", "list");
        assertEquals("database " + db + ": 0 bundles\n", list.out());
    }
}
