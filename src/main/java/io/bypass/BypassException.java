package io.bypass;

/**
 * The product's one error type. Its message is a single line a user can act on (it names the file,
 * field or path and what to do); {@link #exitCode()} follows the command-line contract.
 */
public class BypassException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;
    private final FindingCode code;

    public BypassException(int exitCode, String message) {
        this(exitCode, message, null, null);
    }

    public BypassException(int exitCode, String message, Throwable cause) {
        this(exitCode, message, cause, null);
    }

    private BypassException(int exitCode, String message, Throwable cause, FindingCode code) {
        super(message, cause, false, false);
        this.exitCode = exitCode;
        this.code = code;
    }

    /** Bad input that has a code of its own in the catalog (the audit log and `bypass explain` use it). */
    public static BypassException badInput(FindingCode code, String message) {
        return new BypassException(ExitCodes.BAD_INPUT, message, null, code);
    }

    /** The same error with a catalog code, unless it has one already. */
    public BypassException withCode(FindingCode c) {
        return code != null ? this : new BypassException(exitCode, getMessage(), getCause(), c);
    }

    /** The catalog code: the one given, else bad-input (exit 2) or internal-error. */
    public FindingCode code() {
        return code != null ? code : exitCode == ExitCodes.BAD_INPUT ? FindingCode.BAD_INPUT : FindingCode.INTERNAL_ERROR;
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
