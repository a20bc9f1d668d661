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
        Optional<ContainerRoot.Node> found = root.resolve(path);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        ContainerRoot.Node n = found.get();
        return Optional.of(new ViewFile(n.path(), n.stat().isRegularFile(), n.stat().isDirectory()));
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
        ElfReading reading = new ElfReading(symbols);
        try {
            Optional<ElfFile> elf = root.read(path, reading);
            elfReads.put(path, new ElfRead(elf, null, reading.symbolsRead));
            return elf;
        } catch (ProfileBudget.Exceeded e) {
            throw e;
        } catch (BypassException e) {
            elfReads.put(path, new ElfRead(Optional.empty(), e, false));
            throw e;
        }
    }

    /** The container's ld.so.cache, parsed; a class, not a lambda (no lambda on a cold hook). */
    private static final ContainerRoot.FileFunction<LdCache> LD_CACHE_READER = new ContainerRoot.FileFunction<>() {
        @Override
        public LdCache apply(ContainerFile f) throws java.io.IOException {
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
        }
    };

    /**
     * One read of an ELF file, which remembers whether its symbols were asked for. A class, not
     * two lambdas: a cold hook links no lambda it can do without (docs/speed.md).
     */
    private static final class ElfReading implements ContainerRoot.FileFunction<ElfFile>, Predicate<ElfFacts> {
        private final Predicate<ElfFacts> symbols;
        boolean symbolsRead;

        ElfReading(Predicate<ElfFacts> symbols) {
            this.symbols = symbols;
        }

        @Override
        public ElfFile apply(ContainerFile f) throws java.io.IOException {
            return new ElfFile(f.path(), ElfReader.read(f, f.displayName(), this));
        }

        @Override
        public boolean test(ElfFacts facts) {
            symbolsRead = symbols.test(facts);
            return symbolsRead;
        }
    }

    @Override
    public LdCache ldCache() {
        if (!cacheLoaded) {
            cacheLoaded = true;
            try {
                cache = root.read(LD_CACHE, LD_CACHE_READER).orElse(null);
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
