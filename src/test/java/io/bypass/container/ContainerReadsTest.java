package io.bypass.container;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The build check of "no container path string is ever opened": the classes that read a
 * container (the profiler and what it calls) use no path-based file API of the JDK, and no reader
 * that takes a Path. Only {@link ContainerRoot} touches files, by descriptor (its /proc/self/fd
 * names are the host's own). HostView and the registrar read the host, which root administers.
 */
class ContainerReadsTest {
    static final Path SRC = Path.of(System.getProperty("bypass.projectDir", ".")).resolve("src/main/java/io/bypass/container");
    static final List<String> CONTAINER_READERS = List.of("ContainerRoot.java", "ContainerFile.java", "Profiler.java",
            "RootfsView.java", "LibraryResolver.java", "ProfileBudget.java", "ContainerProfile.java", "ContainerLibrary.java");
    static final Pattern PATH_IO = Pattern.compile("\\b(Files\\.(new\\w+|read\\w*|list|walk|lines|exists|isRegularFile|size|"
            + "getAttribute|getLastModifiedTime|find|copy|isDirectory)|FileChannel\\.open|new (FileInputStream|RandomAccessFile|FileReader)"
            + "|ElfReader\\.read\\(\\w+\\.hostPath|ElfReader\\.isElf|LdCache\\.read\\()");

    @Test
    void containerReadersOpenNoPathString() throws IOException {
        List<String> offences = new ArrayList<>();
        for (String name : CONTAINER_READERS) {
            Path file = SRC.resolve(name);
            if (!Files.exists(file)) {
                continue;
            }
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = PATH_IO.matcher(lines.get(i));
                if (m.find() && !allowed(name, lines.get(i))) {
                    offences.add(name + ":" + (i + 1) + ": " + lines.get(i).trim());
                }
            }
        }
        assertEquals(List.of(), offences, "a container reader opens a path string");
    }

    /** The rootfs directory itself (named by the runtime) and the host's /proc/self/fd links. */
    private static boolean allowed(String file, String line) {
        return file.equals("ContainerRoot.java") && (line.contains("Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)")
                || line.contains("Files.readSymbolicLink(Path.of(\"/proc/self/fd/\""));
    }
}
