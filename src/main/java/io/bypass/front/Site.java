package io.bypass.front;

import io.bypass.BypassException;
import io.bypass.FindingCode;
import io.bypass.config.SiteConfig;
import io.bypass.db.Database;
import io.bypass.plan.Policy;

import java.nio.file.Path;
import java.util.Map;

/**
 * The site a decision is made for: its database, its configuration and the policy that follows
 * from it (abiCheck), built once per process. The database's existence and trust are checked
 * once, on first use.
 *
 * <p>Where the database and the configuration come from: the --db / --config option, else (for
 * admin commands only) $BYPASS_DB / $BYPASS_CONFIG, else what the install recorded (the launcher
 * passes it as -Dbypass.db / -Dbypass.config), else /etc/bypass/db and /etc/bypass/config.json. A
 * hook never reads BYPASS_* from its environment: runc starts hooks with its own environment, and
 * what runs as root must not depend on the hygiene of whoever started the runtime.
 */
public final class Site {
    private final Database db;
    private final SiteConfig config;
    private final Policy policy;
    private final Path configFile;
    private boolean checked;
    /** The database's entries as its trust check listed them; null when it did not run (not root, not a container start) or was taken. */
    private Database.Listing listing;

    public Site(Database db, SiteConfig config, Policy policy) {
        this(db, config, policy, null);
    }

    private Site(Database db, SiteConfig config, Policy policy, Path configFile) {
        this.db = db;
        this.config = config;
        this.policy = policy;
        this.configFile = configFile;
    }

    /** The site of these files: the configuration is loaded now (and must be root's when we are root). */
    public static Site load(Database db, Path configFile) {
        SiteConfig config = SiteConfig.load(configFile, isRoot());
        return new Site(db, config, new Policy(config.abiCheck()), configFile);
    }

    /** The same site deciding under another policy (`check --abi-check`). */
    public Site withPolicy(Policy p) {
        return new Site(db, config, p, configFile);
    }

    /** The configuration file this site was loaded from (part of the decision cache's key), or null. */
    public Path configFile() {
        return configFile;
    }

    public Database database() {
        return db;
    }

    public SiteConfig config() {
        return config;
    }

    public Policy policy() {
        return policy;
    }

    /** The database directory: the option, else $BYPASS_DB when the environment counts, else the install's, else the default. */
    public static Database databaseFor(Path option, boolean fromEnv) {
        return new Database(locate(option, fromEnv, "BYPASS_DB", "bypass.db", Path.of(Database.DEFAULT_DIR)));
    }

    /** The site configuration file, found the same way. */
    public static Path configFileFor(Path option, boolean fromEnv) {
        return locate(option, fromEnv, "BYPASS_CONFIG", "bypass.config", SiteConfig.DEFAULT_FILE);
    }

    private static Path locate(Path option, boolean fromEnv, String envName, String property, Path fallback) {
        if (option != null) {
            return option;
        }
        if (fromEnv) {
            Map<String, String> env = System.getenv();
            String e = env.get(envName);
            if (e != null && !e.isEmpty()) {
                return Path.of(e);
            }
        }
        String installed = System.getProperty(property);
        return installed != null && !installed.isEmpty() ? Path.of(installed) : fallback;
    }

    /**
     * The database exists, and, for a front that starts a container or when we are root, nobody
     * but root can change it. Nothing here creates it.
     */
    void requireDatabase(Mode mode) {
        if (checked) {
            return;
        }
        requireExists(db);
        if (mode.startsContainer() || isRoot()) {
            try {
                listing = db.requireTrusted();
            } catch (BypassException e) {
                throw e.withCode(FindingCode.DATABASE_UNTRUSTED);
            }
        }
        checked = true;
    }

    /** Whether no bundle is registered (from the trust check's listing while it is there: one listing per hook). */
    boolean noBundles() {
        return listing != null ? listing.isEmpty() : db.names().isEmpty();
    }

    /**
     * The trust check's listing of the database, for the first decision's cache key; null when
     * it did not run or was taken already. Taken once: a later decision of a long-lived site
     * (tests, a front that decides twice) lists the database again, and sees what changed.
     */
    Database.Listing takeDatabaseListing() {
        Database.Listing l = listing;
        listing = null;
        return l;
    }

    /**
     * The database for a front that reads it without deciding for one container (CDI specs): it
     * must exist and, when we are root, be root's alone, as for a decision.
     */
    public Database readDatabase() {
        requireDatabase(Mode.CHECK);
        return db;
    }

    /** Exit 2 naming a missing database and how to create it (every read-only command). */
    public static void requireExists(Database db) {
        db.requireExists();
    }

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
