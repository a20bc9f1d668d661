package io.bypass.db;

import io.bypass.BypassException;

import java.util.Locale;

/** The stacks a site registers. The kind decides how a bundle is activated and checked. */
public enum BundleKind {
    MPI, LIBFABRIC, CUDA, GLIBC, GENERIC;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static BundleKind parse(String value, String where) {
        for (BundleKind k : values()) {
            if (k.id().equals(value)) {
                return k;
            }
        }
        throw BypassException.badInput(where + ": unknown kind '" + value + "' (use mpi, libfabric, cuda, glibc or generic)");
    }
}
