package io.bypass.container;

import io.bypass.BypassException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RootfsTest {
    @TempDir
    Path tmp;
    Path root;
    Path host;
    Rootfs rootfs;

    @BeforeEach
    void layout() throws IOException {
        root = Files.createDirectories(tmp.resolve("root"));
        host = Files.createDirectories(tmp.resolve("host"));
        Files.writeString(host.resolve("secret"), "host file");
        Files.createDirectories(root.resolve("usr/lib/x86_64-linux-gnu"));
        Files.writeString(root.resolve("usr/lib/x86_64-linux-gnu/libc.so.6"), "container libc");
        Files.writeString(root.resolve("usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1"), "mpich");
        Files.createSymbolicLink(root.resolve("usr/lib/x86_64-linux-gnu/libmpi.so.12"), Path.of("libmpich.so.12.4.1"));
        Files.createSymbolicLink(root.resolve("lib"), Path.of("usr/lib"));
        Files.createDirectories(root.resolve("lib64"));
        Files.createSymbolicLink(root.resolve("lib64/ld.so"), Path.of("/lib/x86_64-linux-gnu/libc.so.6"));
        Files.createSymbolicLink(root.resolve("etc"), host);                       // absolute, to a host dir
        Files.createSymbolicLink(root.resolve("up"), Path.of("../../../../../.." + host)); // .. chain
        Files.createSymbolicLink(root.resolve("b"), Path.of("/../../tmp"));
        Files.createSymbolicLink(root.resolve("self"), Path.of("self"));
        Files.createSymbolicLink(root.resolve("y"), Path.of("z"));
        Files.createSymbolicLink(root.resolve("z"), Path.of("y"));
        Files.createDirectories(root.resolve("chain"));
        for (int i = 1; i <= 41; i++) {
            Files.createSymbolicLink(root.resolve("chain/l" + i), Path.of("l" + (i + 1)));
        }
        Files.writeString(root.resolve("chain/l42"), "end");
        Files.createDirectories(root.resolve("chain40"));
        for (int i = 1; i <= 40; i++) {
            Files.createSymbolicLink(root.resolve("chain40/l" + i), Path.of("l" + (i + 1)));
        }
        Files.writeString(root.resolve("chain40/l41"), "end");
        rootfs = new Rootfs(root);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "/usr/lib/x86_64-linux-gnu/libc.so.6, /usr/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/x86_64-linux-gnu/libmpi.so.12, /usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1",
            "/lib64/ld.so, /usr/lib/x86_64-linux-gnu/libc.so.6",
            "usr/lib/../lib/./x86_64-linux-gnu/libc.so.6, /usr/lib/x86_64-linux-gnu/libc.so.6",
            "/../../../usr/lib/x86_64-linux-gnu/libc.so.6, /usr/lib/x86_64-linux-gnu/libc.so.6",
            "/chain40/l1, /chain40/l41",
    })
    void resolvesInsideTheRoot(String path, String canonical) {
        Rootfs.Resolved r = rootfs.resolve(path).orElseThrow();
        assertEquals(canonical, r.containerPath());
        assertEquals(root.resolve(canonical.substring(1)), r.hostPath());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"/etc/secret", "/up/secret", "/b", "/etc", "/nonexistent", "/usr/lib/x86_64-linux-gnu/libc.so.6/x"})
    void neverLeavesTheRoot(String path) {
        Optional<Rootfs.Resolved> r = rootfs.resolve(path);
        r.ifPresent(res -> assertTrue(res.hostPath().startsWith(root), res.hostPath() + " is outside the rootfs"));
        assertTrue(r.isEmpty() || !r.get().hostPath().startsWith(host));
    }

    @Test
    void absoluteLinkToAHostDirectoryIsReRooted() throws IOException {
        // Once the rootfs has the link's target, that is where it leads: never to the host's.
        Files.createDirectories(root.resolve(host.toString().substring(1)));
        Files.writeString(root.resolve(host.toString().substring(1)).resolve("secret"), "container file");
        Rootfs.Resolved r = rootfs.resolve("/etc/secret").orElseThrow();
        assertEquals(host + "/secret", r.containerPath());
        assertEquals("container file", Files.readString(r.hostPath()));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"/self", "/y", "/chain/l1"})
    void loopsAndLongChainsAreErrors(String path) {
        BypassException e = assertTimeoutPreemptively(Duration.ofSeconds(3),
                () -> assertThrows(BypassException.class, () -> rootfs.resolve(path)));
        assertTrue(e.getMessage().contains("too many levels of symbolic links"), e.getMessage());
    }

    @Test
    void noFollowLastAndListing() {
        assertTrue(rootfs.resolveNoFollowLast("/etc").orElseThrow().attrs().isSymbolicLink());
        assertTrue(rootfs.list("/lib/x86_64-linux-gnu").contains("libmpi.so.12"));
        assertEquals(0, rootfs.list("/etc").size(), "a link out of the root lists nothing of the host");
        assertTrue(rootfs.isRegularFile("/lib/x86_64-linux-gnu/libmpi.so.12"));
    }

    @Test
    void badRootsAndPaths() throws IOException {
        assertThrows(BypassException.class, () -> new Rootfs(tmp.resolve("missing")));
        assertThrows(BypassException.class, () -> new Rootfs(host.resolve("secret")));
        assertThrows(BypassException.class, () -> rootfs.resolve("/a\0b"));
    }
}
