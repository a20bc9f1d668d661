package io.bypass.util;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/**
 * A strict JSON (RFC 8259) reader of UTF-8 bytes into the tree the rest of bypass uses. Every hook
 * reads two or three small documents (the runtime's state, config.json, a cache entry), and
 * jackson-core's parser costs 8-9 ms of class initialisation in a fresh JVM for them (its factory,
 * symbol tables, buffer recyclers, feature sets); this costs nothing beyond its own code.
 *
 * <p>The limits are {@link Json}'s: nesting 64, a string 1 MiB, a number 100 characters; a
 * duplicate name in an object is an error. Text must be valid UTF-8 (an overlong form, an encoded
 * surrogate or a code point past U+10FFFF is refused); a leading byte order mark is skipped. Every
 * error is one {@link BypassException} naming the line and column.
 */
final class JsonReader {
    static final int MAX_DEPTH = 64;
    static final int MAX_STRING = 1 << 20;
    static final int MAX_NUMBER = 100;

    private final byte[] b;
    private final String displayName;
    private final JsonNodeFactory f = JsonNodeFactory.instance;
    private int pos;
    private final StringBuilder sb = new StringBuilder();

    private JsonReader(byte[] bytes, String displayName) {
        this.b = bytes;
        this.displayName = displayName;
    }

    static JsonNode parse(byte[] bytes, String displayName) {
        JsonReader r = new JsonReader(bytes, displayName);
        if (bytes.length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf) {
            r.pos = 3;
        }
        r.skipSpace();
        if (r.pos >= bytes.length) {
            throw BypassException.badInput(displayName + ": empty, expected JSON");
        }
        JsonNode node = r.value(0);
        r.skipSpace();
        if (r.pos < bytes.length) {
            throw BypassException.badInput(displayName + ": not valid JSON: trailing content after the document at line "
                    + r.line(r.pos));
        }
        return node;
    }

    private BypassException error(int at, String what) {
        int line = line(at);
        int lineStart = at;
        while (lineStart > 0 && b[lineStart - 1] != '\n') {
            lineStart--;
        }
        return BypassException.badInput(displayName + ": not valid JSON at line " + line + " column " + (at - lineStart + 1)
                + ": " + what);
    }

    private int line(int at) {
        int line = 1;
        for (int i = 0; i < at && i < b.length; i++) {
            if (b[i] == '\n') {
                line++;
            }
        }
        return line;
    }

    private void skipSpace() {
        while (pos < b.length) {
            byte c = b[pos];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private String shown(int at) {
        if (at >= b.length) {
            return "end of input";
        }
        int c = b[at] & 0xff;
        return c >= 0x21 && c < 0x7f ? "'" + (char) c + "'" : "byte 0x" + Integer.toHexString(c);
    }

    /** A value at pos; {@code depth} is the number of arrays and objects around it. */
    private JsonNode value(int depth) {
        if (pos >= b.length) {
            throw error(pos, "unexpected end of input, expected a value");
        }
        byte c = b[pos];
        switch (c) {
            case '{':
            case '[':
                if (depth >= MAX_DEPTH) {
                    throw error(pos, "nested deeper than " + MAX_DEPTH);
                }
                return c == '{' ? object(depth) : array(depth);
            case '"':
                return f.textNode(string(MAX_STRING));
            case 't':
                literal("true");
                return f.booleanNode(true);
            case 'f':
                literal("false");
                return f.booleanNode(false);
            case 'n':
                literal("null");
                return f.nullNode();
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error(pos, "unexpected " + shown(pos) + ", expected a value");
        }
    }

    private void literal(String word) {
        int start = pos;
        for (int i = 0; i < word.length(); i++) {
            if (pos >= b.length || b[pos] != word.charAt(i)) {
                throw error(start, "unrecognised token, expected " + word);
            }
            pos++;
        }
        if (pos < b.length && isNameChar(b[pos])) {
            throw error(start, "unrecognised token, expected " + word);
        }
    }

    private static boolean isNameChar(byte c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }

    private ObjectNode object(int depth) {
        pos++;
        ObjectNode o = f.objectNode();
        skipSpace();
        if (consume('}')) {
            return o;
        }
        while (true) {
            skipSpace();
            if (pos >= b.length || b[pos] != '"') {
                throw error(pos, "unexpected " + shown(pos) + ", expected a field name in double quotes");
            }
            int at = pos;
            String name = string(MAX_STRING);
            skipSpace();
            if (pos >= b.length || b[pos] != ':') {
                throw error(pos, "unexpected " + shown(pos) + ", expected ':' after a field name");
            }
            pos++;
            skipSpace();
            JsonNode v = value(depth + 1);
            if (o.has(name)) {
                throw error(at, "duplicate field '" + name + "'");
            }
            o.set(name, v);
            skipSpace();
            if (consume(',')) {
                continue;
            }
            if (consume('}')) {
                return o;
            }
            throw error(pos, "unexpected " + shown(pos) + ", expected ',' or '}'");
        }
    }

    private ArrayNode array(int depth) {
        pos++;
        ArrayNode a = f.arrayNode();
        skipSpace();
        if (consume(']')) {
            return a;
        }
        while (true) {
            skipSpace();
            a.add(value(depth + 1));
            skipSpace();
            if (consume(',')) {
                continue;
            }
            if (consume(']')) {
                return a;
            }
            throw error(pos, "unexpected " + shown(pos) + ", expected ',' or ']'");
        }
    }

    /** Steps over c when it is the next byte. */
    private boolean consume(char c) {
        if (pos < b.length && b[pos] == c) {
            pos++;
            return true;
        }
        return false;
    }

    private JsonNode number() {
        int start = pos;
        boolean fraction = false;
        if (b[pos] == '-') {
            pos++;
        }
        if (pos >= b.length || b[pos] < '0' || b[pos] > '9') {
            throw error(start, "a number needs a digit after '-'");
        }
        if (b[pos] == '0') {
            pos++;
            if (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
                throw error(start, "a number cannot start with 0 and go on with digits");
            }
        } else {
            digits();
        }
        if (pos < b.length && b[pos] == '.') {
            fraction = true;
            pos++;
            if (pos >= b.length || b[pos] < '0' || b[pos] > '9') {
                throw error(start, "a number needs a digit after '.'");
            }
            digits();
        }
        if (pos < b.length && (b[pos] == 'e' || b[pos] == 'E')) {
            fraction = true;
            pos++;
            if (pos < b.length && (b[pos] == '+' || b[pos] == '-')) {
                pos++;
            }
            if (pos >= b.length || b[pos] < '0' || b[pos] > '9') {
                throw error(start, "a number needs a digit in its exponent");
            }
            digits();
        }
        if (pos < b.length && isNameChar(b[pos])) {
            throw error(start, "unexpected " + shown(pos) + " in a number");
        }
        if (pos - start > MAX_NUMBER) {
            throw error(start, "a number longer than " + MAX_NUMBER + " characters");
        }
        String text = new String(b, start, pos - start, StandardCharsets.US_ASCII);
        if (fraction) {
            // No model has a fractional number; a double never throws (5e7023333322758 is Infinity).
            return f.numberNode(Double.parseDouble(text));
        }
        try {
            long v = Long.parseLong(text);
            return v == (int) v ? f.numberNode((int) v) : f.numberNode(v);
        } catch (NumberFormatException tooLong) {
            return f.numberNode(new BigInteger(text));
        }
    }

    private void digits() {
        while (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
            pos++;
        }
    }

    /** A string at pos (its opening quote), decoded; pos ends after its closing quote. */
    private String string(int max) {
        int start = pos;
        pos++;
        // The common case: printable ASCII without escapes (a byte past 0x7f is negative), one copy.
        int run = pos;
        while (run < b.length && b[run] != '"' && b[run] != '\\' && b[run] >= 0x20) {
            run++;
        }
        if (run < b.length && b[run] == '"') {
            if (run - pos > max) {
                throw error(start, "a string longer than " + max + " characters");
            }
            String s = new String(b, pos, run - pos, StandardCharsets.ISO_8859_1);
            pos = run + 1;
            return s;
        }
        sb.setLength(0);
        while (true) {
            if (pos >= b.length) {
                throw error(start, "a string without its closing quote");
            }
            if (sb.length() > max) {
                throw error(start, "a string longer than " + max + " characters");
            }
            int c = b[pos] & 0xff;
            if (c == '"') {
                pos++;
                return sb.toString();
            }
            if (c == '\\') {
                escape();
            } else if (c < 0x20) {
                throw error(pos, "a control character (0x" + Integer.toHexString(c) + ") in a string must be escaped");
            } else if (c < 0x80) {
                sb.append((char) c);
                pos++;
            } else {
                utf8();
            }
        }
    }

    private void escape() {
        int at = pos;
        pos++;
        if (pos >= b.length) {
            throw error(at, "a string without its closing quote");
        }
        byte e = b[pos++];
        switch (e) {
            case '"' -> sb.append('"');
            case '\\' -> sb.append('\\');
            case '/' -> sb.append('/');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'u' -> {
                int v = 0;
                for (int i = 0; i < 4; i++) {
                    int d = pos < b.length ? Character.digit(b[pos], 16) : -1;
                    if (d < 0) {
                        throw error(at, "\\u needs four hexadecimal digits");
                    }
                    v = v * 16 + d;
                    pos++;
                }
                sb.append((char) v);
            }
            default -> throw error(at, "unknown escape \\" + ((e & 0xff) >= 0x21 && e < 0x7f ? String.valueOf((char) e)
                    : "(byte 0x" + Integer.toHexString(e & 0xff) + ")"));
        }
    }

    /** One multi-byte UTF-8 sequence at pos, validated, appended. */
    private void utf8() {
        int at = pos;
        int c = b[pos] & 0xff;
        int n;
        int cp;
        int min;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            throw error(at, "invalid UTF-8 (byte 0x" + Integer.toHexString(c) + ")");
        }
        if (pos + n >= b.length) {
            throw error(at, "invalid UTF-8 (a sequence cut short)");
        }
        for (int i = 1; i <= n; i++) {
            int cc = b[pos + i] & 0xff;
            if ((cc & 0xc0) != 0x80) {
                throw error(at, "invalid UTF-8 (byte 0x" + Integer.toHexString(cc) + " inside a sequence)");
            }
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            throw error(at, "invalid UTF-8 (an overlong form, a surrogate or past U+10FFFF)");
        }
        sb.appendCodePoint(cp);
        pos += n + 1;
    }
}
