package io.bypass.cli;

import io.bypass.db.BundleEntry;
import io.bypass.host.Fingerprint;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** Where the host's facts come from, for fingerprint and match (recorded files stand in for tests). */
final class HostOptions {
    @Option(names = "--cpuinfo", paramLabel = "FILE", description = "read CPU facts from FILE (default /proc/cpuinfo)")
    Path cpuinfo = Path.of("/proc/cpuinfo");

    @Option(names = "--kernel", paramLabel = "VERSION", description = "use VERSION as the host kernel (default: this one)")
    String kernel = System.getProperty("os.version");

    Fingerprint fingerprint(List<BundleEntry> bundles) {
        return Fingerprint.of(cpuinfo, kernel, bundles);
    }
}
