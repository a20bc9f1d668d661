package io.bypass.db;

import io.bypass.BypassException;

import java.util.Locale;

/**
 * How the MPI libtool versions of host and container are compared. SYMBOLS is bypass' own rule;
 * MAJOR, FULL and STRICT are Sarus' MPI_COMPATIBILITY_TYPE modes, kept for sites that rely on them.
 */
public enum AbiCheck {
    /** Same major; host minor older than the container's: inject only if every imported MPI symbol exists on the host. */
    SYMBOLS,
    /** Same major (the soname) only. */
    MAJOR,
    /** Same major; host minor older than the container's is a warning. */
    FULL,
    /** Same major and same minor, both present. */
    STRICT;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AbiCheck parse(String value, String where) {
        for (AbiCheck c : values()) {
            if (c.id().equals(value)) {
                return c;
            }
        }
        throw BypassException.badInput(where + ": unknown ABI check '" + value + "' (use symbols, major, full or strict)");
    }
}
