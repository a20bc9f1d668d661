package io.bypass.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.Engine;
import io.bypass.ExitCodes;
import io.bypass.db.AbiCheck;
import io.bypass.front.Front;
import io.bypass.front.Mode;
import io.bypass.front.Request;
import io.bypass.front.Site;
import io.bypass.plan.Policy;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "check", description = "Profile a container rootfs and print what bypass would inject, or why it "
        + "refuses. Exit 0: inject or nothing to do; 3: refused.")
final class CheckCommand implements Callable<Integer> {

    @Option(names = "--rootfs", required = true, paramLabel = "DIR", description = "the container's root file system")
    Path rootfs;

    @Option(names = "--annotation", paramLabel = "KEY=VALUE", description = "an OCI annotation of the container (repeatable)")
    Map<String, String> annotations = new LinkedHashMap<>();

    @Option(names = "--env", paramLabel = "KEY=VALUE", description = "the container's environment (repeatable)")
    Map<String, String> env = new LinkedHashMap<>();

    @Option(names = "--exec", paramLabel = "PATH", description = "the program the container runs (path inside it, or a "
            + "name looked up in its PATH): its imports decide symbol-level MPI compatibility")
    String exec;

    @Option(names = "--abi-check", paramLabel = "MODE", description = "MPI ABI check: symbols, major, full, strict "
            + "(default: the site configuration's abiCheck, else symbols)")
    String abiCheck;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main main = Main.of(spec);
        Site site = main.site();
        if (abiCheck != null) {
            site = site.withPolicy(new Policy(AbiCheck.parse(abiCheck, "--abi-check")));
        }
        Engine.Result r = Front.decide(site, Request.ofRootfs(Mode.CHECK, rootfs, annotations, env, exec)).result();
        if (main.json()) {
            ObjectNode o = r.plan().toJson();
            o.set("container", Report.profileJson(r.profile()));
            spec.commandLine().getOut().print(Json.write(o));
        } else {
            Report.printText(spec.commandLine().getOut(), r);
        }
        return r.plan().refused() ? ExitCodes.REFUSED : ExitCodes.OK;
    }
}
