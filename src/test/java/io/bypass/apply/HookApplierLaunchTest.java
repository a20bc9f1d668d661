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
}
