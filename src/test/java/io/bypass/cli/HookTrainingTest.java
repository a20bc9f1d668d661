package io.bypass.cli;

import io.bypass.ExitCodes;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The archive's training entry (packaging/make-cds.sh): its packages and its usage errors. */
class HookTrainingTest {
    @Test
    void theHitsPackagesAreInAndTheProfilersAndAdminCommandsAreOut() {
        String[][] table = {
                {"io/bypass/cli/Main.class", "false"},
                {"io/bypass/cli/CheckCommand.class", "false"},
                {"io/bypass/apply/HookApplier$Launch.class", "true"},
                {"io/bypass/cache/DecisionCache.class", "true"},
                {"io/bypass/BypassException.class", "true"},
                {"io/bypass/container/Profiler.class", "false"},
                {"io/bypass/elf/ElfReader.class", "false"},
                {"io/bypass/plan/Planner.class", "false"},
                {"io/bypass/db/BundleDescriptor.class", "false"},
                {"io/bypass/cli/sub/Nested.class", "false"},
                {"com/sun/jna/Native.class", "false"},
                {"picocli/CommandLine.class", "false"},
        };
        for (String[] row : table) {
            assertEquals(Boolean.parseBoolean(row[1]), HookTraining.inHitPackages(row[0]), row[0]);
        }
    }

    @Test
    void badUsageIsOneLineAndExitCodeTwo() {
        String[][] cases = {
                {},
                {"--phase", "store"},
                {"--phase", "warm", "--db", "d", "--cache", "c", "--rootfs", "r"},
                {"--phase", "hit", "--db", "d", "--cache", "c", "--rootfs", "r"},
                {"--phase", "store", "--db", "d", "--cache", "c", "--rootfs"},
                {"--bogus", "x"},
        };
        for (String[] args : cases) {
            StringWriter err = new StringWriter();
            assertEquals(ExitCodes.BAD_INPUT, HookTraining.run(args, new PrintWriter(err, true)), String.join(" ", args));
            String text = err.toString().strip();
            assertTrue(text.startsWith("bypass training: ") && !text.contains("\n"), text);
        }
    }
}
