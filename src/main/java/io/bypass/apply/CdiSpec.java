package io.bypass.apply;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;
import io.bypass.elf.Sonames;
import io.bypass.plan.Plan;
import io.bypass.util.Json;

import java.util.List;
import java.util.Map;

/**
 * A CDI spec for one registered bundle: one device named after the bundle, under bypass' vendor
 * kind. CDI edits are the same for every container, so what a spec cannot express is bypass'
 * per-container decision: the glibc check, the MPI ABI check, and mounting over the container's
 * own file; libraries go to {@link Plan#LIBRARY_DIR} and LD_LIBRARY_PATH names it. Sites run
 * `bypass check` (or keep the hook) for the decision.
 */
public final class CdiSpec {
    public static final String KIND = "bypass.io/bundle";

    private CdiSpec() {
    }

    public static ObjectNode of(BundleEntry b) {
        ObjectNode edits = Json.object();
        boolean needsMountType = false;
        ArrayNode mounts = Json.array();
        List<RegisteredFile> libs = b.files().stream().filter(f -> !Sonames.isGlibcFamily(f.soname())).toList();
        if (!libs.isEmpty()) {
            // A tmpfs holds the mount points, so the runtime does not create them in the image.
            ObjectNode tmpfs = mounts.addObject();
            tmpfs.put("hostPath", "tmpfs");
            tmpfs.put("containerPath", HelperPlan.RUN_DIR);
            tmpfs.put("type", "tmpfs");
            tmpfs.set("options", Json.array(MountOptions.TMPFS));
            needsMountType = true;
        }
        for (RegisteredFile f : libs) {
            ObjectNode m = mounts.addObject();
            m.put("hostPath", f.path());
            m.put("containerPath", Plan.LIBRARY_DIR + "/" + f.soname());
            m.set("options", Json.array(MountOptions.bind(true)));
        }
        for (BundleDescriptor.ExtraMount em : b.mounts()) {
            ObjectNode m = mounts.addObject();
            m.put("hostPath", em.source());
            m.put("containerPath", em.target());
            m.set("options", Json.array(MountOptions.bind(em.readOnly())));
        }
        if (!mounts.isEmpty()) {
            edits.set("mounts", mounts);
        }
        ArrayNode env = Json.array();
        if (!libs.isEmpty()) {
            env.add("LD_LIBRARY_PATH=" + Plan.LIBRARY_DIR);
        }
        b.descriptor().env().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> env.add(e.getKey() + "=" + e.getValue()));
        if (!env.isEmpty()) {
            edits.set("env", env);
        }
        if (!b.devices().isEmpty()) {
            ArrayNode nodes = edits.putArray("deviceNodes");
            for (RegisteredDevice d : b.devices()) {
                ObjectNode n = nodes.addObject();
                n.put("path", d.path());
                n.put("type", String.valueOf(d.type()));
                n.put("major", d.major());
                n.put("minor", d.minor());
                n.put("fileMode", d.mode());
                n.put("permissions", "rw");
            }
        }
        ObjectNode spec = Json.object();
        // The lowest version whose schema has what this spec uses: `type` on mounts came with 0.4.0.
        spec.put("cdiVersion", needsMountType ? "0.4.0" : "0.3.0");
        spec.put("kind", KIND);
        ArrayNode devices = spec.putArray("devices");
        ObjectNode dev = devices.addObject();
        dev.put("name", b.name());
        dev.set("containerEdits", edits);
        return spec;
    }

    /** The spec's file name in a CDI directory. */
    public static String fileName(String bundle) {
        return "bypass-" + bundle + ".json";
    }
}
