package io.bypass.apply;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The mount helper the launcher started before this JVM ({@code bypass-mount-helper
 * --exec-with-channel}, native-shims/channel.c): it waits for a plan on descriptor 3, reports on 4
 * and 5, and says how it ended on 6. A JVM's first process start costs a cache hit more CPU than
 * the rest of its apply (the JDK's reaper threads, CompletableFuture, the lambdas and method
 * handles of ProcessImpl), and the shell started this one for about a millisecond. It serves one
 * plan; a second helper run in the same hook (after a stale entry) starts one the usual way.
 *
 * <p>The launcher names the descriptors in {@code -Dbypass.helper.channel=3,4,5,6}, and the helper
 * in {@code -Dbypass.helper}; a hook whose site configures another helper does not use it. Each
 * descriptor must be a pipe. The JVM cannot close a descriptor it did not open, so the plan ends
 * with the line {@code end-of-plan} (the helper stops reading there) and an abandoned helper is
 * sent a plan that is not one (it exits having done nothing).
 */
final class HelperChannel extends Process {
    static final String PROPERTY = "bypass.helper.channel";
    /** The plan's last line, after which the helper reads no more (native-shims/README.md). */
    static final String PLAN_END = "end-of-plan\n";

    private static boolean taken;

    private final OutputStream plan;
    private final InputStream report;
    private final InputStream errors;
    private final InputStream status;
    private boolean planSent;
    private Integer exit;

    /** Opens the four in order: plan, report, errors, status (the helper's side opens them so too). */
    private HelperChannel(Path[] p) throws IOException {
        this.plan = new FileOutputStream(p[0].toFile());
        this.report = new PipeInput(new FileInputStream(p[1].toFile()));
        this.errors = new PipeInput(new FileInputStream(p[2].toFile()));
        this.status = new PipeInput(new FileInputStream(p[3].toFile()));
    }

    /**
     * A pipe's read end. JDK 17's FileInputStream.readNBytes sizes its buffer by seeking, which a
     * pipe refuses ("Illegal seek"); InputStream's own reads only read.
     */
    private static final class PipeInput extends InputStream {
        private final FileInputStream in;

        PipeInput(FileInputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in.read(b, off, len);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /**
     * The waiting helper, once per JVM, when the launcher started one and it is this very helper;
     * else null (the caller starts one).
     */
    static synchronized Process take(Path helper) {
        String spec = System.getProperty(PROPERTY, "");
        String launched = System.getProperty("bypass.helper", "");
        if (taken || spec.isEmpty() || launched.isEmpty() || !Path.of(launched).equals(helper)) {
            return null;
        }
        taken = true;
        return open(Path.of("/proc/self/fd"), spec);
    }

    /** The channel at fds/N for the four descriptors of spec ("3,4,5,6"), or null when one is not a pipe. */
    static Process open(Path fds, String spec) {
        String[] parts = spec.split(",", -1);
        if (parts.length != 4) {
            return null;
        }
        Path[] p = new Path[4];
        try {
            for (int i = 0; i < 4; i++) {
                p[i] = fds.resolve(parts[i]);
                boolean pipe = Files.isSymbolicLink(p[i]) ? Files.readSymbolicLink(p[i]).toString().startsWith("pipe:")
                        : (Integer) Files.getAttribute(p[i], "unix:mode") >> 12 == 01;   // a FIFO (tests)
                if (Integer.parseInt(parts[i]) < 3 || !pipe) {
                    return null;
                }
            }
            return new HelperChannel(p);
        } catch (IOException | RuntimeException e) {
            return null;   // not what the launcher sets up: the caller starts a helper itself
        }
    }

    @Override
    public OutputStream getOutputStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                planSent = true;
                plan.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                // The helper reads up to the end marker: the descriptor itself stays open.
                if (planSent) {
                    plan.write(PLAN_END.getBytes(StandardCharsets.US_ASCII));
                }
                plan.close();
            }
        };
    }

    @Override
    public InputStream getInputStream() {
        return report;
    }

    @Override
    public InputStream getErrorStream() {
        return errors;
    }

    @Override
    public synchronized int waitFor() throws InterruptedException {
        if (exit == null) {
            exit = readStatus();
        }
        return exit;
    }

    /** The status arrives when the helper has exited; it has no timeout of its own to wait for. */
    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        waitFor();
        return true;
    }

    private int readStatus() {
        try (status) {
            String s = new String(status.readNBytes(64), StandardCharsets.US_ASCII).trim();
            if (s.startsWith("exit ")) {
                return Integer.parseInt(s.substring(5));
            }
            if (s.startsWith("signal ")) {
                return 128 + Integer.parseInt(s.substring(7));
            }
        } catch (IOException | NumberFormatException e) {
            // Below: as if it had been killed.
        }
        return 128 + 9;
    }

    @Override
    public synchronized int exitValue() {
        if (exit == null) {
            throw new IllegalThreadStateException("the mount helper has not exited");
        }
        return exit;
    }

    /** A helper that never got a plan is sent one that is not a plan: it exits having done nothing. */
    @Override
    public void destroy() {
        try {
            if (!planSent) {
                planSent = true;
                plan.write(("abandoned\n" + PLAN_END).getBytes(StandardCharsets.US_ASCII));
            }
            plan.close();
        } catch (IOException e) {
            // It is gone already.
        }
    }

    @Override
    public Process destroyForcibly() {
        destroy();
        return this;
    }

    @Override
    public boolean isAlive() {
        return exit == null;
    }
}
