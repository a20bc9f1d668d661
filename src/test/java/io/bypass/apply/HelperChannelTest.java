package io.bypass.apply;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JVM's side of the helper the launcher starts (native-shims/channel.c), against a fake helper
 * on named pipes standing for descriptors 3 to 6. The real one is tested by
 * tests/native/helper-test.sh and used by every integration suite's hooks.
 */
class HelperChannelTest {
    @TempDir
    Path tmp;

    /** Named pipes 3..6 in dir, and a shell helper on them that keeps what it was sent in dir/got. */
    private Process fakeHelper(Path dir, String report, String error, String status) throws IOException, InterruptedException {
        for (String n : new String[] {"3", "4", "5", "6"}) {
            Process mk = new ProcessBuilder("mkfifo", dir.resolve(n).toString()).start();
            assertEquals(0, mk.waitFor());
        }
        String script = "exec 3<\"$1/3\" 4>\"$1/4\" 5>\"$1/5\" 6>\"$1/6\"\n"
                + ": > \"$1/got\"\n"
                + "while IFS= read -r line <&3; do printf '%s\\n' \"$line\" >> \"$1/got\"; [ \"$line\" = end-of-plan ] && break; done\n"
                + "printf '%s' \"$2\" >&4; printf '%s' \"$3\" >&5; exec 4>&- 5>&-; printf '%s\\n' \"$4\" >&6\n";
        return new ProcessBuilder("sh", "-c", script, "sh", dir.toString(), report, error, status).start();
    }

    /** A channel to a fake helper that answers with report, error and status. */
    private record Fake(Path dir, Process helper, Process channel) {
    }

    private Fake fake(String report, String error, String status) throws IOException, InterruptedException {
        Path dir = Files.createDirectories(tmp.resolve("ch"));
        Process helper = fakeHelper(dir, report, error, status);
        Process channel = HelperChannel.open(dir, "3,4,5,6");
        assertNotNull(channel);
        return new Fake(dir, helper, channel);
    }

    @Test
    void aPlanGoesOutWithItsEndMarkerAndTheReportAndStatusComeBack() throws Exception {
        Fake f = fake("created /opt/x 40755 1 0 0 0 0\n", "", "exit 0");
        Process p = f.channel();
        Process fake = f.helper();
        Path dir = f.dir();
        try (OutputStream out = p.getOutputStream()) {
            out.write("bypass-plan 1\nns 42\nroot /r\n".getBytes(StandardCharsets.UTF_8));
        }
        try (InputStream in = p.getInputStream(); InputStream err = p.getErrorStream()) {
            assertEquals("created /opt/x 40755 1 0 0 0 0\n", new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8));
            assertEquals("", new String(err.readNBytes(1 << 16), StandardCharsets.UTF_8));
        }
        assertTrue(p.waitFor(5, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        assertEquals(0, fake.waitFor());
        assertEquals("bypass-plan 1\nns 42\nroot /r\nend-of-plan\n", Files.readString(dir.resolve("got")));
    }

    @Test
    void anAbandonedHelperIsSentAPlanThatIsNotOne() throws Exception {
        Fake f = fake("", "bypass-mount-helper: 1: missing header", "exit 10");
        Process p = f.channel();
        p.destroyForcibly();
        assertTrue(p.waitFor(5, TimeUnit.SECONDS));
        assertEquals(10, p.exitValue());
        assertEquals(0, f.helper().waitFor());
        assertEquals("abandoned\nend-of-plan\n", Files.readString(f.dir().resolve("got")));
    }

    @Test
    void aHelperKilledBySignalReadsAsOneThatDied() throws Exception {
        Fake f = fake("", "", "signal 9");
        Process p = f.channel();
        try (OutputStream out = p.getOutputStream()) {
            out.write("bypass-plan 1\n".getBytes(StandardCharsets.UTF_8));
        }
        p.getInputStream().readAllBytes();
        p.getErrorStream().readAllBytes();
        assertEquals(137, p.waitFor());
        assertEquals(0, f.helper().waitFor());
    }

    @Test
    void onlyFourPipesAboveStderrMakeAChannel() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("files"));
        for (String n : new String[] {"1", "3", "4", "5", "6"}) {
            Files.writeString(dir.resolve(n), "");
        }
        String[] specs = {"3,4,5,6", "3,4,5", "3,4,5,6,7", "1,4,5,6", "a,b,c,d", "", "3,4,5,9"};
        for (String spec : specs) {
            assertNull(HelperChannel.open(dir, spec), spec);
        }
    }

    @Test
    void theLaunchersHelperIsTakenOnlyWhenItIsTheHelperAsked() {
        // No channel named: none taken, whatever the helper.
        String before = System.getProperty(HelperChannel.PROPERTY);
        try {
            System.clearProperty(HelperChannel.PROPERTY);
            assertNull(HelperChannel.take(Path.of("/usr/lib/bypass/bypass-mount-helper")));
        } finally {
            if (before != null) {
                System.setProperty(HelperChannel.PROPERTY, before);
            }
        }
    }
}
