package io.bypass.db;

import io.bypass.BypassException;
import io.bypass.util.Json;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The site database: a directory with one JSON file per bundle under {@code bundles/}.
 *
 * <p>Writers (register, remove) hold an exclusive lock on {@code .lock} and replace a bundle's file
 * with an atomic rename of a fully written, fsynced temporary file, so a reader (a hook starting a
 * container) sees either the old entry or the new one, never a half-written one, and takes no lock.
 */
public final class Database {
    public static final String DEFAULT_DIR = "/etc/bypass/db";
    private static final String BUNDLES = "bundles";
    private static final String SUFFIX = ".json";
    private static final String GENERATION = ".generation";

    private final Path dir;

    public Database(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    public Path dir() {
        return dir;
    }

    Path bundlesDir() {
        return dir.resolve(BUNDLES);
    }

    Path entryFile(String name) {
        return bundlesDir().resolve(name + SUFFIX);
    }

    /**
     * A hook runs as root over what the database says: the database directory, its bundles
     * directory and every entry must be root's and writable by nobody else, or it is not used.
     *
     * @return the entries as checked, for {@link #generation(Listing)}: a hook lists and stats
     *         them once for both
     */
    public Listing requireTrusted() {
        List<Path> dirs = new ArrayList<>();
        dirs.add(dir);
        boolean hasBundles = Files.isDirectory(bundlesDir(), LinkOption.NOFOLLOW_LINKS);
        if (hasBundles) {
            dirs.add(bundlesDir());
        }
        for (Path p : dirs) {
            try {
                refuseUntrusted(p, io.bypass.util.Ownership.problem(p, false));
            } catch (NoSuchFileException e) {
                throw BypassException.badInput(p + ": the database does not exist; create it with packaging/install.sh");
            } catch (IOException e) {
                throw BypassException.badInput(p + ": cannot check the database: " + e.getMessage());
            }
        }
        Listing listing = hasBundles ? list() : new Listing(List.of());
        for (EntryStat e : listing.entries()) {
            refuseUntrusted(bundlesDir().resolve(e.fileName()), io.bypass.util.Ownership.problem(e.uid(), e.mode()));
        }
        return listing;
    }

    private static void refuseUntrusted(Path p, String problem) {
        if (problem != null) {
            throw BypassException.badInput(p + " " + problem + "; refusing to use the database"
                    + (problem.contains("writable") ? " (chmod go-w " + p + ")" : problem.contains("owned")
                    ? " (chown root " + p + ")" : ""));
        }
    }

    /** The entry files of one listing, sorted by name, each as one stat saw it. */
    public record Listing(List<EntryStat> entries) {
        public Listing {
            entries = List.copyOf(entries);
        }

        public boolean isEmpty() {
            return entries.isEmpty();
        }
    }

    /** An entry file's name and what a stat (not following a symlink) said of it. */
    public record EntryStat(String fileName, long ino, long size, long mtimeNs, long ctimeNs, int uid, int mode) {
    }

    /** The entries now: one listing of bundles/, one stat per entry (an entry removed in between is left out). */
    Listing list() {
        List<EntryStat> out = new ArrayList<>();
        for (Path file : entryFiles()) {
            try {
                java.util.Map<String, Object> a = Files.readAttributes(file, "unix:ino,size,lastModifiedTime,ctime,uid,mode",
                        LinkOption.NOFOLLOW_LINKS);
                out.add(new EntryStat(file.getFileName().toString(), (Long) a.get("ino"), (Long) a.get("size"),
                        ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(java.util.concurrent.TimeUnit.NANOSECONDS),
                        ((java.nio.file.attribute.FileTime) a.get("ctime")).to(java.util.concurrent.TimeUnit.NANOSECONDS),
                        (Integer) a.get("uid"), (Integer) a.get("mode")));
            } catch (NoSuchFileException e) {
                // Removed since the listing: the counter has moved too.
            } catch (IOException e) {
                throw BypassException.badInput(file + ": cannot stat the database entry: " + e.getMessage());
            }
        }
        return new Listing(out);
    }

    /** Whether the database directory exists at all (a missing one reads as empty here; commands refuse it). */
    public boolean exists() {
        return Files.isDirectory(dir);
    }

    public List<BundleEntry> loadAll() {
        List<BundleEntry> out = new ArrayList<>();
        for (Path file : entryFiles()) {
            // An entry removed by `db remove` between the listing and the read is simply gone.
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) || !Files.isDirectory(file.getParent())) {
                try {
                    out.add(read(file));
                } catch (BypassException e) {
                    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                        throw e;
                    }
                }
            }
        }
        out.sort(null);   // by name
        return out;
    }

    public List<String> names() {
        List<String> names = new ArrayList<>();
        for (Path file : entryFiles()) {
            String fn = file.getFileName().toString();
            names.add(fn.substring(0, fn.length() - SUFFIX.length()));
        }
        names.sort(null);
        return names;
    }

    public Optional<BundleEntry> load(String name) {
        requireName(name);
        Path file = entryFile(name);
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        return Optional.of(read(file));
    }

    public BundleEntry require(String name) {
        return load(name).orElseThrow(() -> BypassException.badInput(
                "no bundle named '" + name + "' in " + dir + " (see: bypass db list)"));
    }

    private BundleEntry read(Path file) {
        BundleEntry e = BundleEntry.fromJson(Json.readFileNoFollow(file), file.toString());
        String fn = file.getFileName().toString();
        if (!fn.equals(e.name() + SUFFIX)) {
            throw BypassException.badInput(file + ": holds bundle '" + e.name() + "'; the file name must be " + e.name() + SUFFIX);
        }
        return e;
    }

    private List<Path> entryFiles() {
        Path bundles = bundlesDir();
        if (!Files.isDirectory(bundles, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(bundles)) {
            for (Path p : ds) {
                String fn = p.getFileName().toString();
                // Temporary files of a writer start with '.', and are not entries yet.
                if (!fn.startsWith(".") && fn.endsWith(SUFFIX)) {
                    files.add(p);
                }
            }
        } catch (IOException e) {
            throw BypassException.badInput(bundles + ": cannot list the database: " + e.getMessage());
        }
        files.sort(null);
        return files;
    }

    /** Stores an entry atomically, replacing any entry of the same name. */
    public void store(BundleEntry entry) {
        requireName(entry.name());
        withLock(() -> {
            io.bypass.util.AtomicFile.write(entryFile(entry.name()), Json.writeBytes(entry.toJson()));
            bumpCounter();
            return null;
        });
    }

    /**
     * What the decision cache keys on: a digest of the write counter ({@code .generation}, bumped
     * under the lock by every register and remove) and of each entry file's name, inode, size,
     * mtime and ctime, so that an entry edited or replaced by hand changes it too. Costs one
     * directory listing and one stat per bundle; reads no entry. The same for a missing database.
     */
    public String generation() {
        return generation(list());
    }

    /** The same of a listing this database made (what {@link #requireTrusted} returned). */
    public String generation(Listing listing) {
        StringBuilder sb = new StringBuilder("db-generation 1\n");
        sb.append(dir).append('\n').append(counter()).append('\n');
        for (EntryStat e : listing.entries()) {
            sb.append(e.fileName()).append(' ').append(e.ino()).append(' ').append(e.size()).append(' ').append(e.mtimeNs())
                    .append(' ').append(e.ctimeNs()).append('\n');
        }
        byte[] d = new io.bypass.util.Sha256().digest(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        StringBuilder hex = new StringBuilder(64);
        for (byte b : d) {
            hex.append(Character.forDigit((b >> 4) & 15, 16)).append(Character.forDigit(b & 15, 16));
        }
        return hex.toString();
    }

    /** The number of writes the database has had (0 before the first, or for a database older than the counter). */
    public long counter() {
        Path f = dir.resolve(GENERATION);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b);
            return Long.parseLong(new String(b.array(), 0, b.position(), java.nio.charset.StandardCharsets.US_ASCII).trim());
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException | NumberFormatException e) {
            throw BypassException.badInput(f + ": not a generation counter (" + e.getMessage() + "); remove it and run bypass db register again");
        }
    }

    /** Under the lock. */
    private void bumpCounter() {
        long next;
        try {
            next = counter() + 1;
        } catch (BypassException e) {
            next = System.currentTimeMillis();   // a damaged counter: still strictly a new value
        }
        io.bypass.util.AtomicFile.write(dir.resolve(GENERATION), (next + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    /** Removes an entry; false when there was none. */
    public boolean remove(String name) {
        requireName(name);
        return withLock(() -> {
            try {
                boolean removed = Files.deleteIfExists(entryFile(name));
                if (removed) {
                    io.bypass.util.AtomicFile.fsyncDir(bundlesDir());
                    bumpCounter();
                }
                return removed;
            } catch (IOException e) {
                throw BypassException.internal(entryFile(name) + ": cannot remove: " + e.getMessage(), e);
            }
        });
    }

    private static void requireName(String name) {
        if (!BundleDescriptor.NAME.matcher(name).matches()) {
            throw BypassException.badInput("'" + name + "' is not a valid bundle name");
        }
    }

    interface Locked<T> {
        T run();
    }

    /**
     * Creates the database (the directory and its bundles/, root's, 0755): `bypass db init` and
     * install.sh only; nothing else creates a database. False when it existed already.
     */
    public boolean init() {
        boolean existed = exists();
        try {
            Files.createDirectories(bundlesDir());
            setMode(dir, "rwxr-xr-x");
            setMode(bundlesDir(), "rwxr-xr-x");
        } catch (IOException e) {
            throw BypassException.badInput(dir + ": cannot create the database directory: " + e.getMessage());
        }
        return !existed;
    }

    /** Exit 2 naming a missing database and how to create it. */
    public void requireExists() {
        if (!exists()) {
            throw BypassException.badInput(io.bypass.FindingCode.DATABASE_MISSING, dir
                    + ": the database does not exist; create it with packaging/install.sh --db " + dir + ", or: bypass --db "
                    + dir + " db init");
        }
    }

    private <T> T withLock(Locked<T> action) {
        requireExists();
        try {
            Files.createDirectories(bundlesDir());
            setMode(dir, "rwxr-xr-x");
            setMode(bundlesDir(), "rwxr-xr-x");
        } catch (IOException e) {
            throw BypassException.badInput(dir + ": cannot create the database directory: " + e.getMessage());
        }
        Path lock = dir.resolve(".lock");
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
             FileLock ignored = ch.lock()) {
            return action.run();
        } catch (IOException e) {
            throw BypassException.badInput(lock + ": cannot lock the database: " + e.getMessage());
        }
    }

    private static void setMode(Path p, String mode) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        } catch (UnsupportedOperationException ignored) {
            // Not a POSIX file system: nothing to tighten.
        }
    }

}
