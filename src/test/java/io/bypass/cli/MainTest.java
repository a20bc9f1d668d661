package io.bypass.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void usageErrorsAreExitTwoWithOneLine() {
        Run r = run("check");
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--rootfs"), r.err());
        assertEquals(2, run("no-such-command").code());
    }

    @Test
    void globalOptionsBeforeOrAfterTheCommand() {
        Run before = run("--db", tmp.toString(), "--json", "db", "list");
        Run after = run("db", "list", "--db", tmp.toString(), "--json");
        assertEquals(0, before.code());
        assertEquals("{\n  \"database\" : \"" + tmp + "\",\n  \"bundles\" : [ ]\n}\n", before.out());
        assertEquals(before, after);
    }

    @Test
    void missingRootfsIsBadInput() {
        Run r = run("--db", tmp.toString(), "check", "--rootfs", tmp.resolve("nope").toString());
        assertEquals(2, r.code());
        assertEquals("bypass: " + tmp.resolve("nope") + ": rootfs directory does not exist\n", r.err());
    }

    @Test
    void inspectOfANonElfFile() throws Exception {
        Path f = tmp.resolve("text");
        java.nio.file.Files.writeString(f, "hello, not ELF");
        Run r = run("inspect", f.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("not an ELF file"), r.err());
    }

    /** The runtime's state carries the config's annotations: an opted-out hook needs no config.json at all. */
    @Test
    void aContainerOptedOutInTheStateCostsNoConfigRead() throws Exception {
        Path bundle = java.nio.file.Files.createDirectories(tmp.resolve("bundle"));   // no config.json in it
        Path state = tmp.resolve("state.json");
        java.nio.file.Files.writeString(state, "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":1,"
                + "\"bundle\":\"" + bundle + "\",\"annotations\":{\"org.supercontainers.bypass.enabled\":\"false\"}}");
        java.nio.file.Files.createDirectories(tmp.resolve("db"));
        Run r = run("--db", tmp.resolve("db").toString(), "--config", tmp.resolve("none.json").toString(), "hook",
                "--state", state.toString());
        assertEquals(0, r.code(), r.err());
        java.nio.file.Files.writeString(state, java.nio.file.Files.readString(state).replace("\"false\"", "\"true\""));
        Run enabled = run("--db", tmp.resolve("db").toString(), "--config", tmp.resolve("none.json").toString(), "hook",
                "--state", state.toString());
        assertTrue(enabled.err().contains("config.json"), "not opted out: the config is read (and missing here): " + enabled.err());
    }
}
