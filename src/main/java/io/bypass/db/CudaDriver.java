package io.bypass.db;

import com.fasterxml.jackson.databind.JsonNode;
import io.bypass.BypassException;
import io.bypass.elf.Sonames;
import io.bypass.util.Json;
import io.bypass.util.ProcFiles;
import io.bypass.util.Versions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Facts of an NVIDIA driver bundle: the driver version (from the versioned file names of its
 * libraries, else /proc/driver/nvidia/version), the newest CUDA it supports (compat-db/cuda-drivers.json),
 * and the driver capability (NVIDIA_DRIVER_CAPABILITIES) each library belongs to.
 */
public final class CudaDriver {
    public static final Set<String> CAPABILITIES = Set.of("compute", "utility", "video", "graphics", "display", "compat32");
    private static final Pattern VERSIONED = Pattern.compile("^lib(cuda|nvidia-[a-z0-9-]+)\\.so\\.(\\d+\\.\\d+(\\.\\d+)?)$");
    private static final Pattern NVRM = Pattern.compile("Kernel Module\\s+(?:for \\S+\\s+)?(\\d+\\.\\d+(?:\\.\\d+)?)");

    private CudaDriver() {
    }

    /** The driver version from file names like libcuda.so.535.104.05, else from the kernel module. */
    public static String driverVersion(List<RegisteredFile> files, Path procVersion) {
        for (RegisteredFile f : files) {
            Matcher m = VERSIONED.matcher(f.fileName());
            if (m.matches()) {
                return m.group(2);
            }
        }
        try {
            if (Files.isRegularFile(procVersion)) {
                Matcher m = NVRM.matcher(ProcFiles.read(procVersion));
                if (m.find()) {
                    return m.group(1);
                }
            }
        } catch (IOException e) {
            // Fall through: no version.
        }
        return null;
    }

    /** The newest CUDA version a driver supports, from the table; null when older than every entry. */
    public static String cudaVersionFor(String driver) {
        JsonNode table = table();
        for (JsonNode row : table.get("minimumDrivers")) {
            if (Versions.compare(driver, row.get("driver").asText()) >= 0) {
                return row.get("cuda").asText();
            }
        }
        return null;
    }

    static JsonNode table() {
        try (InputStream in = CudaDriver.class.getResourceAsStream("/io/bypass/compat-db/cuda-drivers.json")) {
            if (in == null) {
                throw BypassException.internal("the CUDA driver table is missing from the jar", null);
            }
            return Json.parse(in.readAllBytes(), "cuda-drivers.json");
        } catch (IOException e) {
            throw BypassException.internal("cannot read the CUDA driver table: " + e.getMessage(), e);
        }
    }

    /** The NVIDIA_DRIVER_CAPABILITIES a library belongs to (as libnvidia-container groups them). */
    public static String capabilityOf(String soname, String elfClass) {
        if ("ELF32".equals(elfClass)) {
            return "compat32";
        }
        String stem = Sonames.stem(soname).toLowerCase(Locale.ROOT);
        return switch (stem) {
            case "libnvidia-ml", "libnvidia-cfg" -> "utility";
            case "libcuda", "libcudadebugger", "libnvidia-opencl", "libnvidia-ptxjitcompiler", "libnvidia-fatbinaryloader",
                 "libnvidia-allocator", "libnvidia-compiler", "libnvidia-nvvm", "libnvidia-pkcs11", "libnvidia-pkcs11-openssl3",
                 "libnvidia-gpucomp" -> "compute";
            case "libvdpau_nvidia", "libnvidia-encode", "libnvidia-opticalflow", "libnvcuvid" -> "video";
            case "libnvidia-eglcore", "libnvidia-glcore", "libnvidia-tls", "libnvidia-glsi", "libnvidia-fbc", "libnvidia-ifr",
                 "libnvidia-rtcore", "libnvoptix", "libglx_nvidia", "libegl_nvidia", "libglesv2_nvidia", "libglesv1_cm_nvidia",
                 "libnvidia-glvkspirv", "libnvidia-vulkan-producer" -> "graphics";
            case "libnvidia-drm", "nvidia_drv" -> "display";
            default -> "compute";
        };
    }
}
