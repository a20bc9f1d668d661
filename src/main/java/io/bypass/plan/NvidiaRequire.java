package io.bypass.plan;

import io.bypass.BypassException;
import io.bypass.util.Versions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * NVIDIA_REQUIRE_* evaluated the way libnvidia-container's C implementation does, since that is
 * what users' images are written against:
 * <ul>
 * <li>a space separates OR terms, a comma ANDs the factors of a term; every NVIDIA_REQUIRE_*
 * variable must hold (they are ANDed);</li>
 * <li>evaluation is lazy and left to right: the first satisfied term ends a variable, the first
 * false factor ends a term, so a malformed factor is an error only when it is reached;</li>
 * <li>keys {@code cuda}, {@code driver}, {@code arch}, {@code brand}, case-insensitive; versions
 * compare numerically component by component, missing components and trailing zeros being zero
 * (535.104.5 = 535.104.05, 418 = 418.0 but not 418.87.01); {@code brand} compares
 * case-insensitively and allows only {@code =} and {@code !=};</li>
 * <li>{@code NVIDIA_DISABLE_REQUIRE} (Go's strconv.ParseBool values) turns it all off;
 * {@code CUDA_VERSION} without {@code NVIDIA_REQUIRE_CUDA} means {@code cuda>=MAJOR.MINOR}.</li>
 * </ul>
 * Deliberate difference from the Go toolkit (nvidia-container-toolkit's requirements package):
 * it rejects an unknown key anywhere in the expression before evaluating; here, as in the C library
 * that does the check at container start, an unknown key after a satisfied term is never read.
 */
public final class NvidiaRequire {

    /** What the requirements are checked against; brand and arch may be unknown (null). */
    public record Host(String cudaVersion, String driverVersion, String brand, String arch) {
    }

    /** The verdict: satisfied, or the first unsatisfied term of the first failing variable. */
    public record Result(boolean satisfied, String variable, String term, String message) {
        static final Result OK = new Result(true, null, null, null);
    }

    private static final List<String> OPERATORS = List.of("<=", ">=", "!=", "==", "=", "<", ">");

    private NvidiaRequire() {
    }

    public static Result check(Map<String, String> env, Host host) {
        if (disabled(env.get("NVIDIA_DISABLE_REQUIRE"))) {
            return Result.OK;
        }
        Map<String, String> requirements = new TreeMap<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith("NVIDIA_REQUIRE_")) {
                requirements.put(e.getKey(), e.getValue());
            }
        }
        String cudaVersion = env.get("CUDA_VERSION");
        if (!requirements.containsKey("NVIDIA_REQUIRE_CUDA") && cudaVersion != null && !cudaVersion.isBlank()) {
            String[] p = cudaVersion.trim().split("\\.");
            String mm = p.length >= 2 ? p[0] + "." + p[1] : p[0];
            requirements.put("NVIDIA_REQUIRE_CUDA", "cuda>=" + mm);
        }
        for (Map.Entry<String, String> r : requirements.entrySet()) {
            String failed = evaluate(r.getKey(), r.getValue(), host);
            if (failed != null) {
                String message = r.getKey() + ": the requirement '" + failed + "' is not met by the host (CUDA "
                        + host.cudaVersion() + ", driver " + host.driverVersion()
                        + (host.brand() == null ? "" : ", brand " + host.brand()) + ")";
                return new Result(false, r.getKey(), failed, message);
            }
        }
        return Result.OK;
    }

    /** Go's strconv.ParseBool: 1, t, T, TRUE, true, True (and the false forms); anything else is false. */
    static boolean disabled(String v) {
        if (v == null) {
            return false;
        }
        return switch (v) {
            case "1", "t", "T", "TRUE", "true", "True" -> true;
            default -> false;
        };
    }

    /** null when the expression holds; else the first unsatisfied term (the first OR term when none holds). */
    static String evaluate(String variable, String expression, Host host) {
        String firstUnsatisfied = null;
        boolean anyTerm = false;
        for (String term : expression.split(" ")) {
            if (term.isEmpty()) {
                continue;
            }
            anyTerm = true;
            boolean holds = true;
            for (String factor : term.split(",")) {
                if (factor.isEmpty()) {
                    continue;
                }
                if (!factor(variable, factor, host)) {
                    holds = false;
                    break;
                }
            }
            if (holds) {
                return null;
            }
            if (firstUnsatisfied == null) {
                firstUnsatisfied = term;
            }
        }
        return anyTerm ? firstUnsatisfied : null;
    }

    private static boolean factor(String variable, String factor, Host host) {
        String op = null;
        int at = -1;
        for (int i = 0; i < factor.length() && op == null; i++) {
            for (String o : OPERATORS) {
                if (factor.startsWith(o, i)) {
                    op = o;
                    at = i;
                    break;
                }
            }
        }
        if (op == null || at == 0 || at + op.length() == factor.length()) {
            throw invalid(variable, factor, "expected KEY OPERATOR VALUE");
        }
        String key = factor.substring(0, at).toLowerCase(Locale.ROOT);
        String value = factor.substring(at + op.length());
        switch (key) {
            case "cuda", "driver", "arch" -> {
                if (!value.matches("\\d+(\\.\\d+)*")) {
                    throw invalid(variable, factor, "'" + value + "' is not a version");
                }
                String actual = key.equals("cuda") ? host.cudaVersion() : key.equals("driver") ? host.driverVersion() : host.arch();
                if (actual == null) {
                    return false;
                }
                int c = Versions.compare(actual, value);
                return switch (op) {
                    case "<" -> c < 0;
                    case "<=" -> c <= 0;
                    case ">" -> c > 0;
                    case ">=" -> c >= 0;
                    case "=", "==" -> c == 0;
                    default -> c != 0;
                };
            }
            case "brand" -> {
                if (!op.equals("=") && !op.equals("==") && !op.equals("!=")) {
                    throw invalid(variable, factor, "brand allows only = and !=");
                }
                if (host.brand() == null) {
                    return false;
                }
                boolean equal = host.brand().equalsIgnoreCase(value);
                return op.equals("!=") != equal;
            }
            default -> throw invalid(variable, factor, "unknown key '" + key + "' (cuda, driver, arch, brand)");
        }
    }

    private static BypassException invalid(String variable, String factor, String why) {
        return BypassException.badInput(variable + ": invalid expression at '" + factor + "': " + why);
    }

    /** The hint for a refusal: a cuda>= term means the host driver is too old for the image. */
    public static String hint(Result r) {
        if (r.term() != null && r.term().toLowerCase(Locale.ROOT).matches(".*cuda>=?[0-9.]+.*")) {
            return "update the host's NVIDIA driver to one that supports this CUDA version, or use an image built for an "
                    + "older CUDA";
        }
        return "use an image whose " + r.variable() + " this host meets";
    }

    /** All the variables of an environment that matter here, for reports. */
    public static List<String> variables(Map<String, String> env) {
        List<String> out = new ArrayList<>();
        for (String k : env.keySet()) {
            if (k.startsWith("NVIDIA_REQUIRE_") || k.equals("CUDA_VERSION") || k.equals("NVIDIA_DISABLE_REQUIRE")) {
                out.add(k);
            }
        }
        return out;
    }
}
