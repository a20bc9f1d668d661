package io.bypass;

import com.fasterxml.jackson.databind.JsonNode;
import io.bypass.util.Json;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the GraalVM native-image metadata (META-INF/native-image/) in step with the code: the
 * classes Jackson would reflect on are exactly those reflect-config.json lists (none, as long as
 * JSON is mapped by hand), every picocli command is in the generated config, and every resource
 * the code loads is in resource-config.json.
 */
class NativeImageMetadataTest {
    static final Path SRC = Path.of(System.getProperty("bypass.projectDir", ".")).resolve("src/main/java");
    static final Pattern REFLECTIVE_JACKSON = Pattern.compile(
            "\\b(readValue|treeToValue|convertValue|valueToTree|ObjectMapper|@JsonProperty|@JsonCreator)\\b");
    static final Pattern RESOURCE = Pattern.compile("getResourceAsStream\\(\"/?([^\"]+)\"\\)");

    static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.walk(SRC)) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }

    /** Code only: a comment may name what the code avoids. */
    static String withoutComments(String java) {
        return java.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
    }

    static JsonNode resource(String name) throws IOException {
        try (InputStream in = NativeImageMetadataTest.class.getResourceAsStream(name)) {
            assertNotNull(in, name + " is missing");
            return Json.parse(in.readAllBytes(), name);
        }
    }

    @Test
    void reflectionConfigListsWhatJacksonReflectsOn() throws IOException {
        TreeSet<String> reflective = new TreeSet<>();
        for (Path p : sources()) {
            Matcher m = REFLECTIVE_JACKSON.matcher(withoutComments(Files.readString(p, StandardCharsets.UTF_8)));
            if (m.find()) {
                reflective.add(SRC.relativize(p) + " uses " + m.group(1));
            }
        }
        TreeSet<String> listed = new TreeSet<>();
        for (JsonNode e : resource("/META-INF/native-image/io.bypass/bypass/reflect-config.json")) {
            listed.add(e.get("name").asText());
        }
        assertEquals(new TreeSet<>(), reflective, "JSON is mapped by hand; a reflective Jackson mapping needs its classes "
                + "in reflect-config.json (and this test updated)");
        assertEquals(new TreeSet<>(), listed, "reflect-config.json lists classes nothing reflects on");
    }

    @Test
    void everyCommandIsInPicocliGeneratedConfig() throws IOException {
        JsonNode generated = resource("/META-INF/native-image/picocli-generated/io.bypass/bypass/reflect-config.json");
        TreeSet<String> names = new TreeSet<>();
        generated.forEach(e -> names.add(e.get("name").asText()));
        List<String> missing = new ArrayList<>();
        for (Path p : sources()) {
            String text = Files.readString(p, StandardCharsets.UTF_8);
            if (text.contains("@Command(")) {
                String cls = SRC.relativize(p).toString().replace('/', '.').replaceAll("\\.java$", "");
                if (!names.contains(cls)) {
                    missing.add(cls);
                }
            }
        }
        assertEquals(List.of(), missing);
    }

    @Test
    void resourcesTheCodeLoadsAreIncluded() throws IOException {
        String config = Json.compact(resource("/META-INF/native-image/io.bypass/bypass/resource-config.json"));
        for (Path p : sources()) {
            Matcher m = RESOURCE.matcher(Files.readString(p, StandardCharsets.UTF_8));
            while (m.find()) {
                assertTrue(config.contains(Pattern.quote(m.group(1)).replace("\\", "\\\\")), m.group(1) + " not in resource-config.json");
            }
        }
    }
}
