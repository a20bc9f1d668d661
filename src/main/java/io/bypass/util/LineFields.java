package io.bypass.util;

import java.nio.charset.StandardCharsets;

/**
 * The one encoding of a path in the mount helper's line format (native-shims/README.md): a space,
 * a control character, DEL and '%' become %XX; every other byte of the path's UTF-8 stays as it
 * is. The helper's plan, its "created" lines and a decision-cache entry's expectations use it.
 */
public final class LineFields {
    private LineFields() {
    }

    /** Percent-encodes what would break the line format: space, control characters, DEL, '%'. */
    public static String encode(String path) {
        if (plain(path)) {
            return path;
        }
        StringBuilder sb = new StringBuilder(path.length());
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c <= 0x20 || c == 0x7f || c == '%') {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            } else {
                sb.append((char) c);
            }
        }
        // Non-ASCII bytes were appended as Latin-1 chars above; re-encode them as raw bytes.
        return new String(sb.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /**
     * The inverse of {@link #encode}: %XX (either case) is the byte XX; the bytes are UTF-8.
     *
     * @throws IllegalArgumentException for a bad or truncated escape, or %00
     */
    public static String decode(String field) {
        if (field.indexOf('%') < 0) {
            return field;
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(field.length());
        byte[] b = field.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '%') {
                int hi = i + 2 < b.length ? Character.digit(b[i + 1], 16) : -1;
                int lo = hi >= 0 ? Character.digit(b[i + 2], 16) : -1;
                if (lo < 0 || (hi == 0 && lo == 0)) {
                    throw new IllegalArgumentException("bad percent-encoding in " + field);
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                out.write(b[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Whether path is printable ASCII without '%', so that it is its own encoding: nearly every
     * path, and a hit's plan has one per recorded file (a hundred for an MPI image).
     */
    private static boolean plain(String path) {
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '%') {
                return false;
            }
        }
        return true;
    }
}
