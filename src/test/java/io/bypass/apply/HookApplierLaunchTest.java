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
}
