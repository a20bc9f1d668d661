package io.bypass.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.bypass.ExitCodes;
import io.bypass.front.Mode;
import io.bypass.front.Site;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

@Command(name = "precreate", description = "podman/CRI-O precreate hook: the runtime config on stdin, the config with "
        + "bypass' mounts, devices and environment on stdout. A refusal returns the config with a createRuntime hook "
        + "that fails the start with the reason (podman does not show a failing precreate hook's message).")
final class PrecreateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        byte[] input = System.in.readNBytes((int) Json.MAX_DOCUMENT_BYTES + 1);
        if (input.length > Json.MAX_DOCUMENT_BYTES) {
            throw io.bypass.BypassException.badInput("precreate: the runtime config on stdin is larger than 64 MiB");
        }
        JsonNode tree = Json.parse(input, "precreate: the runtime config on stdin");
        // A hook: the database and configuration come from the install, never from BYPASS_*.
        Main main = Main.of(spec);
        Site site = Site.load(Site.databaseFor(main.db, false), Site.configFileFor(main.config, false));
        ConfigFront.Outcome o = ConfigFront.decide(tree, null, "precreate: runtime config:", site, Mode.PRECREATE);
        OutputStream out = System.out;
        out.write(o.config() == null ? input : Json.compact(o.config()).getBytes(StandardCharsets.UTF_8));
        out.flush();
        return ExitCodes.OK;
    }
}
