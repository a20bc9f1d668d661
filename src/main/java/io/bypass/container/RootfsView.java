package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.elf.ElfFacts;
import io.bypass.elf.ElfReader;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * A container rootfs seen from the host: every path is resolved inside it and every file read
 * from the descriptor it resolved to (see {@link ContainerRoot}).
 */
public final class RootfsView implements FileView {
    static final String LD_CACHE = "/etc/ld.so.cache";

    private final ContainerRoot root;
    private final Map<String, ElfRead> elfReads = new HashMap<>();
    private LdCache cache;
    private boolean cacheLoaded;
    private String cacheProblem;

    public RootfsView(ContainerRoot root) {
        this.root = root;
    }

    public ContainerRoot root() {
        return root;
    }

    @Override
    public Optional<ViewFile> resolve(String path) {
        return root.resolve(path).map(n -> new ViewFile(n.path(), n.stat().isRegularFile(), n.stat().isDirectory()));
    }

    /**
     * What one read of a path gave: the file, nothing, or the error; and whether its symbols were
     * read. The loader's closure, the image scan and the consumers ask for the same files (the
     * MPI libraries, their dependencies) by the same paths: each is read once per profile, which
     * is also one view of it, not two that a change between the reads could make disagree.
     */
    private record ElfRead(Optional<ElfFile> elf, BypassException error, boolean symbolsRead) {
    }

    @Override
    public Optional<ElfFile> readElf(String path, Predicate<ElfFacts> symbols) {
        ElfRead done = elfReads.get(path);
        if (done != null) {
            if (done.error() != null) {
                throw done.error();
            }
            if (done.elf().isEmpty() || done.symbolsRead() || !symbols.test(done.elf().get().facts())) {
                return done.elf();
            }
        }
        boolean[] symbolsRead = {false};
        Predicate<ElfFacts> asked = facts -> symbolsRead[0] = symbols.test(facts);
        try {
            Optional<ElfFile> elf = root.read(path, f -> new ElfFile(f.path(), ElfReader.read(f, f.displayName(), asked)));
            elfReads.put(path, new ElfRead(elf, null, symbolsRead[0]));
            return elf;
        } catch (ProfileBudget.Exceeded e) {
            throw e;
        } catch (BypassException e) {
            elfReads.put(path, new ElfRead(Optional.empty(), e, false));
            throw e;
        }
    }

    @Override
    public LdCache ldCache() {
        if (!cacheLoaded) {
            cacheLoaded = true;
            try {
                cache = root.read(LD_CACHE, f -> {
                    if (f.size() > LdCache.MAX_BYTES) {
                        throw BypassException.badInput(f.displayName() + ": ld.so.cache larger than "
                                + (LdCache.MAX_BYTES >> 20) + " MiB");
                    }
                    // One byte past the size statx gave: the file may have grown since.
                    byte[] data = f.readBytes(0, (int) f.size() + 1);
                    if (data.length > f.size()) {
                        throw BypassException.badInput(f.displayName() + ": ld.so.cache changed while it was read");
                    }
                    return LdCache.parse(data, f.displayName());
                }).orElse(null);
                if (cache == null && root.resolve(LD_CACHE).isPresent()) {
                    cacheProblem = LD_CACHE + " in the container is not a regular file";
                }
            } catch (ProfileBudget.Exceeded e) {
                throw e;
            } catch (BypassException e) {
                cacheProblem = "the container's " + LD_CACHE + " cannot be used: " + e.getMessage();
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
        return root.list(dir);
    }

    @Override
    public String describe() {
        return "container";
    }
}
