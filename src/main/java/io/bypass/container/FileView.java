package io.bypass.container;

import io.bypass.elf.ElfFacts;

import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * A file system as a dynamic loader would see it: the host's, or a container rootfs seen from the
 * host without ever leaving it. Library resolution is written once against this view.
 */
public interface FileView {

    /** A file found in the view: its canonical path there (no symlinks) and its type. */
    record ViewFile(String path, boolean regularFile, boolean directory) {
    }

    /** An ELF file read from the view: its canonical path and its facts. */
    record ElfFile(String path, ElfFacts facts) {
    }

    /** Whether {@link #readElf} reads the dynamic symbols: always. */
    Predicate<ElfFacts> ALL_SYMBOLS = new Symbols(true);
    /** Whether {@link #readElf} reads the dynamic symbols: never. */
    Predicate<ElfFacts> NO_SYMBOLS = new Symbols(false);

    /** A fixed answer; a class, not a lambda: a cold hook links no lambda it can do without (docs/speed.md). */
    final class Symbols implements Predicate<ElfFacts> {
        private final boolean read;

        private Symbols(boolean read) {
            this.read = read;
        }

        @Override
        public boolean test(ElfFacts facts) {
            return read;
        }
    }

    /** Resolves every symlink of an absolute path inside the view; empty when it does not exist. */
    Optional<ViewFile> resolve(String path);

    /**
     * Resolves a path and reads the ELF facts of what was resolved, from that very file. Empty when
     * the path does not resolve to a regular file.
     *
     * @param symbols decides from the other facts whether the dynamic symbols are read too
     * @throws io.bypass.BypassException when the file is not a valid ELF file
     */
    Optional<ElfFile> readElf(String path, Predicate<ElfFacts> symbols);

    /** The view's /etc/ld.so.cache, or null when there is none. */
    LdCache ldCache();

    /** Names in a directory of the view (empty when missing). */
    List<String> list(String dir);

    /** For messages: "host" or "container". */
    String describe();
}
