package io.bypass.plan;

import io.bypass.db.AbiCheck;

/**
 * Site choices the planner applies.
 *
 * @param abiCheck the default MPI ABI check (a bundle's descriptor may choose its own)
 */
public record Policy(AbiCheck abiCheck) {
    public static final Policy DEFAULT = new Policy(AbiCheck.SYMBOLS);
}
