package io.bypass.apply;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class HookApplierLaunchTest {
    @Test
    void directLaunchOnlyWhereTheJdkSupportsItQuietlyAndNobodyChoseAnother() {
        String before = System.getProperty(HookApplier.LAUNCH_PROPERTY);
        try {
            System.clearProperty(HookApplier.LAUNCH_PROPERTY);
            HookApplier.preferDirectLaunch();
            if (Runtime.version().feature() < 23) {
                assertEquals("VFORK", System.getProperty(HookApplier.LAUNCH_PROPERTY));
            } else {
                assertNull(System.getProperty(HookApplier.LAUNCH_PROPERTY), "JDK 23+ warns on stderr for VFORK");
            }
            System.setProperty(HookApplier.LAUNCH_PROPERTY, "FORK");
            HookApplier.preferDirectLaunch();
            assertEquals("FORK", System.getProperty(HookApplier.LAUNCH_PROPERTY), "a site's explicit choice stays");
        } finally {
            if (before == null) {
                System.clearProperty(HookApplier.LAUNCH_PROPERTY);
            } else {
                System.setProperty(HookApplier.LAUNCH_PROPERTY, before);
            }
        }
    }

    /** Entries the helper made inside bypass' own tmpfs are not on the image: poststop has nothing to remove there. */
    @org.junit.jupiter.api.Test
    void onlyEntriesOnTheImageAreRecorded() {
        java.util.List<CreatedTargets.Entry> made = java.util.List.of(
                CreatedTargets.parseCreated("created /opt 40755 1 8 1 0 0"),
                CreatedTargets.parseCreated("created /opt/bypass 40755 2 8 1 0 0"),
                CreatedTargets.parseCreated("created /opt/bypass/lib 40755 3 0 40 0 0"),
                CreatedTargets.parseCreated("created /opt/bypass/lib/libx.so.1 100444 4 0 40 0 0"),
                CreatedTargets.parseCreated("created /etc/ld.so.cache 100444 5 8 1 0 0"));
        io.bypass.plan.Plan adds = new io.bypass.plan.Plan(io.bypass.plan.Plan.Verdict.INJECT, java.util.List.of(),
                java.util.List.of("m"), java.util.List.of(), java.util.List.of(), java.util.List.of(), io.bypass.plan.Plan.LIBRARY_DIR);
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of("/opt", "/opt/bypass", "/etc/ld.so.cache"),
                HookApplier.onImage(made, adds).stream().map(CreatedTargets.Entry::path).toList());
        io.bypass.plan.Plan replaces = new io.bypass.plan.Plan(io.bypass.plan.Plan.Verdict.INJECT, java.util.List.of(),
                java.util.List.of("m"), java.util.List.of(), java.util.List.of(), java.util.List.of(), null);
        org.junit.jupiter.api.Assertions.assertEquals(5, HookApplier.onImage(made, replaces).size());
    }

    /**
     * The helper is started while the record is written; when the record cannot be written the
     * started helper is killed before it is handed a plan (it only ever waited on stdin).
     */
    @org.junit.jupiter.api.Test
    void aHelperStartedAheadIsKilledWhenNoPlanFollows(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root: the helper must be root's");
        java.nio.file.Path started = tmp.resolve("started");
        java.nio.file.Path planned = tmp.resolve("planned");
        java.nio.file.Path helper = tmp.resolve("helper");
        // The pid goes in under another name first: killed between the shell's open and its
        // write, it would leave an empty file that says nothing of the process.
        java.nio.file.Files.writeString(helper, "#!/bin/sh\necho $$ > " + started + ".tmp\nmv " + started + ".tmp " + started
                + "\ncat > /dev/null\necho read > " + planned + "\n");
        java.nio.file.Files.setPosixFilePermissions(helper, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        java.nio.file.Path state = java.nio.file.Files.createDirectory(tmp.resolve("state"));
        java.nio.file.Files.setPosixFilePermissions(state, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        java.nio.file.Path rootfs = java.nio.file.Files.createDirectory(tmp.resolve("rootfs"));
        io.bypass.plan.Plan plan = new io.bypass.plan.Plan(io.bypass.plan.Plan.Verdict.INJECT, java.util.List.of(),
                java.util.List.of("m"), java.util.List.of(new io.bypass.plan.Plan.Mount("/host/libx.so.1", "/usr/lib/libx.so.1",
                io.bypass.plan.Plan.Mount.Kind.REPLACE, true, "m", "libx.so.1")), java.util.List.of(), java.util.List.of(), null);
        io.bypass.container.ContainerProfile profile = new io.bypass.container.ContainerProfile(rootfs.toString(), "ELF64",
                "x86_64", null, false, java.util.List.of(), java.util.Map.of(), null, null, null, null, java.util.Map.of(),
                java.util.Map.of(), java.util.List.of());
        HookApplier applier = new HookApplier(helper, java.nio.file.Path.of("/sbin/ldconfig"), tmp.resolve("scratch"),
                new CreatedTargets(state, new java.io.PrintWriter(new java.io.StringWriter())));
        io.bypass.BypassException e = org.junit.jupiter.api.Assertions.assertThrows(io.bypass.BypassException.class,
                () -> applier.apply(plan, profile, (int) ProcessHandle.current().pid(), "c1", null));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("0700 expected"), e.getMessage());
        // The helper may have been killed before its first line; if it ran, it is gone now.
        if (java.nio.file.Files.exists(started)) {
            long pid = Long.parseLong(java.nio.file.Files.readString(started).trim());
            org.junit.jupiter.api.Assertions.assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
                    "the helper is not left running");
        }
        Thread.sleep(200);
        org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(planned), "the helper never saw the end of a plan");
    }
}
