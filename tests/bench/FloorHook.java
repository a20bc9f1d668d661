import java.io.IOException;
import java.io.InputStream;

/**
 * The JVM floor of an OCI hook: it reads the container state from stdin, as every hook must (runc
 * writes it into a pipe and would block on a full one), and exits 0. Run by tests/bench-hook.sh
 * with the same JVM, flags and kind of class-data archive as hook/bypass, so that "bypass minus
 * this" is bypass' own work and "this minus no hook" is the floor cost no Java hook can avoid.
 */
public final class FloorHook {
    private FloorHook() {
    }

    public static void main(String[] args) throws IOException {
        InputStream in = System.in;
        byte[] buf = new byte[8192];
        long n = 0;
        for (int r; (r = in.read(buf)) > 0; ) {
            n += r;
        }
        if (n == 0) {
            System.err.println("floor-hook: no container state on stdin");
            System.exit(2);
        }
    }
}
