package io.bypass.cache;

import io.bypass.util.LineFields;

import java.util.ArrayList;
import java.util.List;

/**
 * A decision-cache entry's files as the mount helper checks them: one {@code expect-*} line per
 * {@link FileIdentity} (native-shims/README.md), each ending in a newline, without the
 * {@code expect-root} line, which names the rootfs of the container being started. The entry
 * stores these lines as they are, so that a hit hands them to the helper without decoding or
 * rendering 100-200 identities in a fresh JVM; only a check in this JVM
 * ({@link FileIdentity#validate}) parses them back, on its first use of {@link #files}.
 */
public final class Expectations {
    private final String lines;
    private List<FileIdentity> files;

    private Expectations(String lines, List<FileIdentity> files) {
        this.lines = lines;
        this.files = files;
    }

    /** The lines of these identities, in their order. */
    public static Expectations of(List<FileIdentity> files) {
        StringBuilder sb = new StringBuilder(files.size() * 160);
        for (FileIdentity f : files) {
            appendLine(sb, f);
        }
        return new Expectations(sb.toString(), List.copyOf(files));
    }

    /**
     * Lines as {@link #lines} gave them (an entry this build wrote and its checksum vouched for);
     * they are parsed only when {@link #files} is asked for.
     */
    static Expectations ofLines(String lines) {
        return new Expectations(lines, null);
    }

    /** The helper's lines, each ending in a newline; empty for no files. */
    public String lines() {
        return lines;
    }

    /**
     * The identities the lines stand for.
     *
     * @throws IllegalArgumentException when a line is not one {@link #of} writes
     */
    public List<FileIdentity> files() {
        if (files == null) {
            files = parse(lines);
        }
        return files;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Expectations e && lines.equals(e.lines);
    }

    @Override
    public int hashCode() {
        return lines.hashCode();
    }

    @Override
    public String toString() {
        return lines;
    }

    private static void appendLine(StringBuilder sb, FileIdentity f) {
        switch (f.type()) {
            case FileIdentity.MISSING -> sb.append("expect-missing ").append(LineFields.encode(f.path()));
            case FileIdentity.RESOLVE -> sb.append("expect-resolve ").append(LineFields.encode(f.path()))
                    .append(f.mode() == 1 ? " follow " : " nofollow ").append(f.sha256());
            default -> {
                sb.append("expect-").append(f.type()).append(' ').append(LineFields.encode(f.path())).append(' ')
                        .append(Long.toUnsignedString(f.ino())).append(' ').append(f.size()).append(' ')
                        .append(f.mtimeNs()).append(' ').append(Integer.toOctalString(f.mode())).append(' ')
                        .append(f.sha256() == null ? "-" : f.sha256());
                if (FileIdentity.FILE.equals(f.type())) {
                    sb.append(' ');
                    if (f.ranges().isEmpty()) {
                        sb.append('-');
                    }
                    for (int i = 0; i < f.ranges().size(); i++) {
                        FileIdentity.Range r = f.ranges().get(i);
                        sb.append(i == 0 ? "" : ",").append(r.offset()).append('+').append(r.length());
                    }
                }
            }
        }
        sb.append('\n');
    }

    private static List<FileIdentity> parse(String lines) {
        List<FileIdentity> out = new ArrayList<>();
        int start = 0;
        while (start < lines.length()) {
            int end = lines.indexOf('\n', start);
            if (end < 0) {
                throw new IllegalArgumentException("an expectation without its newline");
            }
            out.add(parseLine(lines.substring(start, end)));
            start = end + 1;
        }
        return List.copyOf(out);
    }

    private static FileIdentity parseLine(String line) {
        String[] f = line.split(" ", -1);
        String path = f.length > 1 ? LineFields.decode(f[1]) : "";
        switch (f[0]) {
            case "expect-missing" -> {
                fields(line, f, 2);
                return FileIdentity.missing(path);
            }
            case "expect-resolve" -> {
                fields(line, f, 4);
                if (!f[2].equals("follow") && !f[2].equals("nofollow")) {
                    throw new IllegalArgumentException("not follow or nofollow: " + line);
                }
                return new FileIdentity(path, FileIdentity.RESOLVE, 0, 0, 0, f[2].equals("follow") ? 1 : 0, List.of(), f[3]);
            }
            case "expect-file", "expect-dir", "expect-link" -> {
                String type = f[0].substring("expect-".length());
                boolean file = FileIdentity.FILE.equals(type);
                fields(line, f, file ? 8 : 7);
                List<FileIdentity.Range> ranges = new ArrayList<>();
                if (file && !f[7].equals("-")) {
                    for (String r : f[7].split(",", -1)) {
                        int plus = r.indexOf('+');
                        if (plus < 0) {
                            throw new IllegalArgumentException("not a range: " + line);
                        }
                        ranges.add(new FileIdentity.Range(Long.parseLong(r.substring(0, plus)), Long.parseLong(r.substring(plus + 1))));
                    }
                }
                return new FileIdentity(path, type, Long.parseUnsignedLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                        Integer.parseInt(f[5], 8), ranges, f[6].equals("-") ? null : f[6]);
            }
            default -> throw new IllegalArgumentException("not an expectation: " + line);
        }
    }

    private static void fields(String line, String[] f, int n) {
        if (f.length != n) {
            throw new IllegalArgumentException("not " + n + " fields: " + line);
        }
    }
}
