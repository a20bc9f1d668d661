package io.bypass.db;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.util.Json;
import io.bypass.util.Json.Fields;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A registered bundle: the admin's descriptor plus everything computed on the host at registration
 * (resolved files with their ELF facts and checksums, device numbers, kind-specific properties such
 * as the MPI family or the CUDA driver version).
 *
 * @param properties kind-specific facts, e.g. "mpi.family" = "mpich", "glibc.version" = "2.36"
 */
public record BundleEntry(
        BundleDescriptor descriptor,
        String registeredAt,
        String hostGlibc,
        List<RegisteredFile> files,
        List<RegisteredDevice> devices,
        List<BundleDescriptor.ExtraMount> mounts,
        Map<String, String> properties) implements Comparable<BundleEntry> {

    public static final int FORMAT = 1;

    /** By name: the database lists its bundles in this order. */
    @Override
    public int compareTo(BundleEntry o) {
        return name().compareTo(o.name());
    }

    public BundleEntry {
        files = List.copyOf(files);
        devices = List.copyOf(devices);
        mounts = List.copyOf(mounts);
        properties = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(properties));
    }

    public String name() {
        return descriptor.name();
    }

    public BundleKind kind() {
        return descriptor.kind();
    }

    public List<RegisteredFile> libraries() {
        List<RegisteredFile> out = new java.util.ArrayList<>();
        for (RegisteredFile f : files) {
            if (f.role() == RegisteredFile.Role.LIBRARY) {
                out.add(f);
            }
        }
        return java.util.Collections.unmodifiableList(out);
    }

    public String property(String key) {
        return properties.get(key);
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("format", FORMAT);
        o.set("descriptor", descriptor.toJson());
        o.put("registeredAt", registeredAt);
        if (hostGlibc != null) {
            o.put("hostGlibc", hostGlibc);
        }
        ObjectNode props = o.putObject("properties");
        properties.forEach(props::put);
        ArrayNode fa = o.putArray("files");
        files.forEach(f -> fa.add(f.toJson()));
        ArrayNode da = o.putArray("devices");
        devices.forEach(d -> da.add(d.toJson()));
        ArrayNode ma = o.putArray("mounts");
        for (BundleDescriptor.ExtraMount m : mounts) {
            ma.addObject().put("source", m.source()).put("target", m.target()).put("readOnly", m.readOnly());
        }
        return o;
    }

    public static BundleEntry fromJson(JsonNode node, String where) {
        Fields f = Fields.of(node, where);
        long format = f.longValue("format");
        if (format != FORMAT) {
            throw BypassException.badInput(f.where("format") + ": database format " + format + " is not supported by this bypass (" + FORMAT
                    + "); register the bundle again");
        }
        BundleDescriptor descriptor = BundleDescriptor.fromJson(f.object("descriptor").raw(), f.where("descriptor"));
        List<RegisteredFile> files = new ArrayList<>();
        for (Fields ff : f.objectList("files")) {
            files.add(RegisteredFile.fromJson(ff));
        }
        List<RegisteredDevice> devices = new ArrayList<>();
        for (Fields d : f.objectList("devices")) {
            devices.add(RegisteredDevice.fromJson(d));
        }
        List<BundleDescriptor.ExtraMount> mounts = new ArrayList<>();
        for (Fields m : f.objectList("mounts")) {
            mounts.add(new BundleDescriptor.ExtraMount(m.string("source"), m.string("target"), m.optBool("readOnly", true)));
        }
        return new BundleEntry(descriptor, f.string("registeredAt"), f.optString("hostGlibc", null), files, devices, mounts,
                f.stringMap("properties"));
    }
}
