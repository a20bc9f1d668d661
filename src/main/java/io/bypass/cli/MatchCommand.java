package io.bypass.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.bypass.BypassException;
import io.bypass.Engine;
import io.bypass.ExitCodes;
import io.bypass.host.Fingerprint;
import io.bypass.host.Matcher;
import io.bypass.front.Front;
import io.bypass.front.Mode;
import io.bypass.front.Request;
import io.bypass.util.Json;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "match", description = "How well an image will run here: green (near bare-metal), orange (runs, not "
        + "optimally), red (will not run), with one reason per dimension (cpu, kernel, glibc, mpi, libfabric, cuda). "
        + "Exit 3 when red.")
final class MatchCommand implements Callable<Integer> {
    static final class Source {
        @Option(names = "--rootfs", paramLabel = "DIR", description = "the image's root file system")
        Path rootfs;

        @Option(names = "--annotations", paramLabel = "FILE", description = "a JSON object of the image's annotations")
        Path annotations;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--annotation", paramLabel = "KEY=VALUE", description = "more annotations (repeatable)")
    Map<String, String> extra = new LinkedHashMap<>();

    @Option(names = "--exec", paramLabel = "PATH", description = "the program inside the rootfs")
    String exec;

    @Mixin
    HostOptions hostOptions;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main main = Main.of(spec);
        Map<String, String> annotations = new LinkedHashMap<>();
        if (source.annotations != null) {
            JsonNode n = Json.readFile(source.annotations);
            if (!n.isObject()) {
                throw BypassException.badInput(source.annotations + ": expected a JSON object of annotations");
            }
            annotations.putAll(toMap(n, source.annotations.toString()));
        }
        annotations.putAll(extra);
        Fingerprint host = hostOptions.fingerprint(main.existingDatabase().loadAll());
        Matcher.Result r;
        if (source.rootfs != null) {
            Engine.Result e = Front.decide(main.site(), Request.ofRootfs(Mode.MATCH, source.rootfs, annotations, Map.of(), exec))
                    .result();
            r = Matcher.match(host, annotations, e.profile(), e.plan());
        } else {
            r = Matcher.match(host, annotations, null, null);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (main.json()) {
            out.print(Json.write(r.toJson()));
        } else {
            out.println(r.overall().id().toUpperCase(Locale.ROOT));
            for (Matcher.Dimension d : r.dimensions()) {
                out.printf("  %-10s %-7s %s%n", d.name(), d.colour().id(), d.reason());
            }
        }
        return r.overall() == Matcher.Colour.RED ? ExitCodes.REFUSED : ExitCodes.OK;
    }

    private static Map<String, String> toMap(JsonNode n, String where) {
        Map<String, String> out = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw BypassException.badInput(where + ": " + e.getKey() + ": expected a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        });
        return out;
    }
}
