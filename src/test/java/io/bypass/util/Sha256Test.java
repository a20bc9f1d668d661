package io.bypass.util;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class Sha256Test {

    /** FIPS 180-4 / NIST CSRC example values. */
    @ParameterizedTest(name = "[{index}] {1}")
    @CsvSource({
            "'', e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "abc, ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq, 248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    })
    void knownAnswers(String message, String digest) {
        assertEquals(digest, HexFormat.of().formatHex(new Sha256().digest(message.getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void oneMillionA() {
        Sha256 md = new Sha256();
        for (int i = 0; i < 1_000_000; i++) {
            md.update((byte) 'a');
        }
        assertEquals("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", HexFormat.of().formatHex(md.digest()));
    }

    /** Every length around the block and padding boundaries, fed in odd pieces, against the JDK's. */
    @Test
    void agreesWithTheJdkOnRandomInputInPieces() throws Exception {
        Random r = new Random(42);
        for (int len = 0; len < 300; len++) {
            byte[] data = new byte[len];
            r.nextBytes(data);
            Sha256 ours = new Sha256();
            int at = 0;
            while (at < len) {
                int n = Math.min(len - at, 1 + r.nextInt(70));
                if (n == 1) {
                    ours.update(data[at]);
                } else {
                    ours.update(data, at, n);
                }
                at += n;
            }
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(data), ours.digest(), "length " + len);
        }
    }

    @Test
    void digestResetsForTheNextMessage() {
        Sha256 md = new Sha256();
        md.update("junk".getBytes(StandardCharsets.US_ASCII));
        md.digest();
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                HexFormat.of().formatHex(md.digest("abc".getBytes(StandardCharsets.US_ASCII))));
    }
}
