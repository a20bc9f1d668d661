package io.bypass.util;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bypass.BypassException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bypass' own JSON reader against jackson-databind's, configured with the same limits (the reader
 * bypass used before): the same tree for every document both accept, a refusal where jackson
 * refuses, and a one-line message naming the line and column.
 */
class JsonReaderTest {
    private static final ObjectMapper JACKSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).maxStringLength(1 << 20)
                    .maxNumberLength(100).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static JsonNode jackson(byte[] b) {
        try {
            JsonNode n = JACKSON.readTree(b);
            return n == null || n.isMissingNode() ? null : n;
        } catch (Exception e) {
            return null;
        }
    }

    private static JsonNode ours(byte[] b) {
        try {
            return Json.parse(b, "t.json");
        } catch (BypassException e) {
            assertTrue(e.getMessage().startsWith("t.json: ") && !e.getMessage().contains("\n"), e.getMessage());
            return null;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"{}", "[]", "0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483649", "9223372036854775807",
            "9223372036854775808", "-92233720368547758090", "1.5", "-0.0", "1e3", "1E+3", "1e-3", "5e7023333322758", "true", "false",
            "null", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"", "\"\\ud800\"", "\"é ü 中 😀\"",
            " {\"a\" : [1, 2, {\"b\": null}], \"c\": \"d\"} ", "\ufeff{\"bom\": 1}", "[[[[[]]]]]", "{\"a\":{\"a\":{}}}",
            "{\"ociVersion\":\"1.0.2\",\"id\":\"x\",\"status\":\"creating\",\"pid\":4242,\"bundle\":\"/b\",\"annotations\":{}}"})
    void acceptsWhatJacksonAcceptsWithTheSameTree(String doc) {
        byte[] b = doc.getBytes(StandardCharsets.UTF_8);
        JsonNode expected = jackson(b);
        assertTrue(expected != null, "jackson accepts " + doc);
        assertEquals(expected, ours(b), doc);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "{", "}", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "01", "-", "1.", ".5",
            "1e", "1e+", "+1", "NaN", "Infinity", "tru", "truex", "nul", "[1 2]", "{\"a\":1}{}", "1 2", "\"abc", "\"\\x\"",
            "\"\\u12\"", "\"\\u12G4\"", "\"tab\there\"", "\"nl\nhere\"", "{\"a\":1,\"a\":2}", "// c\n1", "/* c */ 1", "[1]]",
            "\"\\\"", "123abc", "0x10"})
    void refusesWhatJacksonRefuses(String doc) {
        byte[] b = doc.getBytes(StandardCharsets.UTF_8);
        assertEquals(null, jackson(b), "jackson refuses " + doc);
        assertEquals(null, ours(b), doc);
    }

    @Test
    void nestingStopsAt64() {
        assertEquals(jackson(("[".repeat(64) + "]".repeat(64)).getBytes()), ours(("[".repeat(64) + "]".repeat(64)).getBytes()));
        assertEquals(null, jackson(("[".repeat(65) + "]".repeat(65)).getBytes()));
        BypassException e = assertThrows(BypassException.class, () -> Json.parse(("[".repeat(65) + "]".repeat(65)).getBytes(), "d.json"));
        assertEquals("d.json: not valid JSON at line 1 column 65: nested deeper than 64", e.getMessage());
        assertThrows(BypassException.class, () -> Json.parse(("{\"a\":".repeat(100_000)).getBytes(), "deep.json"),
                "a deep document is an error, not a stack overflow");
    }

    @Test
    void refusesInvalidUtf8() {
        for (byte[] bad : new byte[][] {{'"', (byte) 0xff, '"'}, {'"', (byte) 0xc0, (byte) 0xaf, '"'}, {'"', (byte) 0xe0, (byte) 0x80,
                (byte) 0xaf, '"'}, {'"', (byte) 0xed, (byte) 0xa0, (byte) 0x80, '"'}, {'"', (byte) 0xf4, (byte) 0x90, (byte) 0x80,
                (byte) 0x80, '"'}, {'"', (byte) 0xc3, '"'}, {'"', (byte) 0xe2, (byte) 0x82}}) {
            assertThrows(BypassException.class, () -> Json.parse(bad, "u.json"));
        }
    }

    @Test
    void messagesNameLineAndColumn() {
        BypassException e = assertThrows(BypassException.class, () -> Json.parse("{\n  \"a\": 1,\n  \"b\" 2\n}".getBytes(), "c.json"));
        assertEquals("c.json: not valid JSON at line 3 column 7: unexpected '2', expected ':' after a field name", e.getMessage());
        e = assertThrows(BypassException.class, () -> Json.parse("{\"a\": 1} x".getBytes(), "c.json"));
        assertEquals("c.json: not valid JSON: trailing content after the document at line 1", e.getMessage());
        e = assertThrows(BypassException.class, () -> Json.parse(" \n ".getBytes(), "c.json"));
        assertEquals("c.json: empty, expected JSON", e.getMessage());
    }

    /** Random documents from a small grammar, and random mutations of them: both readers agree. */
    @Test
    void agreesWithJacksonOnRandomDocumentsAndMutations() {
        Random r = new Random(20261202L);
        String alphabet = "{}[]\":,.-+eE0123456789 \n\ttrufalsn\\/bu\u00e9\u4e2d";
        for (int i = 0; i < 20_000; i++) {
            String doc = random(r, 0);
            if (i % 2 == 1) {
                StringBuilder m = new StringBuilder(doc);
                for (int k = r.nextInt(3) + 1; k > 0; k--) {
                    int at = m.length() == 0 ? 0 : r.nextInt(m.length());
                    switch (r.nextInt(3)) {
                        case 0 -> m.insert(at, alphabet.charAt(r.nextInt(alphabet.length())));
                        case 1 -> { if (m.length() > 0) m.deleteCharAt(at); }
                        default -> { if (m.length() > 0) m.setCharAt(at, alphabet.charAt(r.nextInt(alphabet.length()))); }
                    }
                }
                doc = m.toString();
            }
            byte[] b = doc.getBytes(StandardCharsets.UTF_8);
            assertEquals(jackson(b), ours(b), doc);
        }
    }

    private static String random(Random r, int depth) {
        int k = r.nextInt(depth > 4 ? 6 : 8);
        switch (k) {
            case 0: return r.nextBoolean() ? "true" : "false";
            case 1: return "null";
            case 2: return String.valueOf(r.nextInt(2001) - 1000) + (r.nextInt(4) == 0 ? "." + r.nextInt(100) : "")
                    + (r.nextInt(6) == 0 ? "e" + (r.nextBoolean() ? "-" : "") + r.nextInt(30) : "");
            case 3: return r.nextInt(5) == 0 ? String.valueOf(r.nextLong()) + r.nextInt(10) : String.valueOf(r.nextLong());
            case 4: case 5: {
                String[] parts = {"a", "b c", "\\n", "\\u00e9", "\\\"", "é", "中", "\\\\", "", "\\/"};
                StringBuilder s = new StringBuilder("\"");
                for (int i = r.nextInt(4); i > 0; i--) {
                    s.append(parts[r.nextInt(parts.length)]);
                }
                return s.append('"').toString();
            }
            case 6: {
                StringBuilder s = new StringBuilder("[");
                for (int i = r.nextInt(4); i > 0; i--) {
                    s.append(random(r, depth + 1)).append(i > 1 ? "," : "");
                }
                return s.append(']').toString();
            }
            default: {
                StringBuilder s = new StringBuilder("{");
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    s.append("\"k").append(r.nextInt(3)).append("\": ").append(random(r, depth + 1)).append(i < n - 1 ? ", " : "");
                }
                return s.append('}').toString();
            }
        }
    }
}
