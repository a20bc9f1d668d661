package io.bypass.util;

import java.util.Comparator;

/** Dotted numeric versions ("2.34", "12.4.1", "535.104.05"), compared component by component. */
public final class Versions {
    /** Numeric comparison; missing trailing components count as zero; non-digits end a component. */
    public static final Comparator<String> ORDER = new Order();

    /** A class, not a method reference: a cold hook links no lambda it can do without (docs/speed.md). */
    private static final class Order implements Comparator<String> {
        @Override
        public int compare(String a, String b) {
            return Versions.compare(a, b);
        }
    }

    private Versions() {
    }

    public static int compare(String a, String b) {
        String[] pa = a.split("\\.", -1);
        String[] pb = b.split("\\.", -1);
        int n = Math.max(pa.length, pb.length);
        for (int i = 0; i < n; i++) {
            long x = i < pa.length ? leadingNumber(pa[i]) : 0;
            long y = i < pb.length ? leadingNumber(pb[i]) : 0;
            if (x != y) {
                return Long.compare(x, y);
            }
        }
        return 0;
    }

    static long leadingNumber(String s) {
        long v = 0;
        for (int i = 0; i < s.length() && i < 18; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                break;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    public static String max(String a, String b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return compare(a, b) >= 0 ? a : b;
    }

    /**
     * The highest version among symbol version names with a prefix, e.g. the highest "GLIBC_x.y" of
     * a libc's definitions (prefix "GLIBC_") or "FABRIC_1.x" of a libfabric's; null when none.
     */
    public static String highest(Iterable<String> versionNames, String prefix) {
        String highest = null;
        for (String v : versionNames) {
            highest = max(highest, suffixVersion(v, prefix));
        }
        return highest;
    }

    /** "GLIBC_2.34" → "2.34"; anything else (GLIBC_PRIVATE, FABRIC_1.1 with another prefix) → null. */
    public static String glibcVersionOf(String versionName) {
        return suffixVersion(versionName, "GLIBC_");
    }

    /** The numeric part after a prefix, e.g. ("FABRIC_1.7", "FABRIC_") → "1.7"; null when not numeric. */
    public static String suffixVersion(String versionName, String prefix) {
        if (versionName == null || !versionName.startsWith(prefix) || versionName.length() == prefix.length()) {
            return null;
        }
        String v = versionName.substring(prefix.length());
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (!(c == '.' || (c >= '0' && c <= '9'))) {
                return null;
            }
        }
        return v;
    }
}
