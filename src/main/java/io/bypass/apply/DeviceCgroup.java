package io.bypass.apply;

import io.bypass.BypassException;
import io.bypass.plan.Plan;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Lets a container use device nodes on cgroup v1, by writing rules to its devices.allow. On cgroup
 * v2 the device filter is an eBPF program the runtime attaches and a hook cannot extend: there the
 * devices must be declared in the config (precreate, patch-bundle or CDI modes).
 */
final class DeviceCgroup {
    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");

    private DeviceCgroup() {
    }

    static void allow(int pid, List<Plan.Device> devices) {
        Path allow = allowFile(pid);
        for (Plan.Device d : devices) {
            try {
                Files.writeString(allow, d.host().cgroupRule(), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw BypassException.internal("cannot allow device " + d.host().path() + " (" + d.host().cgroupRule() + ") in "
                        + allow + ": " + e.getMessage(), e);
            }
        }
    }

    /** The devices.allow file of the process' cgroup (v1 "devices" controller). */
    static Path allowFile(int pid) {
        String content;
        try {
            content = io.bypass.util.ProcFiles.read(Path.of("/proc/" + pid + "/cgroup"));
        } catch (NoSuchFileException e) {
            throw BypassException.badInput("process " + pid + " of the container does not exist");
        } catch (IOException e) {
            throw BypassException.internal("cannot read /proc/" + pid + "/cgroup: " + e.getMessage(), e);
        }
        for (String line : content.split("\n")) {
            String[] parts = line.split(":", 3);
            if (parts.length == 3 && List.of(parts[1].split(",")).contains("devices")) {
                String rel = parts[2];
                if (rel.contains("..")) {
                    throw BypassException.badInput("unexpected devices cgroup path '" + rel + "' for process " + pid);
                }
                Path dir = CGROUP_ROOT.resolve("devices").resolve(rel.startsWith("/") ? rel.substring(1) : rel);
                return dir.resolve("devices.allow");
            }
        }
        throw BypassException.badInput("the container has no cgroup v1 devices controller (cgroup v2?): device nodes "
                + "cannot be allowed from a hook there; use `bypass precreate`, `bypass patch-bundle` or CDI instead");
    }
}
