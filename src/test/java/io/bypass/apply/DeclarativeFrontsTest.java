package io.bypass.apply;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.Finding;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;
import io.bypass.plan.Plan;
import io.bypass.util.Json;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** precreate/patch-bundle config edits, CDI specs, and the HPC runtimes' syntax against golden files. */
class DeclarativeFrontsTest {
    static final String LIB = "/usr/lib/x86_64-linux-gnu";

    static Plan plan() {
        return new Plan(Plan.Verdict.INJECT, List.of(), List.of("host-mpich"), List.of(
                new Plan.Mount(LIB + "/libmpich.so.12.2.2", LIB + "/libmpich.so.12.4.1", Plan.Mount.Kind.REPLACE, true,
                        "host-mpich", "libmpich.so.12"),
                new Plan.Mount(LIB + "/libucp.so.0.0.0", "/opt/bypass/lib/libucp.so.0", Plan.Mount.Kind.ADD, true, "host-mpich",
                        "libucp.so.0")),
                List.of(new Plan.Device(new RegisteredDevice("/dev/cxi0", 'c', 240, 0, 0666, 0, 0), "/dev/cxi0", "host-mpich")),
                List.of(new Plan.EnvEdit("LD_LIBRARY_PATH", "/opt/bypass/lib", Plan.EnvEdit.Action.PREPEND, "bypass"),
                        new Plan.EnvEdit("FI_PROVIDER", "cxi", Plan.EnvEdit.Action.SET, "host-mpich")),
                Plan.LIBRARY_DIR);
    }

    static String golden(String name) throws IOException {
        try (InputStream in = DeclarativeFrontsTest.class.getResourceAsStream("/golden/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void configEditKeepsEverythingElse() {
        JsonNode config = Json.parse(("{\"ociVersion\":\"1.0.2\",\"x-unknown\":{\"a\":[1,2]},\"root\":{\"path\":\"/r\"},"
                + "\"process\":{\"args\":[\"/app\"],\"env\":[\"PATH=/bin\",\"LD_LIBRARY_PATH=/usr/local/lib\"]},"
                + "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
                + "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}}}").getBytes(StandardCharsets.UTF_8), "c");
        ObjectNode out = ConfigEditor.apply(config, plan(), "precreate");
        assertEquals("{\"a\":[1,2]}", Json.compact(out.get("x-unknown")));
        assertEquals("proc", out.get("mounts").get(0).get("type").asText(), "existing mounts first, in order");
        assertEquals("tmpfs", out.get("mounts").get(1).get("type").asText());
        assertEquals("/opt/bypass", out.get("mounts").get(1).get("destination").asText());
        assertEquals("[\"rbind\",\"ro\",\"nosuid\",\"nodev\"]", Json.compact(out.get("mounts").get(2).get("options")));
        assertEquals("[\"PATH=/bin\",\"LD_LIBRARY_PATH=/opt/bypass/lib:/usr/local/lib\",\"FI_PROVIDER=cxi\"]",
                Json.compact(out.get("process").get("env")));
        assertEquals("{\"allow\":true,\"type\":\"c\",\"major\":240,\"minor\":0,\"access\":\"rwm\"}",
                Json.compact(out.get("linux").get("resources").get("devices").get(1)));
        assertEquals("/dev/cxi0", out.get("linux").get("devices").get(0).get("path").asText());
        assertTrue(ConfigEditor.alreadyApplied(out));
        assertEquals("{\"a\":[1,2]}", Json.compact(config.get("x-unknown")), "the input is not changed");
        assertTrue(!ConfigEditor.alreadyApplied(config));
    }

    @Test
    void refusalAddsAFailingHook() {
        JsonNode config = Json.parse("{\"root\":{\"path\":\"/r\"},\"hooks\":{\"createRuntime\":[{\"path\":\"/other\"}]}}"
                .getBytes(StandardCharsets.UTF_8), "c");
        ObjectNode out = ConfigEditor.refuse(config, Finding.error("glibc-too-old", "needs GLIBC_2.34", "upgrade"),
                "/usr/local/bin/bypass", "precreate");
        assertEquals("{\"path\":\"/usr/local/bin/bypass\",\"args\":[\"bypass\",\"refuse\",\"--code\",\"glibc-too-old\",\"--\","
                + "\"needs GLIBC_2.34; upgrade\"]}", Json.compact(out.get("hooks").get("createRuntime").get(0)));
        assertEquals("/other", out.get("hooks").get("createRuntime").get(1).get("path").asText(), "other hooks kept, after ours");
    }

    @Test
    void cdiSpecUsesTheLowestVersionItNeeds() {
        RegisteredFile lib = new RegisteredFile(LIB + "/libmpich.so.12.2.2", RegisteredFile.Role.LIBRARY, "x", "libmpich.so.12",
                "12.2.2", "0".repeat(64), 1, "ELF64", "x86_64", List.of(), List.of(), Map.of(), null, List.of());
        BundleDescriptor d = new BundleDescriptor("host-mpich", BundleKind.MPI, null, null, List.of(), BundleDescriptor.Dependencies.CLOSURE,
                List.of(), List.of(), List.of(), Map.of("MPICH_ASYNC_PROGRESS", "0"), BundleDescriptor.Activation.DEFAULT,
                BundleDescriptor.MpiSettings.DEFAULT, BundleDescriptor.GlibcSettings.DEFAULT, Map.of());
        ObjectNode spec = CdiSpec.of(new BundleEntry(d, "now", null, List.of(lib), List.of(), List.of(), Map.of()));
        assertEquals("0.4.0", spec.get("cdiVersion").asText());
        assertEquals(CdiSpec.KIND, spec.get("kind").asText());
        JsonNode edits = spec.get("devices").get(0).get("containerEdits");
        assertEquals("[\"LD_LIBRARY_PATH=/opt/bypass/lib\",\"MPICH_ASYNC_PROGRESS=0\"]", Json.compact(edits.get("env")));
        assertEquals("/opt/bypass/lib/libmpich.so.12", edits.get("mounts").get(1).get("containerPath").asText());

        BundleDescriptor devOnly = new BundleDescriptor("cxi", BundleKind.GENERIC, null, null, List.of(),
                BundleDescriptor.Dependencies.NONE, List.of(), List.of(), List.of("/dev/cxi0"), Map.of(),
                BundleDescriptor.Activation.DEFAULT, BundleDescriptor.MpiSettings.DEFAULT, BundleDescriptor.GlibcSettings.DEFAULT, Map.of());
        ObjectNode devSpec = CdiSpec.of(new BundleEntry(devOnly, "now", null, List.of(),
                List.of(new RegisteredDevice("/dev/cxi0", 'c', 240, 0, 0666, 0, 0)), List.of(), Map.of()));
        assertEquals("0.3.0", devSpec.get("cdiVersion").asText(), "device nodes alone need nothing newer than 0.3.0");
        assertEquals("{\"path\":\"/dev/cxi0\",\"type\":\"c\",\"major\":240,\"minor\":0,\"fileMode\":438,\"permissions\":\"rw\"}",
                Json.compact(devSpec.get("devices").get(0).get("containerEdits").get("deviceNodes").get(0)));
    }

    @Test
    void apptainerMatchesItsGoldenFile() throws IOException {
        assertEquals(golden("apptainer.sh"), WrapperSyntax.apptainer(plan()));
    }

    @Test
    void shifterMatchesItsGoldenFile() throws IOException {
        assertEquals(golden("shifter-udiRoot.conf"), WrapperSyntax.shifter(plan(), "mpich"));
    }

    @Test
    void charliecloudMatchesItsGoldenFile() throws IOException {
        assertEquals(golden("charliecloud.args"), String.join("\n", WrapperSyntax.charliecloudArgs(plan())) + "\n");
    }
}
