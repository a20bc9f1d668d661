package io.bypass.cache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds the canonical key string of a decision and its digest. Every input of the decision that
 * is not a container file goes in: the bypass build (so that an upgraded hook never serves a plan
 * of an older one), the database generation, the site configuration's digest, and the request
 * (annotations, environment, args, stage, mode). Container files are not in the key: they are in
 * the entry's {@link FileIdentity} list, checked on every hit.
 *
 * <p>The encoding is unambiguous: each field is its name, a type letter and length-prefixed UTF-8
 * values; maps are sorted by key, so two requests that differ only in the order of their
 * annotations get one key. Field order is the caller's order (a fixed order in the caller's code).
 */
public final class CacheKey {
    private final StringBuilder text = new StringBuilder("bypass-decision-key 1\n");

    public CacheKey field(String name, String value) {
        head(name, 's', 1);
        value(value);
        return this;
    }

    public CacheKey list(String name, List<String> values) {
        head(name, 'l', values.size());
        for (String v : values) {
            value(v);
        }
        return this;
    }

    public CacheKey map(String name, Map<String, String> values) {
        TreeMap<String, String> sorted = new TreeMap<>(values);
        head(name, 'm', sorted.size());
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            value(e.getKey());
            value(e.getValue());
        }
        return this;
    }

    /** The canonical key string (for debugging; the store only ever sees the digest). */
    public String canonical() {
        return text.toString();
    }

    /** Lower-case hex SHA-256 of the canonical string: the entry's name in the store. */
    public String digest() {
        MessageDigest md = FileIdentity.newDigest();
        return FileIdentity.hex(md.digest(text.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private void head(String name, char type, int count) {
        text.append(name.length()).append(':').append(name).append(' ').append(type).append(count).append('\n');
    }

    private void value(String v) {
        if (v == null) {
            text.append("-\n");
        } else {
            // Length in UTF-8 bytes, so that no value can spell the next field's header.
            text.append(v.getBytes(StandardCharsets.UTF_8).length).append(':').append(v).append('\n');
        }
    }
}
