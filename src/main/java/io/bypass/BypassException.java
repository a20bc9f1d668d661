package io.bypass;

/**
 * The product's one error type. Its message is a single line a user can act on (it names the file,
 * field or path and what to do); {@link #exitCode()} follows the command-line contract.
 */
public class BypassException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    public BypassException(int exitCode, String message) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    public BypassException(int exitCode, String message, Throwable cause) {
        super(message, cause, false, false);
        this.exitCode = exitCode;
    }

    /** Bad usage or bad input (exit 2). */
    public static BypassException badInput(String message) {
        return new BypassException(ExitCodes.BAD_INPUT, message);
    }

    /** Something that should not happen, or the host failed us (exit 1). */
    public static BypassException internal(String message, Throwable cause) {
        return new BypassException(ExitCodes.INTERNAL, message, cause);
    }

    public int exitCode() {
        return exitCode;
    }
}
