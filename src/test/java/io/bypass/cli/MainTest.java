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
}
