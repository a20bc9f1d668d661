package io.bypass.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bypass.BypassException;
import io.bypass.ExitCodes;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.Database;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;
import io.bypass.db.Registrar;
import io.bypass.db.Verifier;
import io.bypass.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "db", description = "Manage the site database of host library bundles.",
        subcommands = {DbCommand.Init.class, DbCommand.Register.class, DbCommand.ListBundles.class, DbCommand.Show.class, DbCommand.Remove.class,
                DbCommand.Verify.class})
final class DbCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return ExitCodes.OK;
    }

    @Command(name = "init", description = "Create the database (directory and bundles/, root's, mode 0755) if it does not "
            + "exist; nothing else creates one (packaging/install.sh runs this).")
    static final class Init implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Database db = Main.of(spec).database();
            boolean created = db.init();
            spec.commandLine().getOut().println((created ? "created the database " : "the database exists: ") + db.dir());
            return ExitCodes.OK;
        }
    }

    @Command(name = "register", description = "Register (or replace) a bundle from a descriptor: resolves its libraries, "
            + "their dependency closure on this host, ELF facts and checksums, and stores it atomically.")
    static final class Register implements Callable<Integer> {
        @Parameters(paramLabel = "FILE", description = "bundle descriptor (JSON, see compat-db/)")
        Path file;

        @Option(names = "--dry-run", description = "resolve and print, store nothing")
        boolean dryRun;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Main main = Main.of(spec);
            Database db = main.database();
            if (!dryRun) {
                db.requireExists();
            }
            BundleDescriptor d = BundleDescriptor.fromJson(Json.readFile(file), file.toString() + ":");
            BundleEntry entry = new Registrar().register(d, file.toString() + ":");
            if (!dryRun) {
                db.store(entry);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (main.json()) {
                out.print(Json.write(entry.toJson()));
            } else {
                long deps = entry.files().stream().filter(f -> f.role() == RegisteredFile.Role.DEPENDENCY).count();
                out.println((dryRun ? "would register " : "registered ") + entry.name() + " (" + entry.kind().id() + "): "
                        + entry.libraries().size() + " libraries, " + deps + " dependencies, " + entry.devices().size()
                        + " devices" + (entry.property("glibc.required") == null ? ""
                        : "; needs glibc " + entry.property("glibc.required") + " or newer in the container")
                        + (dryRun ? "" : "; database " + db.dir()));
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", description = "List the registered bundles.")
    static final class ListBundles implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Main main = Main.of(spec);
            Database db = main.existingDatabase();
            List<BundleEntry> all = db.loadAll();
            PrintWriter out = spec.commandLine().getOut();
            if (main.json()) {
                ObjectNode top = Json.object();
                top.put("database", db.dir().toString());
                ArrayNode arr = top.putArray("bundles");
                for (BundleEntry e : all) {
                    ObjectNode o = arr.addObject();
                    o.put("name", e.name());
                    o.put("kind", e.kind().id());
                    o.put("version", e.descriptor().version());
                    o.put("files", e.files().size());
                    o.put("devices", e.devices().size());
                    o.put("registeredAt", e.registeredAt());
                }
                out.print(Json.write(top));
                return ExitCodes.OK;
            }
            out.println("database " + db.dir() + ": " + all.size() + (all.size() == 1 ? " bundle" : " bundles"));
            for (BundleEntry e : all) {
                out.printf("%-24s %-10s %-10s %4d files %3d devices  registered %s%n", e.name(), e.kind().id(),
                        e.descriptor().version() == null ? "-" : e.descriptor().version(), e.files().size(),
                        e.devices().size(), e.registeredAt());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "show", description = "Show a bundle: its files with soname, role, the highest GLIBC version each "
            + "needs, and its devices.")
    static final class Show implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", description = "the bundle's name (see: bypass db list)")
        String name;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Main main = Main.of(spec);
            Database db = main.existingDatabase();
            BundleEntry e = db.require(name);
            PrintWriter out = spec.commandLine().getOut();
            if (main.json()) {
                out.print(Json.write(e.toJson()));
                return ExitCodes.OK;
            }
            out.println("database " + db.dir() + ":");
            out.println(e.name() + " (" + e.kind().id() + (e.descriptor().version() == null ? "" : " " + e.descriptor().version())
                    + "), registered " + e.registeredAt() + (e.hostGlibc() == null ? "" : " on a host with glibc " + e.hostGlibc()));
            if (e.descriptor().description() != null) {
                out.println("  " + e.descriptor().description());
            }
            e.properties().forEach((k, v) -> out.println("  " + k + ": " + v));
            out.println("files:");
            for (RegisteredFile f : e.files()) {
                out.printf("  %-10s %-28s %-7s %s%n", f.role() == RegisteredFile.Role.LIBRARY ? "library" : "dependency",
                        f.soname(), f.maxGlibc() == null ? "-" : "GLIBC_" + f.maxGlibc(), f.path());
            }
            if (!e.devices().isEmpty()) {
                out.println("devices:");
                for (RegisteredDevice d : e.devices()) {
                    out.printf("  %s %c %d:%d%n", d.path(), d.type(), d.major(), d.minor());
                }
            }
            if (!e.mounts().isEmpty()) {
                out.println("mounts:");
                e.mounts().forEach(m -> out.println("  " + m.source() + " -> " + m.target() + (m.readOnly() ? " (ro)" : "")));
            }
            if (!e.descriptor().env().isEmpty()) {
                out.println("env:");
                e.descriptor().env().forEach((k, v) -> out.println("  " + k + "=" + v));
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "remove", description = "Remove a bundle from the database.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", description = "the bundle's name (see: bypass db list)")
        String name;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Database db = Main.of(spec).existingDatabase();
            if (!db.remove(name)) {
                throw BypassException.badInput("no bundle named '" + name + "' in " + db.dir() + " (see: bypass db list)");
            }
            spec.commandLine().getOut().println("removed " + name + " from the database " + db.dir());
            return ExitCodes.OK;
        }
    }

    @Command(name = "verify", description = "Check every registered file and device against the host; exit 2 naming "
            + "each one that changed or vanished (register the bundle again after a host update).")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Main main = Main.of(spec);
            Database db = main.existingDatabase();
            List<BundleEntry> all = db.loadAll();
            List<Verifier.Problem> problems = Verifier.verify(all);
            PrintWriter out = spec.commandLine().getOut();
            if (main.json()) {
                ArrayNode arr = Json.array();
                for (Verifier.Problem p : problems) {
                    arr.addObject().put("bundle", p.bundle()).put("path", p.path()).put("problem", p.problem());
                }
                ObjectNode o = Json.object();
                o.put("database", db.dir().toString());
                o.put("bundles", all.size());
                o.set("problems", arr);
                out.print(Json.write(o));
            } else {
                for (Verifier.Problem p : problems) {
                    spec.commandLine().getErr().println("bypass: " + p.bundle() + ": " + p.path() + ": " + p.problem()
                            + "; run `bypass db register` for it again");
                }
                if (problems.isEmpty()) {
                    out.println("database " + db.dir() + ": " + all.size() + " bundles verified, every file unchanged");
                } else {
                    out.println("database " + db.dir() + ": " + problems.size() + " problems in " + all.size() + " bundles");
                }
            }
            return problems.isEmpty() ? ExitCodes.OK : ExitCodes.BAD_INPUT;
        }
    }
}
