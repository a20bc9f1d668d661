package io.bypass.db;

import io.bypass.BypassException;
import io.bypass.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BundleDescriptorTest {

    static BundleDescriptor parse(String json) {
        return BundleDescriptor.fromJson(Json.parse(json.getBytes(StandardCharsets.UTF_8), "d.json"), "d.json:");
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
            "{\"kind\":\"mpi\",\"libraries\":[\"/x\"]}                                  | name: required field is missing",
            "{\"name\":\"Bad Name\",\"kind\":\"mpi\",\"libraries\":[\"/x\"]}            | must be 1-63 lowercase",
            "{\"name\":\"a\",\"kind\":\"nccl\",\"libraries\":[\"/x\"]}                 | unknown kind 'nccl'",
            "{\"name\":\"a\",\"kind\":\"mpi\",\"libraries\":[\"lib/x\"]}               | libraries[0]: 'lib/x' must be an absolute host path",
            "{\"name\":\"a\",\"kind\":\"mpi\",\"libraries\":[\"/a/../etc\"]}           | must not contain '..'",
            "{\"name\":\"a\",\"kind\":\"mpi\",\"libraries\":[7]}                       | libraries[0]: expected a string",
            "{\"name\":\"a\",\"kind\":\"mpi\"}                                         | a bundle needs at least one library",
            "{\"name\":\"a\",\"kind\":\"mpi\",\"libraires\":[\"/x\"]}                  | libraires: unknown field",
            "{\"name\":\"a\",\"kind\":\"generic\",\"devices\":[\"/etc/passwd\"]}       | is not under /dev",
            "{\"name\":\"a\",\"kind\":\"mpi\",\"libraries\":[\"/x\"],\"mpi\":{\"abiCheck\":\"loose\"}} | unknown ABI check 'loose'",
            "{\"name\":\"a\",\"kind\":\"mpi\",\"libraries\":[\"/x\"],\"env\":{\"1X\":\"y\"}} | '1X' is not a valid variable name",
            "{\"name\":\"a\",\"kind\":\"mpi\",\"libraries\":[\"/x\"],\"dependencies\":\"all\"} | 'all' (use closure or none)",
            "[1,2]                                                                      | expected a JSON object",
    })
    void badDescriptorsNameTheField(String json, String expected) {
        BypassException e = assertThrows(BypassException.class, () -> parse(json));
        assertTrue(e.getMessage().startsWith("d.json:"), e.getMessage());
        assertTrue(e.getMessage().contains(expected.trim()), e.getMessage());
        assertEquals(2, e.exitCode());
    }

    @Test
    void notJson() {
        BypassException e = assertThrows(BypassException.class, () -> parse("{\"name\": "));
        assertTrue(e.getMessage().startsWith("d.json: not valid JSON"), e.getMessage());
    }

    @Test
    void roundTripOfEveryExample() throws Exception {
        Path dir = Path.of(System.getProperty("bypass.projectDir", ".")).resolve("compat-db/examples");
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
            for (Path p : ds) {
                BundleDescriptor d = BundleDescriptor.fromJson(Json.readFile(p), p + ":");
                assertEquals(d, BundleDescriptor.fromJson(d.toJson(), "again"));
                n++;
            }
        }
        assertTrue(n >= 5, "the examples: MPICH, Open MPI, libfabric, CUDA, glibc");
    }
}
