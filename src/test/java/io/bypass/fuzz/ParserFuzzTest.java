package io.bypass.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import io.bypass.BypassException;
import io.bypass.container.LdCache;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.elf.ElfReader;
import io.bypass.oci.OciConfig;
import io.bypass.oci.OciState;
import io.bypass.util.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzz targets for every parser of input a user or a runtime controls. The guarantee: the
 * product's own error type (one line, exit 2) or a result; never another exception, a hang or
 * unbounded memory (Jazzer reports those as findings). Without JAZZER_FUZZ these run the corpus in
 * src/test/resources/io/bypass/fuzz/ParserFuzzTestInputs/ as regression tests; tests/fuzz.sh fuzzes
 * each for a bounded time (CI) or longer.
 */
class ParserFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void elf(byte[] data) {
        try {
            ElfReader.parse(data, "fuzz");
        } catch (BypassException expected) {
            // the documented outcome for bad input
        }
    }

    /** Real libraries built by tests/fixtures/build-fixtures.sh, the valid starting points of mutations. */
    private static final byte[][] SEEDS = seeds();

    private static byte[][] seeds() {
        Path dir = Path.of(System.getProperty("bypass.fixtures", "target/fixtures"));
        String[] names = {"libfix.so.1", "libuser.so.1", "libfix-stripped.so.1", "libfix32.so.1", "app"};
        java.util.List<byte[]> out = new java.util.ArrayList<>();
        for (String n : names) {
            try {
                if (Files.isRegularFile(dir.resolve(n))) {
                    out.add(Files.readAllBytes(dir.resolve(n)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out.toArray(new byte[0][]);
    }

    /** Random bytes rarely look like ELF: mutate real libraries in place to reach the deep paths. */
    @FuzzTest(maxDuration = "20s")
    void elfMutated(FuzzedDataProvider data) {
        if (SEEDS.length == 0) {
            return;
        }
        byte[] file = mutate(SEEDS[data.consumeInt(0, SEEDS.length - 1)], data);
        try {
            ElfReader.parse(file, "fuzz");
        } catch (BypassException expected) {
            // the documented outcome for bad input
        }
    }

    /** Overwrites a few runs of bytes of a valid input, and sometimes cuts it short. */
    static byte[] mutate(byte[] seed, FuzzedDataProvider data) {
        byte[] file = seed.clone();
        int edits = data.consumeInt(1, 16);
        for (int i = 0; i < edits && data.remainingBytes() > 0 && file.length > 0; i++) {
            int at = data.consumeInt(0, file.length - 1);
            byte[] patch = data.consumeBytes(data.consumeInt(1, 8));
            System.arraycopy(patch, 0, file, at, Math.min(patch.length, file.length - at));
        }
        if (data.consumeBoolean()) {
            file = java.util.Arrays.copyOf(file, data.consumeInt(0, file.length));
        }
        return file;
    }

    private static final byte[] HOST_CACHE = hostCache();

    private static byte[] hostCache() {
        try {
            return Files.readAllBytes(Path.of("/etc/ld.so.cache"));
        } catch (IOException e) {
            return new byte[0];
        }
    }

    @FuzzTest(maxDuration = "20s")
    void ldCacheMutated(FuzzedDataProvider data) {
        try {
            LdCache.parse(mutate(HOST_CACHE, data), "fuzz");
        } catch (BypassException expected) {
            // the documented outcome for bad input
        }
    }

    private static final String[] JSON_SEEDS = {
            "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":4242,\"bundle\":\"/b\","
                    + "\"annotations\":{\"org.supercontainers.bypass.enabled\":\"true\"}}",
            "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"process\":{\"args\":"
                    + "[\"/app\"],\"env\":[\"PATH=/bin\",\"A=b\"]},\"linux\":{\"cgroupsPath\":\"/x\"}}",
            "{\"name\":\"host-mpich\",\"kind\":\"mpi\",\"libraries\":[\"/usr/lib/libmpich.so.12\"],\"mounts\":"
                    + "[{\"source\":\"/etc/x\",\"readOnly\":false}],\"devices\":[\"/dev/cxi*\"],\"env\":{\"A\":\"b\"},"
                    + "\"activation\":{\"annotations\":{\"k\":\"*\"},\"sonames\":[\"libmpi.so.12\"]},\"mpi\":"
                    + "{\"family\":\"mpich\",\"abiCheck\":\"full\"},\"glibc\":{\"replaceOlder\":true},\"properties\":{\"a\":\"b\"}}",
            "{\"format\":1,\"descriptor\":{\"name\":\"x\",\"kind\":\"generic\",\"libraries\":[\"/x\"]},\"registeredAt\":\"t\","
                    + "\"properties\":{},\"files\":[{\"path\":\"/x\",\"role\":\"library\",\"requestedAs\":\"/x\",\"soname\":"
                    + "\"libx.so.1\",\"sha256\":\"00\",\"size\":1,\"elfClass\":\"ELF64\",\"machine\":\"x86_64\",\"needed\":[],"
                    + "\"versionDefinitions\":[],\"versionRequirements\":{\"libc.so.6\":[\"GLIBC_2.34\"]}}],\"devices\":[{\"path\":"
                    + "\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3}],\"mounts\":[]}",
    };

    /** Valid documents with a few bytes changed: past the JSON syntax, into the field checks. */
    @FuzzTest(maxDuration = "20s")
    void jsonModelsMutated(FuzzedDataProvider data) {
        byte[] seed = JSON_SEEDS[data.consumeInt(0, JSON_SEEDS.length - 1)].getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] doc = mutate(seed, data);
        JsonNode n;
        try {
            n = Json.parse(doc, "fuzz");
        } catch (BypassException expected) {
            return;
        }
        for (Runnable r : new Runnable[] {
                () -> OciState.fromJson(n, "fuzz:"),
                () -> OciConfig.fromJson(n, Path.of("/bundle"), "fuzz:"),
                () -> BundleDescriptor.fromJson(n, "fuzz:"),
                () -> BundleEntry.fromJson(n, "fuzz:")}) {
            try {
                r.run();
            } catch (BypassException expected) {
                // the documented outcome for bad input
            }
        }
    }

    @FuzzTest(maxDuration = "20s")
    void ldCache(byte[] data) {
        try {
            LdCache.parse(data, "fuzz");
        } catch (BypassException expected) {
            // the documented outcome for bad input
        }
    }

    @FuzzTest(maxDuration = "20s")
    void ociStateAndConfig(byte[] data) {
        try {
            JsonNode n = Json.parse(data, "fuzz");
            try {
                OciState.fromJson(n, "fuzz:");
            } catch (BypassException expected) {
                // continue with the config reader
            }
            OciConfig.fromJson(n, Path.of("/bundle"), "fuzz:");
        } catch (BypassException expected) {
            // the documented outcome for bad input
        }
    }

    @FuzzTest(maxDuration = "20s")
    void descriptorAndEntry(byte[] data) {
        try {
            JsonNode n = Json.parse(data, "fuzz");
            try {
                BundleDescriptor.fromJson(n, "fuzz:");
            } catch (BypassException expected) {
                // continue with the entry reader
            }
            BundleEntry.fromJson(n, "fuzz:");
        } catch (BypassException expected) {
            // the documented outcome for bad input
        }
    }
}
