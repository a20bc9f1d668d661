package io.bypass.config;

import io.bypass.BypassException;
import io.bypass.db.AbiCheck;
import io.bypass.util.Json;
import io.bypass.util.Json.Fields;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The site's choices for the hook (/etc/bypass/config.json, or --config / $BYPASS_CONFIG). A
 * missing file means the defaults; a file anyone but root can change is refused, since it decides
 * what runs as root.
 *
 * @param onError   what a hook does when it cannot decide or apply (database missing or corrupt,
 *                  helper missing or killed, a registered file changed): FAIL the container start
 *                  (default), or SKIP bypass and start the container untouched. A refusal for
 *                  incompatibility always fails.
 * @param auditFile one line per decision appended here, or null
 * @param syslog    one line per decision to syslog (through logger(1)), too
 * @param helper    the mount helper, or null for the one installed next to the launcher
 * @param ldconfig  the host's ldconfig
 */
public record SiteConfig(OnError onError, Path auditFile, boolean syslog, Path helper, Path ldconfig, AbiCheck abiCheck) {

    public static final Path DEFAULT_FILE = Path.of("/etc/bypass/config.json");
    public static final SiteConfig DEFAULTS = new SiteConfig(OnError.FAIL, null, false, null, Path.of("/sbin/ldconfig"),
            AbiCheck.SYMBOLS);

    public enum OnError { FAIL, SKIP }

    /** The file named by the option, then $BYPASS_CONFIG, then the default. */
    public static Path locate(Path option, Map<String, String> env) {
        if (option != null) {
            return option;
        }
        String e = env.get("BYPASS_CONFIG");
        return e != null && !e.isEmpty() ? Path.of(e) : DEFAULT_FILE;
    }

    public static SiteConfig load(Path file, boolean requireTrusted) {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return DEFAULTS;
        }
        if (requireTrusted) {
            requireTrusted(file);
        }
        Fields f = Fields.of(Json.readFile(file), file + ":").onlyKnown("onError", "audit", "helper", "ldconfig", "abiCheck");
        String onError = f.optString("onError", "fail");
        OnError oe = switch (onError) {
            case "fail" -> OnError.FAIL;
            case "skip" -> OnError.SKIP;
            default -> throw BypassException.badInput(f.where("onError") + ": '" + onError + "' (use fail or skip)");
        };
        Path audit = null;
        boolean syslog = false;
        Fields a = f.optObject("audit");
        if (a != null) {
            a.onlyKnown("file", "syslog");
            String af = a.optString("file", null);
            if (af != null) {
                audit = absolute(af, a.where("file"));
            }
            syslog = a.optBool("syslog", false);
        }
        String helper = f.optString("helper", null);
        String abi = f.optString("abiCheck", "symbols");
        return new SiteConfig(oe, audit, syslog, helper == null ? null : absolute(helper, f.where("helper")),
                absolute(f.optString("ldconfig", "/sbin/ldconfig"), f.where("ldconfig")), AbiCheck.parse(abi, f.where("abiCheck")));
    }

    private static Path absolute(String p, String where) {
        if (!p.startsWith("/")) {
            throw BypassException.badInput(where + ": '" + p + "' must be an absolute path");
        }
        return Path.of(p);
    }

    static void requireTrusted(Path file) {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw BypassException.badInput(file + " is not a regular file; refusing to use it as bypass' configuration");
            }
            String problem = io.bypass.util.Ownership.problem(file, false);
            if (problem != null) {
                throw BypassException.badInput(file + " " + problem + "; refusing to use it as bypass' configuration (chown root "
                        + file + "; chmod go-w " + file + ")");
            }
        } catch (NoSuchFileException e) {
            throw BypassException.badInput(file + ": no such file");
        } catch (IOException e) {
            throw BypassException.badInput(file + ": cannot check: " + e.getMessage());
        }
    }
}
