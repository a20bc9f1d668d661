package io.bypass.container;

import com.sun.jna.LastErrorException;
import io.bypass.elf.ElfReader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A regular container file opened for reading by {@link ContainerRoot#read}: positional reads
 * from its descriptor, each counted against the profile's budget. It records which byte ranges
 * were read, so that what a decision rests on can be checked again later from the same bytes.
 * Valid only inside the function it is given to.
 */
public final class ContainerFile implements ElfReader.Source {
    /** A byte range read: offset and length. */
    public record Range(long offset, long length) {
    }

    private final int fd;
    private final ContainerRoot.Node node;
    private final ProfileBudget budget;
    private final List<Range> ranges = new ArrayList<>();
    private final ContainerRoot.Observer observer;
    private byte[] scratch = new byte[0];

    ContainerFile(int fd, ContainerRoot.Node node, ProfileBudget budget, ContainerRoot.Observer observer) {
        this.fd = fd;
        this.node = node;
        this.budget = budget;
        this.observer = observer;
    }

    /** The canonical path inside the container. */
    public String path() {
        return node.path();
    }

    public ContainerRoot.Stat stat() {
        return node.stat();
    }

    /** "container:/canonical/path", the name messages use. */
    public String displayName() {
        return "container:" + node.path();
    }

    /** The size statx gave when the file was opened. */
    @Override
    public long size() {
        return node.stat().size();
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        int want = dst.remaining();
        if (want == 0) {
            return 0;
        }
        budget.bytes(want, node.path());
        if (scratch.length < want) {
            scratch = new byte[Math.max(want, 4096)];
        }
        long n;
        try {
            n = Posix.pread(fd, scratch, want, position);
        } catch (LastErrorException e) {
            throw new IOException("read error (errno " + e.getErrorCode() + ")");
        }
        if (n <= 0) {
            return -1;
        }
        dst.put(scratch, 0, (int) n);
        addRange(position, n);
        if (observer != null) {
            observer.read(node.path(), position, scratch, (int) n);
        }
        return (int) n;
    }

    /** Reads up to {@code length} bytes at {@code offset} (fewer at the end of the file). */
    public byte[] readBytes(long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        long pos = offset;
        while (b.hasRemaining()) {
            int n = read(b, pos);
            if (n <= 0) {
                break;
            }
            pos += n;
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    private void addRange(long offset, long length) {
        if (!ranges.isEmpty()) {
            Range last = ranges.get(ranges.size() - 1);
            if (offset >= last.offset() && offset <= last.offset() + last.length()) {
                long end = Math.max(last.offset() + last.length(), offset + length);
                ranges.set(ranges.size() - 1, new Range(last.offset(), end - last.offset()));
                return;
            }
        }
        ranges.add(new Range(offset, length));
    }

    /** The byte ranges read so far, merged where consecutive reads touched, in read order. */
    public List<Range> ranges() {
        return List.copyOf(ranges);
    }
}
