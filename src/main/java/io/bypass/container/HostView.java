package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.elf.ElfFacts;
import io.bypass.elf.ElfReader;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** The host's own file system: trusted, administered by root, so plain path resolution is right. */
public final class HostView implements FileView {
    private final Path cacheFile;
    private LdCache cache;
    private boolean cacheLoaded;

    public HostView() {
        this(Path.of("/etc/ld.so.cache"));
    }

    public HostView(Path cacheFile) {
        this.cacheFile = cacheFile;
    }

    @Override
    public Optional<ViewFile> resolve(String path) {
        try {
            Path real = Path.of(path).toRealPath();
            return Optional.of(new ViewFile(real.toString(), Files.isRegularFile(real), Files.isDirectory(real)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Override
    public Optional<ElfFile> readElf(String path, Predicate<ElfFacts> symbols) {
        Optional<ViewFile> vf = resolve(path);
        if (vf.isEmpty() || !vf.get().regularFile()) {
            return Optional.empty();
        }
        return Optional.of(new ElfFile(vf.get().path(), ElfReader.read(Path.of(vf.get().path()), vf.get().path(), symbols)));
    }

    @Override
    public LdCache ldCache() {
        if (!cacheLoaded) {
            cacheLoaded = true;
            if (Files.isRegularFile(cacheFile)) {
                try {
                    cache = LdCache.read(cacheFile);
                } catch (BypassException e) {
                    // A broken host cache: fall back to the default directories, like the loader does.
                    cache = null;
                }
            }
        }
        return cache;
    }

    @Override
    public List<String> list(String dir) {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of(dir))) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
            }
        } catch (IOException e) {
            return List.of();
        }
        return names;
    }

    @Override
    public String describe() {
        return "host";
    }
}
