package io.bypass.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A {@link FileIdentity.Reader} over a real directory, by path strings without following links:
 * the tests' stand-in for the hook's descriptor-based container reader (it does not confine
 * intermediate symlinks to the root, which the real one must).
 */
final class DirReader implements FileIdentity.Reader {
    private final Path root;
    int reads;

    DirReader(Path root) {
        this.root = root;
    }

    Path at(String path) {
        return root.resolve(path.substring(1));
    }

    @Override
    public Optional<FileIdentity.Stat> stat(String path) throws IOException {
        try {
            Map<String, Object> a = Files.readAttributes(at(path), "unix:mode,ino,size,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
            return Optional.of(toStat(a));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    static FileIdentity.Stat toStat(Map<String, Object> a) {
        int mode = (Integer) a.get("mode");
        String type = switch (mode & 0170000) {
            case 0100000 -> FileIdentity.FILE;
            case 0040000 -> FileIdentity.DIR;
            case 0120000 -> FileIdentity.LINK;
            default -> "other";
        };
        long mtime = ((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS);
        return new FileIdentity.Stat(type, (Long) a.get("ino"), (Long) a.get("size"), mtime, mode & 07777);
    }

    @Override
    public byte[] read(String path, long offset, int length) throws IOException {
        reads++;
        try (FileChannel ch = FileChannel.open(at(path), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            long pos = offset;
            while (b.hasRemaining()) {
                int n = ch.read(b, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
            }
            byte[] out = new byte[b.position()];
            b.flip().get(out);
            return out;
        }
    }

    @Override
    public String readLink(String path) throws IOException {
        return Files.readSymbolicLink(at(path)).toString();
    }

    @Override
    public List<String> list(String path) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(at(path))) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
            }
        }
        return names;
    }

    /** What a profiler would do: stat each path, read the given ranges, record it all. */
    IdentityRecorder profile(Map<String, long[]> reads) throws IOException {
        IdentityRecorder rec = new IdentityRecorder();
        for (Map.Entry<String, long[]> e : reads.entrySet()) {
            String p = e.getKey();
            Optional<FileIdentity.Stat> st = stat(p);
            rec.stat(p, st);
            if (st.isEmpty()) {
                continue;
            }
            switch (st.get().type()) {
                case FileIdentity.FILE -> {
                    long[] r = e.getValue();
                    for (int i = 0; i + 1 < r.length; i += 2) {
                        byte[] b = read(p, r[i], (int) r[i + 1]);
                        rec.read(p, r[i], b, b.length);
                    }
                }
                case FileIdentity.LINK -> rec.link(p, readLink(p));
                case FileIdentity.DIR -> {
                    if (e.getValue().length > 0) {
                        rec.listing(p, list(p));
                    }
                }
                default -> { }
            }
        }
        return rec;
    }
}
