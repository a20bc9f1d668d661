package io.bypass.cache;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdentityRecorderTest {
    private static final FileIdentity.Stat F = new FileIdentity.Stat(FileIdentity.FILE, 7, 100, 5, 0644);

    private static byte[] bytes(String s) {
        return s.getBytes();
    }

    @Test
    void overlappingReadsAreHashedOnceInOffsetOrder() {
        IdentityRecorder a = new IdentityRecorder();
        a.stat("/f", Optional.of(F));
        a.read("/f", 4, bytes("efgh"), 4);
        a.read("/f", 0, bytes("abcdef"), 6);
        a.read("/f", 20, bytes("uv"), 2);
        a.read("/f", 2, bytes("cd"), 2);
        FileIdentity id = a.identities().orElseThrow().get(0);
        assertEquals(List.of(new FileIdentity.Range(0, 8), new FileIdentity.Range(20, 2)), id.ranges());

        IdentityRecorder b = new IdentityRecorder();
        b.stat("/f", Optional.of(F));
        b.read("/f", 0, bytes("abcdefgh"), 8);
        b.read("/f", 20, bytes("uvXX"), 2);
        assertEquals(id, b.identities().orElseThrow().get(0), "the digest depends on the bytes, not on how they were read");
    }

    @Test
    void aFileChangingUnderTheProfilerIsNotCached() {
        IdentityRecorder r = new IdentityRecorder();
        r.stat("/f", Optional.of(F));
        r.read("/f", 0, bytes("abcdef"), 6);
        r.read("/f", 4, bytes("XY"), 2);   // bytes 4..5 were "ef"
        assertTrue(r.identities().isEmpty());
        assertEquals("/f changed while it was profiled", r.uncacheableReason());

        r = new IdentityRecorder();
        r.stat("/f", Optional.of(F));
        r.stat("/f", Optional.of(new FileIdentity.Stat(FileIdentity.FILE, 7, 101, 5, 0644)));
        assertTrue(r.identities().isEmpty());

        r = new IdentityRecorder();
        r.stat("/f", Optional.of(F));
        r.read("/f", 0, bytes("abcd"), 4);
        r.read("/f", 0, bytes("abXdef"), 6);
        assertTrue(r.identities().isEmpty());

        r = new IdentityRecorder();
        r.stat("/f", Optional.of(F));
        r.read("/f", 0, bytes("abcdef"), 6);
        r.read("/f", 0, bytes("abX"), 3);      // a shorter re-read that differs
        assertTrue(r.identities().isEmpty());

        r = new IdentityRecorder();
        r.stat("/f", Optional.of(F));
        r.read("/f", 0, bytes("abcdef"), 6);
        r.read("/f", 0, bytes("abc"), 3);      // a shorter re-read that agrees
        r.read("/f", 6, bytes("ghij"), 4);     // adjacent: no overlap to compare
        r.read("/f", 5, bytes("fgZ"), 2);      // overlapping both, agreeing on its first 2 bytes
        assertEquals(List.of(new FileIdentity.Range(0, 10)), r.identities().orElseThrow().get(0).ranges());
    }

    @Test
    void budgetAndProtocol() {
        IdentityRecorder r = new IdentityRecorder(8);
        r.stat("/f", Optional.of(F));
        r.read("/f", 0, bytes("abcdefghij"), 10);
        assertTrue(r.uncacheableReason().contains("more than 8 bytes"));

        r = new IdentityRecorder();
        r.read("/g", 0, bytes("ab"), 2);
        assertEquals("/g was read without being statted as a file", r.uncacheableReason());

        r = new IdentityRecorder();
        r.stat("/dev/x", Optional.of(new FileIdentity.Stat("other", 1, 0, 0, 0600)));
        assertTrue(r.identities().isEmpty(), "a device in the profile: not cacheable");

        r = new IdentityRecorder();
        r.stat("/none", Optional.empty());
        r.stat("/d", Optional.of(new FileIdentity.Stat(FileIdentity.DIR, 2, 4096, 1, 0755)));
        assertNull(r.uncacheableReason());
        List<FileIdentity> ids = r.identities().orElseThrow();
        assertEquals(FileIdentity.missing("/none"), ids.get(0));
        assertNull(ids.get(1).sha256(), "a directory only walked through has no content evidence");
    }
}
