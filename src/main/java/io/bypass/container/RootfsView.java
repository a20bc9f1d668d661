package io.bypass.container;

import io.bypass.BypassException;

import java.util.List;
import java.util.Optional;

/** A container rootfs seen from the host: every path is resolved inside it (see {@link Rootfs}). */
public final class RootfsView implements FileView {
    private final Rootfs rootfs;
    private LdCache cache;
    private boolean cacheLoaded;
    private String cacheProblem;

    public RootfsView(Rootfs rootfs) {
        this.rootfs = rootfs;
    }

    public Rootfs rootfs() {
        return rootfs;
    }

    @Override
    public Optional<ViewFile> resolve(String path) {
        try {
            return rootfs.resolve(path).map(r -> new ViewFile(r.containerPath(), r.hostPath(), r.attrs().isRegularFile()));
        } catch (BypassException loop) {
            // A symlink loop: the loader gets ELOOP there and goes on searching, and so do we.
            return Optional.empty();
        }
    }

    @Override
    public LdCache ldCache() {
        if (!cacheLoaded) {
            cacheLoaded = true;
            Optional<Rootfs.Resolved> file;
            try {
                file = rootfs.resolve("/etc/ld.so.cache");
            } catch (BypassException e) {
                cacheProblem = "the container's /etc/ld.so.cache cannot be used: " + e.getMessage();
                return null;
            }
            if (file.isPresent()) {
                if (!file.get().attrs().isRegularFile()) {
                    cacheProblem = "/etc/ld.so.cache in the container is not a regular file";
                } else {
                    try {
                        cache = LdCache.read(file.get().hostPath());
                    } catch (BypassException e) {
                        cacheProblem = "the container's /etc/ld.so.cache cannot be used: " + e.getMessage();
                    }
                }
            }
        }
        return cache;
    }

    /** Why the container's cache was ignored, or null. */
    public String cacheProblem() {
        ldCache();
        return cacheProblem;
    }

    @Override
    public List<String> list(String dir) {
        return rootfs.list(dir);
    }

    @Override
    public String describe() {
        return "container";
    }
}
