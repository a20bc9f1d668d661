package io.bypass.cache;

import io.bypass.container.ContainerRoot;

import java.io.IOException;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;

/**
 * How a hit re-checks the recorded files: through a {@link ContainerRoot} of the container being
 * started, so with the same in-root, descriptor-based resolution the profile used. A recorded
 * path is canonical: it must still resolve to itself (a directory on the way swapped for a
 * symlink is a difference, whatever the file it now leads to).
 */
public final class RootReader implements FileIdentity.Reader, ContainerRoot.Observer {
    private final ContainerRoot root;
    private String linkPath;
    private String linkTarget;

    public RootReader(ContainerRoot root) {
        this.root = root;
        root.observe(this);
    }

    @Override
    public Optional<FileIdentity.Stat> stat(String path) throws IOException {
        Optional<ContainerRoot.Node> n = root.resolveNoFollowLast(path);
        if (n.isEmpty()) {
            return Optional.empty();
        }
        requireCanonical(path, n.get().path());
        return Optional.of(RootRecorder.stat(n.get().stat()));
    }

    @Override
    public Optional<String> resolve(String path, boolean followLast) {
        Optional<ContainerRoot.Node> n = followLast ? root.resolve(path) : root.resolveNoFollowLast(path);
        return n.map(ContainerRoot.Node::path);
    }

    @Override
    public byte[] read(String path, long offset, int length) throws IOException {
        Optional<byte[]> b = root.read(path, f -> {
            requireCanonical(path, f.path());
            return f.readBytes(offset, length);
        });
        if (b.isEmpty()) {
            throw new IOException(path + ": not a readable file now");
        }
        return b.get();
    }

    /** All ranges from one opening of the file. */
    @Override
    public String rangesDigest(String path, List<FileIdentity.Range> ranges) throws IOException {
        Optional<String> d = root.read(path, f -> {
            requireCanonical(path, f.path());
            MessageDigest md = FileIdentity.newDigest();
            for (FileIdentity.Range r : ranges) {
                long off = r.offset();
                long left = r.length();
                while (left > 0) {
                    int n = (int) Math.min(left, FileIdentity.CHUNK);
                    byte[] b = f.readBytes(off, n);
                    if (b.length != n) {
                        return "short";
                    }
                    md.update(b);
                    off += n;
                    left -= n;
                }
            }
            return FileIdentity.hex(md.digest());
        });
        if (d.isEmpty()) {
            throw new IOException(path + ": not a readable file now");
        }
        return d.get().equals("short") ? null : d.get();
    }

    @Override
    public String readLink(String path) throws IOException {
        linkPath = null;
        linkTarget = null;
        Optional<ContainerRoot.Node> n = root.resolveNoFollowLast(path);
        if (n.isEmpty() || !n.get().stat().isSymbolicLink() || !path.equals(linkPath) || linkTarget == null) {
            throw new IOException(path + ": not a readable symbolic link now");
        }
        return linkTarget;
    }

    @Override
    public List<String> list(String path) throws IOException {
        linkPath = null;
        List<String> names = root.list(path);
        if (!path.equals(linkPath)) {
            throw new IOException(path + ": not a listable directory now");
        }
        return names;
    }

    private static void requireCanonical(String asked, String found) throws IOException {
        if (!asked.equals(found)) {
            throw new IOException(asked + ": now resolves to " + found);
        }
    }

    // ---------------------------------------------------------------- what the root reports

    @Override
    public void lookup(String path, boolean followed, ContainerRoot.Node found) {
    }

    @Override
    public void linkTarget(String canonicalPath, String target) {
        linkPath = canonicalPath;
        linkTarget = target;
    }

    @Override
    public void read(String canonicalPath, long offset, byte[] bytes, int len) {
    }

    @Override
    public void listing(String canonicalPath, List<String> names) {
        linkPath = canonicalPath;   // the directory actually listed
    }
}
