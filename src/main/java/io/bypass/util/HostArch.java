package io.bypass.util;

/** The host's machine in ELF terms ("x86_64", "aarch64", ...): what host and container files are matched by. */
public final class HostArch {
    private HostArch() {
    }

    /** The JVM's os.arch mapped to the ELF machine names {@code ElfReader} reports. */
    public static String machine() {
        return machine(System.getProperty("os.arch", "amd64"));
    }

    static String machine(String osArch) {
        return switch (osArch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            case "x86", "i386", "i686" -> "i386";
            case "ppc64le" -> "ppc64";
            default -> osArch;
        };
    }
}
