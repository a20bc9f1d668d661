package io.bypass.util;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Json's own writer against jackson-core's generator as bypass used it (DefaultPrettyPrinter, or
 * compact): byte-for-byte the same text for random trees, so that every file and --json output
 * bypass wrote before reads the same now.
 */
class JsonWriterTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private static String jackson(JsonNode node, boolean pretty) throws IOException {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            if (pretty) {
                g.setPrettyPrinter(new DefaultPrettyPrinter());
            }
            emit(g, node);
        }
        return out + (pretty ? "\n" : "");
    }

    private static void emit(JsonGenerator g, JsonNode n) throws IOException {
        if (n.isObject()) {
            g.writeStartObject();
            for (var it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                g.writeFieldName(e.getKey());
                emit(g, e.getValue());
            }
            g.writeEndObject();
        } else if (n.isArray()) {
            g.writeStartArray();
            for (JsonNode e : n) {
                emit(g, e);
            }
            g.writeEndArray();
        } else if (n.isTextual()) {
            g.writeString(n.textValue());
        } else if (n.isBoolean()) {
            g.writeBoolean(n.booleanValue());
        } else if (n.isIntegralNumber()) {
            if (n.canConvertToLong()) {
                g.writeNumber(n.longValue());
            } else {
                g.writeNumber(n.bigIntegerValue());
            }
        } else if (n.isNumber()) {
            g.writeNumber(n.decimalValue());
        } else {
            g.writeNull();
        }
    }

    @Test
    void everyCharacterIsWrittenAsJacksonWritesIt() throws IOException {
        StringBuilder all = new StringBuilder();
        for (char c = 0; c < 0x3000; c++) {
            all.append(c);
        }
        all.append("\ud83d\ude00\ud800x\udfff\u2028\u2029\ufeff\uffff");
        ObjectNode o = F.objectNode();
        o.put(all.toString(), all.toString());
        assertEquals(jackson(o, true), Json.write(o));
        assertEquals(jackson(o, false), Json.compact(o));
    }

    @Test
    void theLayoutIsJacksonsForRandomTrees() throws IOException {
        Random r = new Random(20261202L);
        for (int i = 0; i < 5_000; i++) {
            JsonNode n = random(r, 0);
            assertEquals(jackson(n, true), Json.write(n), n.toString());
            assertEquals(jackson(n, false), Json.compact(n), n.toString());
        }
    }

    private static JsonNode random(Random r, int depth) {
        switch (r.nextInt(depth > 3 ? 7 : 9)) {
            case 0: return F.booleanNode(r.nextBoolean());
            case 1: return F.nullNode();
            case 2: return F.numberNode(r.nextInt());
            case 3: return F.numberNode(r.nextLong());
            case 4: return F.numberNode(new BigInteger(80, r).negate());
            case 5: return F.numberNode(r.nextInt(1000) / 8.0);
            case 6: {
                StringBuilder s = new StringBuilder();
                for (int k = r.nextInt(6); k > 0; k--) {
                    s.append((char) (r.nextInt(4) == 0 ? r.nextInt(0x30) : r.nextInt(0x800)));
                }
                return F.textNode(s.toString());
            }
            case 7: {
                ArrayNode a = F.arrayNode();
                for (int k = r.nextInt(4); k > 0; k--) {
                    a.add(random(r, depth + 1));
                }
                return a;
            }
            default: {
                ObjectNode o = F.objectNode();
                for (int k = r.nextInt(4); k > 0; k--) {
                    o.set("f" + r.nextInt(5) + (char) r.nextInt(0x40), random(r, depth + 1));
                }
                return o;
            }
        }
    }
}
