package io.bypass.cache;

import io.bypass.container.ContainerRoot;

import java.util.List;
import java.util.Optional;

/**
 * Feeds what a {@link ContainerRoot} sees while a profile runs into an {@link IdentityRecorder}:
 * the stat of each node a lookup found (under its canonical path), the lookup itself when it went
 * through a symbolic link or found nothing (a file appearing there later must invalidate), the
 * bytes read of each file, the targets of links found, and the names of directories listed.
 */
public final class RootRecorder implements ContainerRoot.Observer {
    private final IdentityRecorder recorder;

    public RootRecorder(IdentityRecorder recorder) {
        this.recorder = recorder;
    }

    public IdentityRecorder recorder() {
        return recorder;
    }

    @Override
    public void lookup(String path, boolean followed, ContainerRoot.Node found) {
        if (found != null) {
            recorder.stat(found.path(), Optional.of(stat(found.stat())));
        }
        recorder.resolved(path, followed, found == null ? null : found.path());
    }

    @Override
    public void linkTarget(String canonicalPath, String target) {
        recorder.link(canonicalPath, target);
    }

    @Override
    public void read(String canonicalPath, long offset, byte[] bytes, int len) {
        recorder.read(canonicalPath, offset, bytes, len);
    }

    @Override
    public void listing(String canonicalPath, List<String> names) {
        recorder.listing(canonicalPath, names);
    }

    /** The identity's view of a statx result: type, inode, size, mtime and permission bits (no st_dev). */
    static FileIdentity.Stat stat(ContainerRoot.Stat st) {
        return new FileIdentity.Stat(st.type(), st.ino(), st.size(), st.mtimeNs(), st.mode() & 07777);
    }
}
