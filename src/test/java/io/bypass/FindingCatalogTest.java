package io.bypass;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The catalog of finding codes is the one truth: the sources raise only its codes, the docs list exactly it, tests assert each. */
class FindingCatalogTest {
    static final Path PROJECT = Path.of(System.getProperty("bypass.projectDir", "."));
    static final Pattern RAISED = Pattern.compile("Finding\\.(error|warning|info)\\(\"([^\"]*)\"");

    static List<Path> files(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
        }
    }

    @Test
    void everyCodeTheSourcesRaiseIsInTheCatalogWithItsSeverity() throws IOException {
        List<String> wrong = new ArrayList<>();
        int seen = 0;
        for (Path p : files(PROJECT.resolve("src/main/java"), ".java")) {
            Matcher m = RAISED.matcher(Files.readString(p, StandardCharsets.UTF_8));
            while (m.find()) {
                seen++;
                FindingCode c = FindingCode.of(m.group(2));
                if (c == null) {
                    wrong.add(p.getFileName() + ": '" + m.group(2) + "' is not in FindingCode");
                } else if (!c.severity().id().equals(m.group(1))) {
                    wrong.add(p.getFileName() + ": '" + m.group(2) + "' raised as " + m.group(1) + ", catalogued as " + c.severity().id());
                }
            }
        }
        assertEquals(List.of(), wrong);
        assertEquals(true, seen >= 40, "the scan finds the raising sites: " + seen);
    }

    @Test
    void aFindingWithAnUncataloguedCodeOrAnotherSeverityIsABug() {
        assertThrows(IllegalArgumentException.class, () -> Finding.error("no-such-code", "m", null));
        assertThrows(IllegalArgumentException.class, () -> Finding.warning("glibc-too-old", "m", null));
    }

    @Test
    void theDocsTableIsTheCatalog() throws IOException {
        Map<String, String> docs = new LinkedHashMap<>();
        Pattern row = Pattern.compile("^\\| `([a-z0-9-]+)` \\| (\\w+) \\| (.*) \\| (.*) \\|$");
        for (String line : Files.readAllLines(PROJECT.resolve("docs/codes.md"), StandardCharsets.UTF_8)) {
            Matcher m = row.matcher(line);
            if (m.matches()) {
                docs.put(m.group(1), m.group(2) + " | " + m.group(3) + " | " + m.group(4));
            }
        }
        Map<String, String> catalog = new LinkedHashMap<>();
        for (FindingCode c : FindingCode.values()) {
            catalog.put(c.id(), c.severity().id() + " | " + c.meaning() + " | " + c.action());
        }
        assertEquals(catalog, docs, "docs/codes.md must list every code of FindingCode, in its order, with its words "
                + "(regenerate: hook/bypass explain --json | jq -r '.[] | \"| `\\(.code)` | \\(.severity) | \\(.meaning) | \\(.action) |\"')");
    }

    @Test
    void everyCodeIsAssertedBySomeTest() throws IOException {
        StringBuilder tests = new StringBuilder();
        for (Path p : files(PROJECT.resolve("src/test/java"), ".java")) {
            if (!p.getFileName().toString().equals("FindingCatalogTest.java")) {
                tests.append(Files.readString(p, StandardCharsets.UTF_8)).append('\n');
            }
        }
        for (Path p : files(PROJECT.resolve("tests/integration"), ".sh")) {
            tests.append(Files.readString(p, StandardCharsets.UTF_8)).append('\n');
        }
        String all = tests.toString();
        List<String> unasserted = new ArrayList<>();
        for (FindingCode c : FindingCode.values()) {
            Pattern used = Pattern.compile("(?<![a-z0-9-])" + Pattern.quote(c.id()) + "(?![a-z0-9-])|FindingCode\\." + c.name() + "\\b");
            if (!used.matcher(all).find()) {
                unasserted.add(c.id());
            }
        }
        assertEquals(List.of(), unasserted, "codes no test asserts");
    }

    @Test
    void idsAreLowerCaseWords() {
        for (FindingCode c : FindingCode.values()) {
            assertEquals(c.name().toLowerCase(Locale.ROOT).replace('_', '-'), c.id());
        }
    }
}
