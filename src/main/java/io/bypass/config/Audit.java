package io.bypass.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One line per hook decision, for the admin afterwards: time, container, bundles, verdict, reason
 * codes, time taken. Appended with O_APPEND (lines of concurrent hooks do not interleave: each is
 * one write well under PIPE_BUF) to the configured file, and/or sent to syslog through logger(1).
 * Auditing never decides anything: a failure to write is reported on stderr only.
 */
public final class Audit {
    private Audit() {
    }

    public record Decision(String containerId, String stage, List<String> bundles, String verdict, List<String> codes,
                           long millis, String detail) {
    }

    public static String line(Decision d) {
        StringBuilder sb = new StringBuilder();
        sb.append("time=").append(Instant.now()).append(" container=").append(token(d.containerId()));
        if (d.stage() != null) {
            sb.append(" stage=").append(token(d.stage()));
        }
        sb.append(" verdict=").append(d.verdict());
        sb.append(" bundles=").append(d.bundles().isEmpty() ? "-" : token(String.join(",", d.bundles())));
        sb.append(" codes=").append(d.codes().isEmpty() ? "-" : token(String.join(",", d.codes())));
        sb.append(" ms=").append(d.millis());
        if (d.detail() != null) {
            sb.append(" detail=\"").append(d.detail().replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ")).append('"');
        }
        return sb.toString();
    }

    private static String token(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c > ' ' && c != '"' && c != '=' && c < 127 ? c : '_');
        }
        return sb.toString();
    }

    /** @return null when written, else why not (for stderr) */
    public static String record(SiteConfig config, Decision d) {
        if (config.auditFile() == null && !config.syslog()) {
            return null;
        }
        String line = line(d);
        String problem = null;
        if (config.auditFile() != null) {
            problem = append(config.auditFile(), line);
        }
        if (config.syslog()) {
            String p = syslog(line);
            problem = problem == null ? p : problem;
        }
        return problem;
    }

    static String append(Path file, String line) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")))) {
                ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
            }
            return null;
        } catch (IOException | UnsupportedOperationException e) {
            return "cannot write the audit log " + file + ": " + e.getMessage();
        }
    }

    static String syslog(String line) {
        try {
            ProcessBuilder pb = new ProcessBuilder("/usr/bin/logger", "-t", "bypass", "-p", "auth.info", "--", line);
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            Process p = pb.start();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "logger did not finish";
            }
            return p.exitValue() == 0 ? null : "logger exited with " + p.exitValue();
        } catch (IOException e) {
            return "cannot run logger: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
