package io.bypass.container;

import io.bypass.Finding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an entrypoint really runs, and when the whole image has to count instead. */
class EntryPointTest {
    @TempDir
    Path tmp;
    ContainerRoot root;

    @BeforeEach
    void image() throws IOException {
        // Real ELF files (the host's own programs, only ever read) standing for the image's.
        Path elf = Path.of("/bin/true").toRealPath();
        for (String p : List.of("bin/sh", "app/solver", "usr/bin/python3", "usr/bin/env")) {
            Files.createDirectories(tmp.resolve(p).getParent());
            Files.copy(elf, tmp.resolve(p), StandardCopyOption.REPLACE_EXISTING);
        }
        script("run.sh", "#!/bin/sh\n# site run script\necho start\nexec /app/solver \"$@\"\n");
        script("module.sh", "#!/bin/sh\nmodule load mpich\n/app/solver\n");
        script("var.sh", "#!/bin/sh\n$APP --flag\n");
        script("subst.sh", "#!/bin/sh\nexec $(which solver)\n");
        script("py.sh", "#!/usr/bin/env python3\nimport mpi4py\n");
        script("nested.sh", "#!/bin/sh\n/run.sh\n");
        Files.writeString(tmp.resolve("data.txt"), "not a program\n");
        root = ContainerRoot.open(tmp, ProfileBudget.standard(), ContainerRoot.Resolver.AUTO);
    }

    @AfterEach
    void close() {
        root.close();
    }

    private void script(String name, String text) throws IOException {
        Files.writeString(tmp.resolve(name), text);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            // command line (words split on ' ', quotes as given)       | targets                  | image-wide because (substring), '-' none
            "/app/solver                                                 | /app/solver              | -",
            "/run.sh                                                     | /bin/sh,/app/solver      | -",
            "/nested.sh                                                  | /bin/sh,/bin/sh,/app/solver | -",
            "/bin/sh /run.sh                                             | /app/solver              | -",
            "/bin/sh /missing.sh                                         | -                        | is not found",
            "solver                                                      | -                        | is not found",
            "/bin/sh -c 'LD_LIBRARY_PATH=/opt/view/lib exec /app/solver' | /app/solver              | -",
            "/bin/sh -c 'export LD_LIBRARY_PATH=$HOME/lib; /app/solver'  | -                        | from variables",
            "python3 -c 'import mpi4py'                                  | /usr/bin/python3         | is an interpreter",
            "/py.sh                                                      | /usr/bin/python3         | is an interpreter",
            "/module.sh                                                  | /bin/sh                  | 'module'",
            "/var.sh                                                     | /bin/sh                  | named by a variable",
            "/subst.sh                                                   | /bin/sh                  | command substitutions",
            "/data.txt                                                   | -                        | not an ELF program",
            "/usr/bin/env LD_LIBRARY_PATH=/x /app/solver                 | /app/solver              | -",
    })
    void entrypoints(String line, String targets, String because) {
        EntryPoint.Result r = EntryPoint.analyse(root, EntryPoint.words(line.strip()), Map.of("PATH", "/usr/bin:/bin"));
        List<String> got = r.targets().stream().map(EntryPoint.Target::path).toList();
        assertEquals(targets.strip().equals("-") ? List.of() : List.of(targets.strip().split(",")), got, r.toString());
        if (because.strip().equals("-")) {
            assertNull(r.wholeImage(), r.toString());
        } else {
            assertTrue(r.wholeImage() != null && r.wholeImage().contains(because.strip().replace("'", "'")), r.toString());
        }
    }

    @Test
    void aSearchPathSetInFrontOfTheProgramIsItsOwn() {
        EntryPoint.Result r = EntryPoint.analyse(root,
                List.of("/bin/sh", "-c", "LD_LIBRARY_PATH=/opt/view/lib exec /app/solver"), Map.of());
        assertEquals("/opt/view/lib", r.targets().get(0).ldLibraryPath());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "exec /app/solver \"$@\"          | exec,/app/solver,$@",
            "A='x y' b=\"1 2\" run           | A=x y,b=1 2,run",
            "echo a\\ b                      | echo,a b",
    })
    void words(String line, String expected) {
        assertEquals(List.of(expected.strip().split(",")), EntryPoint.words(line.strip()));
    }

    @Test
    void anInterpreterMakesTheImageCountAndAHugeDirectoryEndsTheScanWithAFinding() throws IOException {
        Path big = Files.createDirectories(tmp.resolve("opt/big"));
        for (int i = 0; i < 40; i++) {
            Files.writeString(big.resolve("f" + i), "");
        }
        ProfileBudget budget = new ProfileBudget(256, 100_000, 1000, 1000, 64 << 20, 20, 2000, 20000,
                new ProfileBudget.Counters());
        ContainerProfile p = Profiler.profile(new Profiler.Request(tmp, Map.of(), Map.of("PATH", "/usr/bin:/bin"), "python3",
                false, List.of(), List.of("python3", "-c", "import mpi4py")), budget);
        List<String> codes = p.findings().stream().map(Finding::code).toList();
        assertTrue(codes.contains("consumers-image"), codes.toString());
        assertTrue(codes.contains("scan-incomplete"), codes.toString());
        assertEquals("image", p.consumerScope());
    }
}
