package io.bypass.cli;

import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.apply.CdiSpec;
import io.bypass.db.BundleEntry;
import io.bypass.db.Database;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "cdi", description = "Container Device Interface specs for the registered bundles.",
        subcommands = CdiCommand.Generate.class)
final class CdiCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return ExitCodes.OK;
    }

    @Command(name = "generate", description = "Write one CDI spec per registered bundle (kind " + CdiSpec.KIND
            + ", device = bundle name), atomically, mode 0644; remove bypass' specs of bundles no longer registered.")
    static final class Generate implements Callable<Integer> {
        @Option(names = "--output", paramLabel = "DIR", description = "default: /var/run/cdi")
        Path output = Path.of("/var/run/cdi");

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            // Specs the runtime applies as root: from a database only root can change (when we are root).
            Database db = Main.of(spec).site().readDatabase();
            List<BundleEntry> bundles = db.loadAll();
            try {
                Files.createDirectories(output);
            } catch (IOException e) {
                throw BypassException.badInput(output + ": cannot create the CDI directory: " + e.getMessage());
            }
            Set<String> written = new HashSet<>();
            for (BundleEntry b : bundles) {
                Path file = output.resolve(CdiSpec.fileName(b.name()));
                io.bypass.util.AtomicFile.write(file, Json.write(CdiSpec.of(b)).getBytes(StandardCharsets.UTF_8));
                Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
                written.add(file.getFileName().toString());
                spec.commandLine().getOut().println("wrote " + file + " (" + CdiSpec.KIND + "=" + b.name() + ")");
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(output, "bypass-*.json")) {
                for (Path p : ds) {
                    if (!written.contains(p.getFileName().toString())
                            && CdiSpec.KIND.equals(Json.readFile(p).path("kind").asText())) {
                        Files.delete(p);
                        spec.commandLine().getOut().println("removed " + p + " (bundle no longer registered)");
                    }
                }
            }
            return ExitCodes.OK;
        }
    }
}
