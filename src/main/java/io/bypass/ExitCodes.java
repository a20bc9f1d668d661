package io.bypass;

/** Exit codes of the command-line contract (shared/DESIGN.md). */
public final class ExitCodes {
    public static final int OK = 0;
    public static final int INTERNAL = 1;
    public static final int BAD_INPUT = 2;
    public static final int REFUSED = 3;

    private ExitCodes() {
    }
}
