package io.bypass.container;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A file system as a dynamic loader would see it: the host's, or a container rootfs seen from the
 * host without ever leaving it. Library resolution is written once against this view.
 */
public interface FileView {

    /** A file found in the view: its canonical path there (no symlinks) and where to read it. */
    record ViewFile(String path, Path hostPath, boolean regularFile) {
    }

    /** Resolves every symlink of an absolute path inside the view; empty when it does not exist. */
    Optional<ViewFile> resolve(String path);

    /** The view's /etc/ld.so.cache, or null when there is none. */
    LdCache ldCache();

    /** Names in a directory of the view (empty when missing). */
    List<String> list(String dir);

    /** For messages: "host" or "container". */
    String describe();
}
