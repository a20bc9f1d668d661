package io.bypass.cli;

import io.bypass.ExitCodes;
import io.bypass.db.BundleEntry;
import io.bypass.host.Fingerprint;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "fingerprint", description = "What this node offers containers: CPU vendor, model, x86-64 level and "
        + "target, kernel, glibc, registered bundles, GPUs and fabric devices.")
final class FingerprintCommand implements Callable<Integer> {
    @Mixin
    HostOptions host;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Main main = Main.of(spec);
        Fingerprint f = host.fingerprint(main.existingDatabase().loadAll());
        PrintWriter out = spec.commandLine().getOut();
        if (main.json()) {
            out.print(Json.write(f.toJson()));
            return ExitCodes.OK;
        }
        out.println("cpu:      " + f.cpu().vendor() + ", " + f.cpu().modelName() + " (family " + f.cpu().family() + ", model "
                + f.cpu().model() + ")");
        out.println("target:   " + f.cpu().target() + (f.cpu().x86Level() > 0 ? ", x86-64-v" + f.cpu().x86Level() : ""));
        out.println("kernel:   " + f.kernel());
        out.println("glibc:    " + f.glibc());
        if (f.bundles().isEmpty()) {
            out.println("bundles:  none registered");
        }
        for (BundleEntry b : f.bundles()) {
            out.println("bundle:   " + b.name() + " (" + b.kind().id() + (b.descriptor().version() == null ? "" : " " + b.descriptor().version())
                    + (b.property("cuda.driver") == null ? "" : ", driver " + b.property("cuda.driver") + ", CUDA " + b.property("cuda.version"))
                    + ")");
        }
        out.println("gpus:     " + (f.gpus().isEmpty() ? "none" : String.join(", ", f.gpus())));
        out.println("fabric:   " + (f.fabricDevices().isEmpty() ? "none" : String.join(", ", f.fabricDevices())));
        return ExitCodes.OK;
    }
}
