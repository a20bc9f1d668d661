package io.bypass.apply;

import io.bypass.cache.Expectations;
import io.bypass.cache.FileIdentity;
import io.bypass.container.ContainerProfile;
import io.bypass.db.RegisteredDevice;
import io.bypass.plan.Plan;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HelperPlanTest {

    @Test
    void planWithReplacedAndAddedLibrariesAndADevice() {
        Plan plan = new Plan(Plan.Verdict.INJECT, List.of(), List.of("m"), List.of(
                new Plan.Mount("/h/libmpich.so.12.2.2", "/usr/lib/libmpich.so.12.4.1", Plan.Mount.Kind.REPLACE, true, "m", "libmpich.so.12"),
                new Plan.Mount("/h/libucp.so.0.0.0", "/opt/bypass/lib/libucp.so.0", Plan.Mount.Kind.ADD, true, "m", "libucp.so.0")),
                List.of(new Plan.Device(new RegisteredDevice("/dev/cxi0", 'c', 240, 0, 0666, 0, 0), "/dev/cxi0", "m")),
                List.of(), Plan.LIBRARY_DIR);
        assertEquals(String.join("\n",
                "bypass-plan 1",
                "ns 4242",
                "root /var/lib/rootfs",
                "bind /h/libmpich.so.12.2.2 /usr/lib/libmpich.so.12.4.1 ro",
                "tmpfs /opt/bypass 0755",
                "mkdir /opt/bypass/lib 0755",
                "bind /h/libucp.so.0.0.0 /opt/bypass/lib/libucp.so.0 ro",
                "bind /run/bypass/x/ld.so.conf /opt/bypass/ld.so.conf ro",
                "ldconfig /sbin/ldconfig /opt/bypass/ld.so.conf /opt/bypass/ld.so.cache",
                "remount-ro /opt/bypass",
                "bind-inner /opt/bypass/ld.so.cache /etc/ld.so.cache ro",
                "dev /dev/cxi0 /dev/cxi0") + "\n",
                HelperPlan.render(plan, 4242, "/var/lib/rootfs", "/run/bypass/x/ld.so.conf", "/sbin/ldconfig"));
        ContainerProfile profile = new ContainerProfile("/r", "ELF64", "x86_64",
                new ContainerProfile.Libc("glibc", "2.41", "/lib/libc.so.6", List.of()), true,
                List.of("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"), Map.of(), null, null, null, null, Map.of(), Map.of(), List.of());
        assertEquals("/opt/bypass/lib\n/usr/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n", HelperPlan.ldSoConf(plan, profile));
    }

    @Test
    void noAddedLibrariesLeavesTheCacheAlone() {
        Plan plan = new Plan(Plan.Verdict.INJECT, List.of(), List.of("m"), List.of(
                new Plan.Mount("/h/a", "/c/a", Plan.Mount.Kind.REPLACE, true, "m", "a")), List.of(), List.of(), null);
        assertEquals("bypass-plan 1\nns 1\nroot /r\nbind /h/a /c/a ro\n", HelperPlan.render(plan, 1, "/r", null, "/sbin/ldconfig"));
    }

    @Test
    void expectationsOfEveryIdentityType() {
        String sha = "ab".repeat(32);
        List<FileIdentity> files = List.of(
                FileIdentity.missing("/etc/ld.so.preload"),
                new FileIdentity("/lib/libc.so.6", FileIdentity.RESOLVE, 0, 0, 0, 1, List.of(), sha),
                new FileIdentity("/lib", FileIdentity.RESOLVE, 0, 0, 0, 0, List.of(), sha),
                new FileIdentity("/usr/lib/libc.so.6", FileIdentity.FILE, 42, 2000, 1_700_000_000_123_456_789L, 0644,
                        List.of(new FileIdentity.Range(0, 64), new FileIdentity.Range(100, 8)), sha),
                new FileIdentity("/usr/lib/only stat", FileIdentity.FILE, 7, 1, 5, 0755, List.of(), null),
                new FileIdentity("/usr/lib", FileIdentity.DIR, 3, 4096, 9, 01777, List.of(), sha),
                new FileIdentity("/bin", FileIdentity.LINK, 4, 7, 10, 0777, List.of(), null));
        assertEquals(String.join("\n",
                "bypass-plan 1",
                "expect-root /var/lib/my%20rootfs",
                "expect-missing /etc/ld.so.preload",
                "expect-resolve /lib/libc.so.6 follow " + sha,
                "expect-resolve /lib nofollow " + sha,
                "expect-file /usr/lib/libc.so.6 42 2000 1700000000123456789 644 " + sha + " 0+64,100+8",
                "expect-file /usr/lib/only%20stat 7 1 5 755 - -",
                "expect-dir /usr/lib 3 4096 9 1777 " + sha,
                "expect-link /bin 4 7 10 777 -") + "\n",
                HelperPlan.renderExpectations("/var/lib/my rootfs", Expectations.of(files)));
    }

    /** A hit that injects: its expectations right after root, checked by the helper before anything else. */
    @Test
    void aMountPlanCarriesAHitsExpectationsAfterRoot() {
        Plan plan = new Plan(Plan.Verdict.INJECT, List.of(), List.of("m"), List.of(
                new Plan.Mount("/h/libmpich.so.12", "/usr/lib/libmpich.so.12", Plan.Mount.Kind.REPLACE, true, "m", "libmpich.so.12")),
                List.of(), List.of(), null);
        String text = HelperPlan.render(plan, 7, "/r", null, "/sbin/ldconfig",
                Expectations.of(List.of(FileIdentity.missing("/etc/ld.so.preload"))));
        assertEquals(String.join("\n", "bypass-plan 1", "ns 7", "root /r", "expect-root /r", "expect-missing /etc/ld.so.preload",
                "bind /h/libmpich.so.12 /usr/lib/libmpich.so.12 ro") + "\n", text);
        assertEquals(HelperPlan.render(plan, 7, "/r", null, "/sbin/ldconfig"), HelperPlan.render(plan, 7, "/r", null, "/sbin/ldconfig", null));
    }
}
