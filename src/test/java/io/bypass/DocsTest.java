package io.bypass;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README stays a newcomer's page, and every page under docs/ is reachable from the index; no link is dead. */
class DocsTest {
    static final Path PROJECT = FindingCatalogTest.PROJECT;

    @Test
    void theReadmeIsShort() throws IOException {
        long lines = Files.readAllLines(PROJECT.resolve("README.md"), StandardCharsets.UTF_8).size();
        assertTrue(lines <= 160, "README.md has " + lines + " lines; move reference material to docs/");
    }

    @Test
    void theDocsIndexLinksEveryPage() throws IOException {
        String index = Files.readString(PROJECT.resolve("docs/README.md"), StandardCharsets.UTF_8);
        List<String> missing = new ArrayList<>();
        try (Stream<Path> s = Files.list(PROJECT.resolve("docs"))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
                String name = p.getFileName().toString();
                if (!name.equals("README.md") && !index.contains("(" + name + ")")) {
                    missing.add(name);
                }
            }
        }
        assertEquals(List.of(), missing, "docs/README.md must link every docs/*.md");
    }

    @Test
    void relativeLinksResolve() throws IOException {
        List<Path> pages = new ArrayList<>(List.of(PROJECT.resolve("README.md")));
        try (Stream<Path> s = Files.list(PROJECT.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).forEach(pages::add);
        }
        Pattern link = Pattern.compile("\\]\\(([^)#:]+)(#[^)]*)?\\)");
        List<String> dead = new ArrayList<>();
        for (Path page : pages) {
            Matcher m = link.matcher(Files.readString(page, StandardCharsets.UTF_8));
            while (m.find()) {
                if (!Files.exists(page.getParent().resolve(m.group(1)))) {
                    dead.add(PROJECT.relativize(page) + " -> " + m.group(1));
                }
            }
        }
        assertEquals(List.of(), dead);
    }
}
