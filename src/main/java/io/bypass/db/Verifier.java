package io.bypass.db;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Compares registered files and devices with the host as it is now. */
public final class Verifier {

    public record Problem(String bundle, String path, String problem) {
    }

    private Verifier() {
    }

    /**
     * What a hook can afford before mounting: each planned source still exists with the size and
     * modification time it had at registration (no hashing: `db verify` does that).
     */
    public static List<Problem> quickCheck(List<BundleEntry> bundles, java.util.Collection<String> sources) {
        return quickCheckSources(sources(bundles, sources));
    }

    /** A registered file as the quick check needs it: kept with a cached plan, so a hit reads no database. */
    public record Source(String bundle, String path, long size, long mtime) {
    }

    /** The registered files among paths, with what the quick check compares. */
    public static List<Source> sources(List<BundleEntry> bundles, java.util.Collection<String> paths) {
        List<Source> out = new ArrayList<>();
        java.util.Set<String> wanted = new java.util.HashSet<>(paths);
        for (BundleEntry b : bundles) {
            for (RegisteredFile f : b.files()) {
                if (wanted.contains(f.path())) {
                    out.add(new Source(b.name(), f.path(), f.size(), f.mtime()));
                }
            }
        }
        return out;
    }

    /** {@link #quickCheck} of sources already picked out. */
    public static List<Problem> quickCheckSources(List<Source> sources) {
        List<Problem> out = new ArrayList<>();
        for (Source f : sources) {
            Path p = Path.of(f.path());
            try {
                java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
                        java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isRegularFile() || a.size() != f.size() || (f.mtime() != 0 && a.lastModifiedTime().toMillis() != f.mtime())) {
                    out.add(new Problem(f.bundle(), f.path(), "changed since registration"));
                }
            } catch (IOException e) {
                out.add(new Problem(f.bundle(), f.path(), "vanished"));
            }
        }
        return out;
    }

    public static List<Problem> verify(List<BundleEntry> bundles) {
        List<Problem> out = new ArrayList<>();
        for (BundleEntry b : bundles) {
            for (RegisteredFile f : b.files()) {
                Path p = Path.of(f.path());
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.add(new Problem(b.name(), f.path(), "vanished"));
                    continue;
                }
                try {
                    if (Files.size(p) != f.size() || !Registrar.sha256(p).equals(f.sha256())) {
                        out.add(new Problem(b.name(), f.path(), "changed (checksum differs from registration)"));
                    }
                } catch (IOException | RuntimeException e) {
                    out.add(new Problem(b.name(), f.path(), "unreadable: " + e.getMessage()));
                }
            }
            for (RegisteredDevice d : b.devices()) {
                Path p = Path.of(d.path());
                if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.add(new Problem(b.name(), d.path(), "vanished"));
                    continue;
                }
                try {
                    RegisteredDevice now = Registrar.device(p, d.path());
                    if (now.type() != d.type() || now.major() != d.major() || now.minor() != d.minor()) {
                        out.add(new Problem(b.name(), d.path(), "changed (now " + now.type() + " " + now.major() + ":"
                                + now.minor() + ")"));
                    }
                } catch (RuntimeException e) {
                    out.add(new Problem(b.name(), d.path(), e.getMessage()));
                }
            }
            for (BundleDescriptor.ExtraMount m : b.mounts()) {
                if (!Files.exists(Path.of(m.source()))) {
                    out.add(new Problem(b.name(), m.source(), "vanished"));
                }
            }
        }
        return out;
    }
}
