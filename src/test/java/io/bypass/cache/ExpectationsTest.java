package io.bypass.cache;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ExpectationsTest {
    private static final String SHA = "ab".repeat(32);

    /** One of each type and shape, with what a user may put in an image: odd paths, inodes, times. */
    private static final List<FileIdentity> EVERY_KIND = List.of(
            FileIdentity.missing("/etc/ld.so.preload"),
            FileIdentity.resolution("/lib/libc.so.6", true, "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            FileIdentity.resolution("/lib64", false, null),
            new FileIdentity("/usr/lib/libc.so.6", FileIdentity.FILE, 42, 2000, 1_700_000_000_123_456_789L, 0644,
                    List.of(new FileIdentity.Range(0, 64), new FileIdentity.Range(100, 8)), SHA),
            new FileIdentity("/usr/lib/only stat", FileIdentity.FILE, 7, 1, 5, 0755, List.of(), null),
            new FileIdentity("/opt/100%/new\nline/é", FileIdentity.FILE, -1L, Long.MAX_VALUE, -86_400_000_000_000L, 07777,
                    List.of(new FileIdentity.Range(Long.MAX_VALUE - 10, 10)), SHA),
            new FileIdentity("/usr/lib", FileIdentity.DIR, 3, 4096, 9, 01777, List.of(), SHA),
            new FileIdentity("/usr/share", FileIdentity.DIR, 4, 4096, 0, 0755, List.of(), null),
            new FileIdentity("/bin", FileIdentity.LINK, 4, 7, 10, 0777, List.of(), SHA));

    @Test
    void theLinesAreTheHelpersAndParseBackToTheSameIdentities() {
        Expectations e = Expectations.of(EVERY_KIND);
        assertEquals(String.join("\n",
                "expect-missing /etc/ld.so.preload",
                "expect-resolve /lib/libc.so.6 follow " + FileIdentity.resolutionDigest("/usr/lib/x86_64-linux-gnu/libc.so.6"),
                "expect-resolve /lib64 nofollow " + FileIdentity.resolutionDigest(null),
                "expect-file /usr/lib/libc.so.6 42 2000 1700000000123456789 644 " + SHA + " 0+64,100+8",
                "expect-file /usr/lib/only%20stat 7 1 5 755 - -",
                "expect-file /opt/100%25/new%0Aline/é 18446744073709551615 9223372036854775807 -86400000000000 7777 " + SHA
                        + " 9223372036854775797+10",
                "expect-dir /usr/lib 3 4096 9 1777 " + SHA,
                "expect-dir /usr/share 4 4096 0 755 -",
                "expect-link /bin 4 7 10 777 " + SHA) + "\n", e.lines());
        Expectations stored = Expectations.ofLines(e.lines());
        assertEquals(EVERY_KIND, stored.files());
        assertEquals(e, stored);
    }

    @Test
    void noFilesAreNoLines() {
        assertEquals("", Expectations.of(List.of()).lines());
        assertEquals(List.of(), Expectations.ofLines("").files());
    }

    @Test
    void equalWhenTheirLinesAre() {
        assertEquals(Expectations.of(EVERY_KIND), Expectations.of(List.copyOf(EVERY_KIND)));
        assertNotEquals(Expectations.of(EVERY_KIND), Expectations.of(EVERY_KIND.subList(1, EVERY_KIND.size())));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "expect-root /r\n",
            "bind /h /c ro\n",
            "expect-missing /a",
            "expect-missing /a extra\n",
            "expect-missing relative\n",
            "expect-resolve /a sideways " + "ab" + "\n",
            "expect-resolve /a follow\n",
            "expect-file /a 1 2 3 644 - \n",
            "expect-file /a 1 2 3 644 -\n",
            "expect-file /a x 2 3 644 - -\n",
            "expect-file /a 1 2 3 9 - -\n",
            "expect-file /a 1 2 3 644 - 0+8\n",
            "expect-file /a 1 2 3 644 nothex 0+8\n",
            "expect-file /a 1 2 3 644 " + "ab" + " 8,0\n",
            "expect-dir /a 1 2 3 755 - -\n",
            "expect-fifo /a 1 2 3 644 -\n",
            "expect-missing /a%zz\n",
    })
    void aLineItDidNotWriteIsRefused(String lines) {
        assertThrows(IllegalArgumentException.class, () -> Expectations.ofLines(lines).files());
    }
}
