package io.bypass.db;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.util.Json;
import io.bypass.util.Json.Fields;

/**
 * A host device node as it was at registration.
 *
 * @param type 'c' or 'b'
 * @param mode permission bits (e.g. 0666)
 */
public record RegisteredDevice(String path, char type, int major, int minor, int mode, int uid, int gid) {

    /** The device-cgroup rule that lets a container use this node, e.g. "c 1:3 rwm". */
    public String cgroupRule() {
        return type + " " + major + ":" + minor + " rwm";
    }

    ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("path", path);
        o.put("type", String.valueOf(type));
        o.put("major", major);
        o.put("minor", minor);
        o.put("mode", mode);
        o.put("uid", uid);
        o.put("gid", gid);
        return o;
    }

    static RegisteredDevice fromJson(Fields f) {
        String type = f.string("type");
        if (!type.equals("c") && !type.equals("b")) {
            throw BypassException.badInput(f.where("type") + ": '" + type + "' (expected c or b)");
        }
        return new RegisteredDevice(f.string("path"), type.charAt(0), (int) f.longValue("major"), (int) f.longValue("minor"),
                (int) f.optLong("mode", 0666), (int) f.optLong("uid", 0), (int) f.optLong("gid", 0));
    }
}
