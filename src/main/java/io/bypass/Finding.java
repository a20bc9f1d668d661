package io.bypass;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.util.Json;

import java.util.Locale;

/**
 * One observation of the profile or the planner: a stable code for machines, a sentence for the
 * user, and what to do about it.
 *
 * @param code    stable identifier, e.g. "glibc-too-old", "abi-minor-older", "missing-symbols"
 * @param message one line naming the library, the version and both sides
 * @param hint    what to do, or null
 * @param bundle  the bundle concerned, or null
 */
public record Finding(Severity severity, String code, String message, String hint, String bundle) {

    /** Every code is in {@link FindingCode}, raised with the severity the catalog gives it. */
    public Finding {
        FindingCode c = FindingCode.of(code);
        if (c == null) {
            throw new IllegalArgumentException("finding code '" + code + "' is not in FindingCode (add it there)");
        }
        if (c.severity() != severity) {
            throw new IllegalArgumentException("finding code '" + code + "' is " + c.severity().id() + " in FindingCode, raised as "
                    + severity.id());
        }
    }

    public enum Severity {
        INFO, WARNING, ERROR;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static Finding info(String code, String message) {
        return new Finding(Severity.INFO, code, message, null, null);
    }

    public static Finding warning(String code, String message, String hint) {
        return new Finding(Severity.WARNING, code, message, hint, null);
    }

    public static Finding error(String code, String message, String hint) {
        return new Finding(Severity.ERROR, code, message, hint, null);
    }

    public Finding forBundle(String name) {
        return new Finding(severity, code, message, hint, name);
    }

    /** The message with what to do: what a refusal tells the user. */
    public String withHint() {
        return hint == null ? message : message + "; " + hint;
    }

    /** The line a refused container start shows: "bypass: refused: MESSAGE; HINT [CODE]". */
    public String refusalLine() {
        return refusalLine(withHint(), code);
    }

    public static String refusalLine(String reason, String code) {
        return "bypass: refused: " + reason + (code == null ? "" : " [" + code + "]");
    }

    public boolean isError() {
        return severity == Severity.ERROR;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("severity", severity.id());
        o.put("code", code);
        o.put("message", message);
        if (hint != null) {
            o.put("hint", hint);
        }
        if (bundle != null) {
            o.put("bundle", bundle);
        }
        return o;
    }
}
