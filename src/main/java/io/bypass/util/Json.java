package io.bypass.util;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON in and out through Jackson's tree model only. Models are mapped by hand, field by field, so
 * that every error names the file and the field, and so that no reflection is needed (GraalVM
 * native-image needs no metadata for it). Reads are bounded in size and nesting.
 *
 * <p>The tree (jackson-databind's nodes) is read by {@link JsonReader} and written here: no
 * ObjectMapper, whose construction loads some 400 classes, and none of jackson-core's parser,
 * generator or factory, whose initialisation was 8-9 ms of every hook and 5-6 ms more of each
 * that writes.
 */
public final class Json {
    /** Large enough for a database entry of a CUDA driver bundle; small enough to bound memory. */
    public static final long MAX_DOCUMENT_BYTES = 64L << 20;

    private Json() {
    }

    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    public static ArrayNode array() {
        return JsonNodeFactory.instance.arrayNode();
    }

    public static ArrayNode array(Iterable<String> values) {
        ArrayNode a = array();
        for (String v : values) {
            a.add(v);
        }
        return a;
    }

    /** Reads a regular file (never a FIFO or device: those could block or be endless). */
    public static JsonNode readFile(Path file) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(file + ": no such file");
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot read: " + e.getMessage());
        }
        if (!attrs.isRegularFile()) {
            throw BypassException.badInput(file + ": not a regular file");
        }
        if (attrs.size() > MAX_DOCUMENT_BYTES) {
            throw BypassException.badInput(file + ": larger than " + (MAX_DOCUMENT_BYTES >> 20) + " MiB");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot read: " + e.getMessage());
        }
        return parse(bytes, file.toString());
    }

    public static JsonNode readFileNoFollow(Path file) {
        if (Files.isSymbolicLink(file)) {
            throw BypassException.badInput(file + ": is a symbolic link; refusing to follow it");
        }
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw BypassException.badInput(file + ": no such file");
        }
        return readFile(file);
    }

    /** Reads at most {@link #MAX_DOCUMENT_BYTES} from a stream (stdin of a hook). */
    public static JsonNode readStream(InputStream in, String displayName) {
        byte[] bytes;
        try {
            bytes = in.readNBytes((int) MAX_DOCUMENT_BYTES + 1);
        } catch (IOException e) {
            throw BypassException.badInput(displayName + ": cannot read: " + e.getMessage());
        }
        if (bytes.length > MAX_DOCUMENT_BYTES) {
            throw BypassException.badInput(displayName + ": larger than " + (MAX_DOCUMENT_BYTES >> 20) + " MiB");
        }
        return parse(bytes, displayName);
    }

    /** Parses one JSON document of UTF-8 bytes ({@link JsonReader}: strict, bounded, one-line errors). */
    public static JsonNode parse(byte[] bytes, String displayName) {
        if (bytes.length == 0) {
            throw BypassException.badInput(displayName + ": empty, expected JSON");
        }
        return JsonReader.parse(bytes, displayName);
    }

    public static String write(JsonNode node) {
        return write(node, true) + "\n";
    }

    /**
     * Written by hand in the layout of jackson-core's DefaultPrettyPrinter (objects a field a line,
     * arrays on one line, "{ }" and "[ ]" when empty) or compact: jackson-core's factory costs
     * 5-6 ms of class initialisation, and an injecting hook writes a record for poststop.
     * JsonWriterTest holds both layouts to jackson-core's output.
     */
    private static String write(JsonNode node, boolean pretty) {
        StringBuilder sb = new StringBuilder(256);
        emit(sb, node, pretty, 0);
        return sb.toString();
    }

    private static void emit(StringBuilder sb, JsonNode n, boolean pretty, int level) {
        if (n.isObject()) {
            if (n.isEmpty()) {
                sb.append(pretty ? "{ }" : "{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!first) {
                    sb.append(',');
                }
                first = false;
                if (pretty) {
                    newline(sb, level + 1);
                }
                string(sb, e.getKey());
                sb.append(pretty ? " : " : ":");
                emit(sb, e.getValue(), pretty, level + 1);
            }
            if (pretty) {
                newline(sb, level);
            }
            sb.append('}');
        } else if (n.isArray()) {
            if (n.isEmpty()) {
                sb.append(pretty ? "[ ]" : "[]");
                return;
            }
            sb.append(pretty ? "[ " : "[");
            boolean first = true;
            for (JsonNode e : n) {
                if (!first) {
                    sb.append(pretty ? ", " : ",");
                }
                first = false;
                emit(sb, e, pretty, level);   // arrays are inline: no deeper indentation
            }
            sb.append(pretty ? " ]" : "]");
        } else if (n.isTextual()) {
            string(sb, n.textValue());
        } else if (n.isBoolean()) {
            sb.append(n.booleanValue());
        } else if (n.isIntegralNumber()) {
            sb.append(n.canConvertToLong() ? String.valueOf(n.longValue()) : n.bigIntegerValue().toString());
        } else if (n.isNumber()) {
            sb.append(n.decimalValue().toString());
        } else {
            sb.append("null");
        }
    }

    private static void newline(StringBuilder sb, int level) {
        sb.append('\n');
        for (int i = 0; i < level; i++) {
            sb.append("  ");
        }
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /** A JSON string: quote, backslash and control characters escaped, everything else as it is. */
    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\t' -> sb.append("\\t");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                default -> {
                    if (c < 0x20) {
                        sb.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** One line, for configs handed back to a runtime. */
    public static String compact(JsonNode node) {
        return write(node, false);
    }

    public static byte[] writeBytes(JsonNode node) {
        return write(node).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Typed, field-naming access to one JSON object. {@code where} is the file name and the path of
     * the object inside it, e.g. {@code "site.json: mounts[2]"}.
     */
    public static final class Fields {
        private final JsonNode node;
        private final String where;

        private Fields(JsonNode node, String where) {
            this.node = node;
            this.where = where;
        }

        public static Fields of(JsonNode node, String where) {
            if (node == null || !node.isObject()) {
                throw BypassException.badInput(where + ": expected a JSON object");
            }
            return new Fields(node, where);
        }

        public String where() {
            return where;
        }

        public String where(String field) {
            return where.endsWith(":") ? where + " " + field : where + "." + field;
        }

        public JsonNode raw() {
            return node;
        }

        public boolean has(String field) {
            JsonNode v = node.get(field);
            return v != null && !v.isNull();
        }

        /** Fails on any field not listed: a typo in a descriptor must not be silently ignored. */
        public Fields onlyKnown(String... known) {
            Iterator<String> names = node.fieldNames();
            outer:
            while (names.hasNext()) {
                String name = names.next();
                for (String k : known) {
                    if (k.equals(name)) {
                        continue outer;
                    }
                }
                throw BypassException.badInput(where(name) + ": unknown field (known: " + String.join(", ", known) + ")");
            }
            return this;
        }

        public String string(String field) {
            String v = optString(field, null);
            if (v == null) {
                throw BypassException.badInput(where(field) + ": required field is missing");
            }
            return v;
        }

        public String optString(String field, String dflt) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isTextual()) {
                throw BypassException.badInput(where(field) + ": expected a string");
            }
            return v.textValue();
        }

        public boolean optBool(String field, boolean dflt) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isBoolean()) {
                throw BypassException.badInput(where(field) + ": expected true or false");
            }
            return v.booleanValue();
        }

        public long optLong(String field, long dflt) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw BypassException.badInput(where(field) + ": expected an integer");
            }
            return v.longValue();
        }

        public long longValue(String field) {
            if (!has(field)) {
                throw BypassException.badInput(where(field) + ": required field is missing");
            }
            return optLong(field, 0);
        }

        public List<String> stringList(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return List.of();
            }
            if (!v.isArray()) {
                throw BypassException.badInput(where(field) + ": expected an array of strings");
            }
            List<String> out = new ArrayList<>(v.size());
            for (int i = 0; i < v.size(); i++) {
                JsonNode e = v.get(i);
                if (!e.isTextual()) {
                    throw BypassException.badInput(where(field) + "[" + i + "]: expected a string");
                }
                out.add(e.textValue());
            }
            return out;
        }

        public Map<String, String> stringMap(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return Map.of();
            }
            if (!v.isObject()) {
                throw BypassException.badInput(where(field) + ": expected an object of strings");
            }
            Map<String, String> out = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = v.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) {
                    throw BypassException.badInput(where(field) + "." + e.getKey() + ": expected a string");
                }
                out.put(e.getKey(), e.getValue().textValue());
            }
            return out;
        }

        public Fields object(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                throw BypassException.badInput(where(field) + ": required field is missing");
            }
            return Fields.of(v, where(field));
        }

        public Fields optObject(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return null;
            }
            return Fields.of(v, where(field));
        }

        public List<Fields> objectList(String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                return List.of();
            }
            if (!v.isArray()) {
                throw BypassException.badInput(where(field) + ": expected an array of objects");
            }
            List<Fields> out = new ArrayList<>(v.size());
            for (int i = 0; i < v.size(); i++) {
                out.add(Fields.of(v.get(i), where(field) + "[" + i + "]"));
            }
            return out;
        }
    }
}
