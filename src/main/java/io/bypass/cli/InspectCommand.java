package io.bypass.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.ExitCodes;
import io.bypass.elf.ElfFacts;
import io.bypass.elf.ElfReader;
import io.bypass.util.Json;
import io.bypass.util.Versions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "inspect", description = "Print the ELF facts bypass uses: class, machine, soname, needed, "
        + "runpaths, symbol versions defined and required, dynamic symbols.")
final class InspectCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "ELF files")
    List<Path> files;

    @Option(names = "--symbols", description = "also list every dynamic symbol (JSON always has them)")
    boolean symbols;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<ElfFacts> all = new ArrayList<>();
        for (Path f : files) {
            // An admin's path on the host: following its symlinks is what they mean.
            Path real;
            try {
                real = f.toRealPath();
            } catch (java.io.IOException e) {
                throw io.bypass.BypassException.badInput(f + ": no such file");
            }
            all.add(ElfReader.read(real, f.toString()));
        }
        if (Main.of(spec).json()) {
            ArrayNode arr = Json.array();
            for (int i = 0; i < files.size(); i++) {
                arr.add(toJson(files.get(i).toString(), all.get(i)));
            }
            out.print(Json.write(arr));
            return ExitCodes.OK;
        }
        for (int i = 0; i < files.size(); i++) {
            ElfFacts e = all.get(i);
            out.println(files.get(i) + ":");
            out.println("  class:     " + e.elfClass() + " " + e.byteOrder() + " " + e.machine() + " " + e.type());
            if (e.interpreter() != null) {
                out.println("  interp:    " + e.interpreter());
            }
            out.println("  soname:    " + (e.soname() == null ? "-" : e.soname()));
            out.println("  needed:    " + (e.needed().isEmpty() ? "-" : String.join(" ", e.needed())));
            if (!e.rpath().isEmpty()) {
                out.println("  rpath:     " + String.join(":", e.rpath()));
            }
            if (!e.runpath().isEmpty()) {
                out.println("  runpath:   " + String.join(":", e.runpath()));
            }
            if (!e.versionDefinitions().isEmpty()) {
                out.println("  defines:   " + String.join(" ", e.versionDefinitions()));
            }
            String maxGlibc = null;
            for (ElfFacts.VersionRequirement r : e.versionRequirements()) {
                out.println("  requires:  " + r.file() + ": " + String.join(" ", r.versions()));
                maxGlibc = Versions.max(maxGlibc, Versions.highest(r.versions(), "GLIBC_"));
            }
            if (maxGlibc != null) {
                out.println("  glibc:     needs GLIBC_" + maxGlibc + " or newer");
            }
            out.println("  symbols:   " + e.definedSymbols().size() + " defined, " + e.undefinedSymbols().size() + " undefined");
            if (symbols) {
                for (ElfFacts.DynamicSymbol s : e.definedSymbols()) {
                    out.println("    D " + s.name() + (s.version() == null ? "" : "@" + s.version()));
                }
                for (ElfFacts.DynamicSymbol s : e.undefinedSymbols()) {
                    out.println("    U " + s.name() + (s.version() == null ? "" : "@" + s.version()));
                }
            }
        }
        return ExitCodes.OK;
    }

    static ObjectNode toJson(String file, ElfFacts e) {
        ObjectNode o = Json.object();
        o.put("file", file);
        o.put("class", e.elfClass());
        o.put("byteOrder", e.byteOrder());
        o.put("machine", e.machine());
        o.put("type", e.type());
        o.put("interpreter", e.interpreter());
        o.put("soname", e.soname());
        o.set("needed", Json.array(e.needed()));
        o.set("rpath", Json.array(e.rpath()));
        o.set("runpath", Json.array(e.runpath()));
        o.set("versionDefinitions", Json.array(e.versionDefinitions()));
        ObjectNode req = o.putObject("versionRequirements");
        for (ElfFacts.VersionRequirement r : e.versionRequirements()) {
            req.set(r.file(), Json.array(r.versions()));
        }
        o.set("definedSymbols", symbols(e.definedSymbols()));
        o.set("undefinedSymbols", symbols(e.undefinedSymbols()));
        return o;
    }

    private static ArrayNode symbols(List<ElfFacts.DynamicSymbol> list) {
        ArrayNode a = Json.array();
        for (ElfFacts.DynamicSymbol s : list) {
            ObjectNode o = a.addObject();
            o.put("name", s.name());
            if (s.version() != null) {
                o.put("version", s.version());
            }
            o.put("binding", s.binding());
            o.put("kind", s.kind());
        }
        return a;
    }
}
