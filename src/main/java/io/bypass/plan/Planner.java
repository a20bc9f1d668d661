package io.bypass.plan;

import io.bypass.Finding;
import io.bypass.container.ContainerLibrary;
import io.bypass.container.ContainerProfile;
import io.bypass.container.Profiler;
import io.bypass.db.AbiCheck;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;
import io.bypass.elf.Sonames;
import io.bypass.util.Versions;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The compatibility rules of shared/DESIGN.md as one pure function of (profile, database, policy).
 * No I/O: everything it needs about host files was computed at registration, everything about the
 * container by the profiler.
 */
public final class Planner {
    /** Selects bundles by name, overriding detection ("name1,name2"). */
    public static final String ANN_BUNDLES = "org.supercontainers.bypass.bundles";
    /** "false" turns bypass off for a container. */
    public static final String ANN_ENABLED = "org.supercontainers.bypass.enabled";

    private static final int MAX_LISTED_SYMBOLS = 8;

    private Planner() {
    }

    public static Plan plan(ContainerProfile profile, List<BundleEntry> database, Policy policy) {
        List<Finding> findings = new ArrayList<>(profile.findings());
        if (OptOut.optedOut(profile.annotations())) {
            findings.add(Finding.info("disabled", ANN_ENABLED + "=false: nothing injected"));
            return none(findings);
        }
        List<BundleEntry> selected = select(profile, database, findings);
        if (selected.isEmpty()) {
            if (!anyError(findings)) {
                findings.add(Finding.info("nothing-to-inject", "no registered bundle applies to this container"
                        + describeWhy(profile)));
                return none(findings);
            }
            return refuse(findings, List.of());
        }

        GlibcState glibc = new GlibcState(profile);
        Edits edits = new Edits();
        List<String> names = new ArrayList<>();
        for (BundleEntry b : selected) {
            names.add(b.name());
            int errorsBefore = errorCount(findings);
            boolean standardAbi = b.kind() == BundleKind.MPI && MpiAbiRules.applies(b, profile);
            if (b.kind() == BundleKind.MPI && !standardAbi) {
                checkMpi(b, profile, policy, findings);
            }
            StackRules.Selection selection = switch (b.kind()) {
                case MPI -> standardAbi ? MpiAbiRules.check(b, profile, findings) : StackRules.all(b);
                case CUDA -> StackRules.cuda(b, profile, findings);
                case LIBFABRIC -> StackRules.libfabric(b, profile, findings);
                default -> StackRules.all(b);
            };
            if (selection == null || errorCount(findings) > errorsBefore) {
                continue;
            }
            planBundle(b, selection, profile, database, glibc, edits, findings);
        }
        if (errorCount(findings) > 0) {
            return refuse(findings, names);
        }
        boolean loaderDirs = false;
        for (Plan.EnvEdit e : edits.env) {
            loaderDirs |= e.name().equals("LD_LIBRARY_PATH");
        }
        if (!edits.added.isEmpty()) {
            edits.env.add(0, new Plan.EnvEdit("LD_LIBRARY_PATH", Plan.LIBRARY_DIR, Plan.EnvEdit.Action.PREPEND, "bypass"));
        }
        List<Plan.Mount> mounts = new ArrayList<>(edits.mounts.values());
        if (mounts.isEmpty() && edits.devices.isEmpty() && edits.env.isEmpty()) {
            findings.add(Finding.info("nothing-to-inject", "the applicable bundles have nothing this container lacks"));
            return new Plan(Plan.Verdict.NONE, findings, names, List.of(), List.of(), List.of(), null);
        }
        return new Plan(Plan.Verdict.INJECT, findings, names, mounts, edits.devices, edits.env,
                edits.added.isEmpty() && !loaderDirs ? null : Plan.LIBRARY_DIR);
    }

    private static Plan none(List<Finding> findings) {
        return new Plan(Plan.Verdict.NONE, findings, List.of(), List.of(), List.of(), List.of(), null);
    }

    private static Plan refuse(List<Finding> findings, List<String> names) {
        return new Plan(Plan.Verdict.REFUSE, findings, names, List.of(), List.of(), List.of(), null);
    }

    private static int errorCount(List<Finding> findings) {
        int n = 0;
        for (Finding f : findings) {
            if (f.isError()) {
                n++;
            }
        }
        return n;
    }

    // Loops, not streams or lambdas: a cold hook links none it can do without (docs/speed.md).
    private static boolean anyError(List<Finding> findings) {
        for (Finding f : findings) {
            if (f.isError()) {
                return true;
            }
        }
        return false;
    }

    private static void addTo(Map<String, Set<String>> sets, String key, String value) {
        Set<String> set = sets.get(key);
        if (set == null) {
            set = new TreeSet<>();
            sets.put(key, set);
        }
        set.add(value);
    }

    private static String describeWhy(ContainerProfile p) {
        if (p.mpi() == null && p.libfabric() == null) {
            return " (it has no MPI or libfabric library and asks for no bundle)";
        }
        if (p.mpi() != null) {
            return " (its " + p.mpi().family() + " MPI " + p.mpi().mainSoname() + " has no registered host bundle)";
        }
        return "";
    }

    // ---------------------------------------------------------------- selection

    static List<BundleEntry> select(ContainerProfile p, List<BundleEntry> database, List<Finding> findings) {
        String explicit = p.annotations().get(ANN_BUNDLES);
        List<BundleEntry> out = new ArrayList<>();
        if (explicit != null && !explicit.isBlank()) {
            for (String name : explicit.split(",")) {
                String n = name.trim();
                BundleEntry found = null;
                for (BundleEntry b : database) {
                    if (b.name().equals(n)) {
                        found = b;
                    }
                }
                if (found == null) {
                    findings.add(Finding.error("unknown-bundle", ANN_BUNDLES + " names '" + n + "', which is not registered",
                            "see `bypass db list` for the bundles of this site"));
                } else if (found.kind() != BundleKind.GLIBC) {
                    out.add(found);
                }
            }
            return out;
        }
        for (BundleEntry b : database) {
            if (b.kind() != BundleKind.GLIBC && activated(b, p)) {
                out.add(b);
            }
        }
        return out;
    }

    static boolean activated(BundleEntry b, ContainerProfile p) {
        BundleDescriptor.Activation a = b.descriptor().activation();
        if (a.always()) {
            return true;
        }
        if (!a.annotations().isEmpty()) {
            for (Map.Entry<String, String> e : a.annotations().entrySet()) {
                String v = p.annotations().get(e.getKey());
                if (v == null || !(e.getValue().equals("*") || e.getValue().equals(v))) {
                    return false;
                }
            }
            return true;
        }
        if (!a.sonames().isEmpty()) {
            for (String s : a.sonames()) {
                if (p.libraries().containsKey(s)) {
                    return true;
                }
            }
            return false;
        }
        String mode = p.annotations().get(Profiler.ANN_MPI_MODE);
        return switch (b.kind()) {
            case MPI -> {
                if ("libfabric_inject".equals(mode)) {
                    yield false;
                }
                if ("mpi_system".equals(mode) || "mpi_replace".equals(mode)) {
                    yield true;
                }
                yield p.mpi() != null && MpiAbiRules.serves(b, p.mpi().family());
            }
            case LIBFABRIC -> p.libfabric() != null || "libfabric_inject".equals(mode);
            case CUDA -> {
                String v = p.env().get("NVIDIA_VISIBLE_DEVICES");
                yield v != null && !v.isEmpty() && !v.equals("void");
            }
            case GLIBC, GENERIC -> false;
        };
    }

    // ---------------------------------------------------------------- MPI

    /** Libtool-style version numbers; a missing component is null. */
    record LibVersion(Integer major, Integer minor, Integer patch) {
        static LibVersion parse(String dotted) {
            Integer[] parts = new Integer[3];
            if (dotted != null && !dotted.isEmpty()) {
                String[] s = dotted.split("\\.");
                for (int i = 0; i < Math.min(3, s.length); i++) {
                    try {
                        parts[i] = Integer.valueOf(s[i]);
                    } catch (NumberFormatException e) {
                        break;
                    }
                }
            }
            return new LibVersion(parts[0], parts[1], parts[2]);
        }

        int minorOrZero() {
            return minor == null ? 0 : minor;
        }
    }

    /** The outcome of comparing two MPI library versions under one ABI check. */
    enum AbiOutcome { COMPATIBLE, HOST_MINOR_OLDER, INCOMPATIBLE_MAJOR, INCOMPATIBLE_MINOR, NO_VERSION }

    /**
     * The version comparison of the ABI checks, from the libtool numbers in file names (Sarus'
     * rules for MAJOR, FULL and STRICT). SYMBOLS compares like FULL and then decides
     * HOST_MINOR_OLDER from the symbols the container imports.
     */
    static AbiOutcome compareVersions(AbiCheck check, String hostVersion, String containerVersion) {
        LibVersion h = LibVersion.parse(hostVersion);
        LibVersion c = LibVersion.parse(containerVersion);
        if (h.major() == null || c.major() == null) {
            return AbiOutcome.NO_VERSION;
        }
        if (!h.major().equals(c.major())) {
            return AbiOutcome.INCOMPATIBLE_MAJOR;
        }
        return switch (check) {
            case MAJOR -> AbiOutcome.COMPATIBLE;
            case STRICT -> h.minor() != null && c.minor() != null && h.minor().equals(c.minor())
                    ? AbiOutcome.COMPATIBLE : AbiOutcome.INCOMPATIBLE_MINOR;
            case FULL, SYMBOLS -> h.minorOrZero() >= c.minorOrZero() ? AbiOutcome.COMPATIBLE : AbiOutcome.HOST_MINOR_OLDER;
        };
    }

    static void checkMpi(BundleEntry b, ContainerProfile p, Policy policy, List<Finding> findings) {
        ContainerProfile.Mpi mpi = p.mpi();
        String hostFamily = b.property("mpi.family");
        if (mpi == null) {
            findings.add(Finding.info("mpi-added", "the container has no MPI library; " + b.name()
                    + " is added as requested").forBundle(b.name()));
            return;
        }
        if (hostFamily != null && !hostFamily.equals(mpi.family())) {
            findings.add(Finding.error("mpi-family-mismatch", "the container's MPI is " + mpi.family() + " ("
                    + mpi.mainSoname() + ") but bundle " + b.name() + " is " + hostFamily,
                    "an image built against " + hostFamily + " is needed for this site's MPI").forBundle(b.name()));
            return;
        }
        RegisteredFile hostMain = mainMpiLibrary(b);
        if (hostMain == null) {
            List<RegisteredFile> siblings = new ArrayList<>();
            for (RegisteredFile f : b.libraries()) {
                if (Sonames.mpiFamily(f.soname()) != null && p.libraries().containsKey(f.soname())) {
                    siblings.add(f);
                }
            }
            if (siblings.isEmpty()) {
                findings.add(Finding.error("mpi-bundle-incomplete", "bundle " + b.name() + " lists no libmpi or libmpich library",
                        "add the MPI library to the descriptor and register it again").forBundle(b.name()));
            } else {
                partialMpi(b, p, siblings, findings);
            }
            return;
        }
        AbiCheck check = b.descriptor().mpi().abiCheck() == null ? policy.abiCheck()
                : AbiCheck.parse(b.descriptor().mpi().abiCheck(), "mpi.abiCheck");
        String hostVersion = hostMain.libtoolVersion().isEmpty() ? Sonames.versionSuffix(hostMain.soname()) : hostMain.libtoolVersion();
        String containerVersion = mpi.libtoolVersion().isEmpty() ? Sonames.versionSuffix(mpi.mainSoname()) : mpi.libtoolVersion();
        String both = "host " + hostMain.fileName() + " (" + hostVersion + "), container " + mpi.mainSoname()
                + " (" + (containerVersion.isEmpty() ? "no version" : containerVersion) + ")";
        AbiOutcome outcome = compareVersions(check, hostVersion, containerVersion);
        switch (outcome) {
            case COMPATIBLE -> findings.add(Finding.info("abi-compatible", "MPI ABI compatible (" + check.id() + "): " + both)
                    .forBundle(b.name()));
            case NO_VERSION -> findings.add(Finding.error("abi-unknown", "cannot compare MPI ABI versions: " + both,
                    "MPI library file names must carry at least the soname major").forBundle(b.name()));
            case INCOMPATIBLE_MAJOR -> findings.add(Finding.error("abi-major-mismatch", "MPI ABI major differs: " + both,
                    "the image needs an MPI of the host's ABI major").forBundle(b.name()));
            case INCOMPATIBLE_MINOR -> findings.add(Finding.error("abi-minor-mismatch", "MPI ABI minor differs under the "
                    + "strict check: " + both, "use an image built against the host's MPI version, or a less strict check")
                    .forBundle(b.name()));
            case HOST_MINOR_OLDER -> minorOlder(b, p, check, both, findings);
        }
    }

    private static void minorOlder(BundleEntry b, ContainerProfile p, AbiCheck check, String both, List<Finding> findings) {
        if (check == AbiCheck.FULL) {
            findings.add(Finding.warning("abi-minor-older", "host MPI is older than the container's: " + both,
                    "the full check proceeds anyway; functions newer than the host's MPI will fail").forBundle(b.name()));
            return;
        }
        if (p.exec() == null) {
            findings.add(Finding.warning("abi-minor-older", "host MPI is older than the container's: " + both
                    + "; the symbols the program imports were not checked", "give the program (--exec) to check them")
                    .forBundle(b.name()));
            return;
        }
        // The container's files this bundle replaces: what their consumers import of them must be
        // defined by the host's files; their own imports no longer matter (they are not loaded).
        Set<String> replacedSonames = new HashSet<>();
        for (RegisteredFile f : b.libraries()) {
            replacedSonames.add(f.soname());
        }
        Set<String> containerDefined = new HashSet<>();
        Set<String> replacedFiles = new HashSet<>();
        String containerMainPath = null;
        for (ContainerLibrary l : p.mpi().libraries().values()) {
            boolean replaced = replacedSonames.contains(l.fileSoname()) || replacedSonames.contains(l.soname())
                    || (l.fileSoname().equals(p.mpi().mainSoname()) && mainMpiLibrary(b) != null);
            if (replaced) {
                containerDefined.addAll(l.definedSymbols());
                replacedFiles.add(l.realPath());
                replacedFiles.addAll(p.providersOf(l.fileSoname()));
            }
            if (l.fileSoname().equals(p.mpi().mainSoname())) {
                containerMainPath = l.realPath();
            }
        }
        Set<String> hostDefined = new HashSet<>();
        for (RegisteredFile f : b.libraries()) {
            hostDefined.addAll(f.definedSymbols());
        }
        Set<String> imported = new TreeSet<>();
        Map<String, Set<String>> missingBy = new LinkedHashMap<>();
        int weakAbsent = 0;
        for (ContainerProfile.Import imp : p.exec().imports()) {
            if (replacedFiles.contains(imp.importedBy()) || !containerDefined.contains(imp.symbol())) {
                continue;
            }
            if (imp.weak()) {
                // A weak reference is optional: the loader leaves it null, and the program checks it.
                weakAbsent += hostDefined.contains(imp.symbol()) ? 0 : 1;
                continue;
            }
            imported.add(imp.symbol());
            if (!hostDefined.contains(imp.symbol())) {
                addTo(missingBy, imp.importedBy(), imp.symbol());
            }
        }
        String weakNote = weakAbsent == 0 ? "" : "; " + weakAbsent + " weak reference" + (weakAbsent == 1 ? "" : "s")
                + " to symbols the host lacks stay unresolved, as the program allows";
        if (missingBy.isEmpty()) {
            findings.add(Finding.warning("abi-minor-older", "host MPI is older than the container's: " + both
                    + "; all " + imported.size() + " MPI symbols " + consumersChecked(p) + " import are defined by the host"
                    + " library" + weakNote, null).forBundle(b.name()));
        } else {
            Set<String> missing = new TreeSet<>();
            for (Set<String> symbols : missingBy.values()) {
                missing.addAll(symbols);
            }
            List<String> who = new ArrayList<>();
            for (String consumer : missingBy.keySet()) {
                Optional<ContainerProfile.Consumer> c = p.consumer(consumer);
                boolean now = c.isPresent() && c.get().bindNow();
                who.add(consumer + (now ? " (bound at load: it fails to start)" : " (bound lazily: it fails at the first call)"));
            }
            String consumers = who.size() <= 3 ? String.join(", ", who)
                    : String.join(", ", who.subList(0, 3)) + " and " + (who.size() - 3) + " more";
            String version = b.descriptor().version();
            findings.add(Finding.error("missing-symbols", "host MPI " + b.name() + " lacks " + listSome(missing)
                    + " that " + consumers + " import" + (who.size() == 1 ? "s" : "") + " (" + both + ")",
                    "use an image built against " + (version == null || version.isBlank() ? "the host's MPI version"
                            : "MPI " + version) + " or older, or a newer host MPI").forBundle(b.name()));
        }
    }

    /**
     * A bundle of MPI sibling libraries alone (libmpichfort without libmpich): the container's own
     * main library stays and serves them. What the consumers import of each replaced sibling must
     * be defined by the host's copy; what the host's copies import of the container's main library
     * is not registered, so it is not checked, and the finding says so.
     */
    private static void partialMpi(BundleEntry b, ContainerProfile p, List<RegisteredFile> siblings, List<Finding> findings) {
        Map<String, Set<String>> missingBy = new LinkedHashMap<>();
        Set<String> missing = new TreeSet<>();
        List<String> replaced = new ArrayList<>();
        for (RegisteredFile host : siblings) {
            ContainerLibrary own = p.libraries().get(host.soname());
            replaced.add(host.fileName() + " over the container's " + own.realPath());
            Set<String> hostDefined = new HashSet<>(host.definedSymbols());
            Set<String> ownDefined = new HashSet<>(own.definedSymbols());
            if (p.exec() == null) {
                continue;
            }
            for (ContainerProfile.Import imp : p.exec().imports()) {
                if (imp.weak() || imp.importedBy().equals(own.realPath()) || p.providersOf(host.soname()).contains(imp.importedBy())
                        || !ownDefined.contains(imp.symbol()) || hostDefined.contains(imp.symbol())) {
                    continue;
                }
                addTo(missingBy, imp.importedBy(), imp.symbol());
                missing.add(imp.symbol());
            }
        }
        if (!missing.isEmpty()) {
            findings.add(Finding.error("missing-symbols", "host MPI " + b.name() + " lacks " + listSome(missing) + " that "
                    + String.join(", ", missingBy.keySet()) + " import" + (missingBy.size() == 1 ? "s" : ""),
                    "add the host's main MPI library to the bundle, or use an image built against the host's MPI")
                    .forBundle(b.name()));
            return;
        }
        findings.add(Finding.warning("mpi-bundle-partial", "bundle " + b.name() + " has no libmpi or libmpich: it puts "
                + String.join(", ", replaced) + ", and the container's own " + p.mpi().mainSoname() + " ("
                + p.mpi().libtoolVersion() + ") stays and serves "
                + (siblings.size() == 1 ? "it" : "them") + (p.exec() == null ? "; nothing the program imports was checked"
                : "; what the consumers import of " + (siblings.size() == 1 ? "it is" : "them is") + " defined there")
                + ", what the host's copy imports of the container's library is not", "register the host's main MPI "
                + "library in the bundle to run on the host MPI").forBundle(b.name()));
    }

    /** Which consumers a symbol check covered, for its message. */
    private static String consumersChecked(ContainerProfile p) {
        int n = p.consumers().size();
        return switch (p.consumerScope()) {
            case "image" -> "the image's " + n + " MPI consumer" + (n == 1 ? "" : "s");
            case "script" -> "the programs the entrypoint runs (" + n + " consumer" + (n == 1 ? "" : "s") + ")";
            default -> p.exec().path() + (n > 1 ? " and its libraries" : "");
        };
    }

    private static String listSome(Set<String> names) {
        List<String> l = new ArrayList<>(names);
        String shown = String.join(", ", l.subList(0, Math.min(MAX_LISTED_SYMBOLS, l.size())));
        return l.size() > MAX_LISTED_SYMBOLS ? shown + " and " + (l.size() - MAX_LISTED_SYMBOLS) + " more" : shown;
    }

    static RegisteredFile mainMpiLibrary(BundleEntry b) {
        RegisteredFile best = null;
        for (RegisteredFile f : b.libraries()) {
            String stem = Sonames.stem(f.soname());
            if (stem.equals("libmpi") || stem.equals("libmpich")) {
                if (best == null || stem.equals("libmpi") && Sonames.mpiFamily(f.soname()) != null) {
                    best = f;
                }
            }
        }
        return best;
    }

    // ---------------------------------------------------------------- files, glibc, dependencies

    /** The container's glibc as the rules see it: the versions each glibc library defines. */
    static final class GlibcState {
        final ContainerProfile profile;

        GlibcState(ContainerProfile profile) {
            this.profile = profile;
        }

        /** The versions a glibc-family library of the container defines, or null when absent. */
        List<String> definedBy(String soname) {
            if (soname.equals("libc.so.6") && profile.libc().isGlibc() && !profile.libraries().containsKey("libc.so.6")) {
                return profile.libc().versions();
            }
            ContainerLibrary lib = profile.libraries().get(soname);
            return lib == null ? null : lib.versionDefinitions();
        }
    }

    static final class Edits {
        final Map<String, Plan.Mount> mounts = new LinkedHashMap<>();
        final Set<String> added = new LinkedHashSet<>();
        final List<Plan.Device> devices = new ArrayList<>();
        final List<Plan.EnvEdit> env = new ArrayList<>();
        String glibcReplacedBy;
    }

    private record Missing(RegisteredFile file, String library, String version) {
    }

    static void planBundle(BundleEntry b, StackRules.Selection selection, ContainerProfile p, List<BundleEntry> database,
                           GlibcState glibc, Edits edits, List<Finding> findings) {
        Map<String, RegisteredFile> bySoname = new LinkedHashMap<>();
        for (RegisteredFile f : b.files()) {
            bySoname.putIfAbsent(f.soname(), f);
        }
        Set<String> excluded = new HashSet<>(b.descriptor().excludeDependencies());
        Map<String, RegisteredFile> inject = new LinkedHashMap<>();
        Deque<RegisteredFile> queue = new ArrayDeque<>(selection.roots());
        for (RegisteredFile f : selection.roots()) {
            inject.put(f.soname(), f);
        }
        List<Missing> glibcMissing = new ArrayList<>();
        boolean musl = "musl".equals(p.libc().implementation());
        while (!queue.isEmpty()) {
            RegisteredFile f = queue.removeFirst();
            for (String needed : f.needed()) {
                if (Sonames.isGlibcFamily(needed)) {
                    if (musl || !p.libc().isGlibc()) {
                        continue;
                    }
                    List<String> defined = glibc.definedBy(needed);
                    List<String> required = f.versionRequirements().getOrDefault(needed, List.of());
                    if (defined == null) {
                        glibcMissing.add(new Missing(f, needed, null));
                        continue;
                    }
                    for (String v : required) {
                        if (!defined.contains(v)) {
                            glibcMissing.add(new Missing(f, needed, v));
                        }
                    }
                    continue;
                }
                if (inject.containsKey(needed) || excluded.contains(needed)) {
                    continue;
                }
                RegisteredFile dep = bySoname.get(needed);
                if (dep == null) {
                    if (!p.libraries().containsKey(needed)) {
                        findings.add(Finding.warning("dependency-missing", f.path() + " needs " + needed
                                + ", which neither bundle " + b.name() + " nor the container provides",
                                "register the bundle with dependencies: closure, or install it in the image").forBundle(b.name()));
                    }
                    continue;
                }
                if (containerProvidesCompatible(needed, inject.values(), dep, p)) {
                    continue;
                }
                inject.put(needed, dep);
                queue.add(dep);
            }
        }
        if (musl) {
            findings.add(Finding.error("libc-mismatch", "the container's libc is musl (" + p.libc().path() + ") but bundle "
                    + b.name() + " is linked against glibc", "use a glibc-based image").forBundle(b.name()));
            return;
        }
        if (!p.libc().isGlibc()) {
            findings.add(Finding.error("libc-unknown", "the container has no libc.so.6 that bypass can find, so bundle "
                    + b.name() + " cannot be checked", "use a glibc-based image with a dynamic loader").forBundle(b.name()));
            return;
        }
        if (!glibcMissing.isEmpty()) {
            BundleEntry replacement = glibcReplacement(database, p, glibcMissing);
            if (replacement == null) {
                reportGlibc(b, p, glibcMissing, findings);
                return;
            }
            replaceGlibc(replacement, b, p, edits, findings);
        }
        for (RegisteredFile f : inject.values()) {
            addLibraryMount(b, f, p, edits);
        }
        for (BundleDescriptor.ExtraMount m : b.mounts()) {
            edits.mounts.putIfAbsent(m.target(), new Plan.Mount(m.source(), m.target(), Plan.Mount.Kind.EXTRA, m.readOnly(),
                    b.name(), null));
        }
        for (RegisteredDevice d : selection.devices()) {
            edits.devices.add(new Plan.Device(d, d.path(), b.name()));
        }
        edits.env.addAll(selection.env());
        for (Map.Entry<String, String> e : new TreeMap<>(b.descriptor().env()).entrySet()) {
            edits.env.add(new Plan.EnvEdit(e.getKey(), e.getValue(), Plan.EnvEdit.Action.SET, b.name()));
        }
    }

    /**
     * The container's copy of a dependency is kept when it exists and defines every version the
     * injected files need of it (an unversioned library is judged by its soname alone).
     */
    static boolean containerProvidesCompatible(String soname, Iterable<RegisteredFile> injected, RegisteredFile hostCopy,
                                               ContainerProfile p) {
        ContainerLibrary lib = p.libraries().get(soname);
        if (lib == null) {
            return false;
        }
        for (RegisteredFile f : injected) {
            for (String v : f.versionRequirements().getOrDefault(soname, List.of())) {
                if (!lib.versionDefinitions().contains(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static void addLibraryMount(BundleEntry b, RegisteredFile f, ContainerProfile p, Edits edits) {
        ContainerLibrary own = p.libraries().get(f.soname());
        if (own == null && b.kind() == BundleKind.MPI) {
            own = sameMpiFile(f, p);
        }
        if (own != null) {
            edits.mounts.putIfAbsent(own.realPath(), new Plan.Mount(f.path(), own.realPath(), Plan.Mount.Kind.REPLACE, true,
                    b.name(), f.soname()));
            // Every other copy in the image too, keeping its name: a search path a script sets later
            // must not lead to the container's own library.
            for (String copy : p.providersOf(own.fileSoname())) {
                edits.mounts.putIfAbsent(copy, new Plan.Mount(f.path(), copy, Plan.Mount.Kind.REPLACE, true, b.name(),
                        f.soname()));
            }
        } else if (!p.providersOf(f.soname()).isEmpty()) {
            for (String copy : p.providersOf(f.soname())) {
                edits.mounts.putIfAbsent(copy, new Plan.Mount(f.path(), copy, Plan.Mount.Kind.REPLACE, true, b.name(),
                        f.soname()));
            }
        } else {
            String target = Plan.LIBRARY_DIR + "/" + f.soname();
            if (edits.mounts.putIfAbsent(target, new Plan.Mount(f.path(), target, Plan.Mount.Kind.ADD, true, b.name(),
                    f.soname())) == null) {
                edits.added.add(f.soname());
            }
        }
    }

    /** The container's MPI file that plays the host file's part under another soname (libmpi vs libmpich). */
    private static ContainerLibrary sameMpiFile(RegisteredFile f, ContainerProfile p) {
        if (p.mpi() == null) {
            return null;
        }
        String stem = Sonames.stem(f.soname());
        int major = Sonames.major(f.soname());
        for (ContainerLibrary l : p.mpi().libraries().values()) {
            String s = Sonames.stem(l.fileSoname());
            boolean bothMain = (stem.equals("libmpi") || stem.equals("libmpich")) && (s.equals("libmpi") || s.equals("libmpich"));
            if (bothMain && Sonames.major(l.fileSoname()) == major) {
                return l;
            }
        }
        return null;
    }

    /**
     * A registered glibc bundle that opts in to replacing older container glibcs and defines every
     * missing version; never one older than the container's (no downgrade).
     */
    static BundleEntry glibcReplacement(List<BundleEntry> database, ContainerProfile p, List<Missing> missing) {
        for (BundleEntry g : database) {
            if (g.kind() != BundleKind.GLIBC || !g.descriptor().glibc().replaceOlder()) {
                continue;
            }
            String hostVersion = g.property("glibc.version");
            if (hostVersion == null || p.libc().version() == null || Versions.compare(hostVersion, p.libc().version()) <= 0) {
                continue;
            }
            boolean all = true;
            for (Missing m : missing) {
                RegisteredFile lib = null;
                for (RegisteredFile f : g.files()) {
                    if (f.soname().equals(m.library())) {
                        lib = f;
                    }
                }
                if (lib == null || (m.version() != null && !lib.versionDefinitions().contains(m.version()))) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return g;
            }
        }
        return null;
    }

    private static void replaceGlibc(BundleEntry g, BundleEntry forBundle, ContainerProfile p, Edits edits, List<Finding> findings) {
        if (edits.glibcReplacedBy != null) {
            return;
        }
        edits.glibcReplacedBy = g.name();
        for (RegisteredFile f : g.files()) {
            ContainerLibrary own = p.libraries().get(f.soname());
            if (own != null) {
                edits.mounts.putIfAbsent(own.realPath(), new Plan.Mount(f.path(), own.realPath(), Plan.Mount.Kind.REPLACE, true,
                        g.name(), f.soname()));
            }
        }
        findings.add(Finding.warning("glibc-replaced", "the container's glibc " + p.libc().version() + " is older than bundle "
                + forBundle.name() + " needs: the host glibc " + g.property("glibc.version") + " of bundle " + g.name()
                + " replaces it", null).forBundle(g.name()));
    }

    private static void reportGlibc(BundleEntry b, ContainerProfile p, List<Missing> missing, List<Finding> findings) {
        Missing worst = null;
        Set<String> files = new LinkedHashSet<>();
        for (Missing m : missing) {
            files.add(m.file().path());
            if (worst == null || (m.version() != null && (worst.version() == null
                    || Versions.compare(String.valueOf(Versions.glibcVersionOf(m.version())),
                    String.valueOf(Versions.glibcVersionOf(worst.version()))) > 0))) {
                worst = m;
            }
        }
        String containerGlibc = p.libc().version() == null ? "unknown" : p.libc().version();
        String others = files.size() > 1 ? " (and " + (files.size() - 1) + " more host file" + (files.size() > 2 ? "s" : "")
                + " of bundle " + b.name() + ")" : "";
        String what = worst.version() == null ? worst.library() + ", which the container lacks"
                : worst.version() + " from " + worst.library();
        findings.add(Finding.error("glibc-too-old", "host file " + worst.file().path() + " needs " + what
                        + ", but the container's glibc is " + containerGlibc + others,
                "use an image with glibc " + neededGlibc(missing) + " or newer, or ask the site for a glibc bundle")
                .forBundle(b.name()));
    }

    private static String neededGlibc(List<Missing> missing) {
        String max = null;
        for (Missing m : missing) {
            if (m.version() != null) {
                max = Versions.max(max, Versions.glibcVersionOf(m.version()));
            }
        }
        return max == null ? "as new as the host's" : max;
    }
}
