package io.bypass.cache;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** An in-memory rootfs: path to stat and content (file bytes, link target, or directory names). */
class FakeReader implements FileIdentity.Reader {
    record Node(FileIdentity.Stat stat, byte[] data, String target) {
    }

    final Map<String, Node> nodes = new TreeMap<>();
    private long nextIno = 100;

    FakeReader file(String path, String content, long mtimeNs, int mode) {
        byte[] b = content.getBytes();
        nodes.put(path, new Node(new FileIdentity.Stat(FileIdentity.FILE, nextIno++, b.length, mtimeNs, mode), b, null));
        return this;
    }

    /** Replaces a file's bytes, keeping every metadata field (what a user can do with touch and a FUSE file system). */
    FakeReader forge(String path, String content) {
        Node n = nodes.get(path);
        byte[] b = Arrays.copyOf(content.getBytes(), (int) n.stat().size());
        nodes.put(path, new Node(n.stat(), b, null));
        return this;
    }

    FakeReader link(String path, String target) {
        nodes.put(path, new Node(new FileIdentity.Stat(FileIdentity.LINK, nextIno++, target.length(), 1, 0777), null, target));
        return this;
    }

    FakeReader dir(String path) {
        nodes.put(path, new Node(new FileIdentity.Stat(FileIdentity.DIR, nextIno++, 4096, 1, 0755), null, null));
        return this;
    }

    @Override
    public Optional<FileIdentity.Stat> stat(String path) {
        Node n = nodes.get(path);
        return n == null ? Optional.empty() : Optional.of(n.stat());
    }

    @Override
    public byte[] read(String path, long offset, int length) throws IOException {
        Node n = nodes.get(path);
        if (n == null || n.data() == null) {
            throw new IOException(path + ": not a file");
        }
        int from = (int) Math.min(offset, n.data().length);
        int to = (int) Math.min(n.data().length, offset + length);
        return Arrays.copyOfRange(n.data(), from, to);
    }

    @Override
    public String readLink(String path) throws IOException {
        Node n = nodes.get(path);
        if (n == null || n.target() == null) {
            throw new IOException(path + ": not a link");
        }
        return n.target();
    }

    @Override
    public List<String> list(String path) {
        List<String> out = new ArrayList<>();
        String prefix = path.endsWith("/") ? path : path + "/";
        for (String p : nodes.keySet()) {
            if (p.startsWith(prefix) && p.indexOf('/', prefix.length()) < 0) {
                out.add(p.substring(prefix.length()));
            }
        }
        return out;
    }
}
