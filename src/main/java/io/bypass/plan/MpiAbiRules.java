package io.bypass.plan;

import io.bypass.Finding;
import io.bypass.container.ContainerLibrary;
import io.bypass.container.ContainerProfile;
import io.bypass.db.BundleEntry;
import io.bypass.db.RegisteredFile;
import io.bypass.elf.Sonames;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The rules of the MPI-5 standard ABI (libmpi_abi.so.1): a host standard-ABI library may serve a
 * container built against any implementation's standard-ABI library, decided by symbols. Pure,
 * like the planner that calls it; docs/mpi-abi.md has the decision table.
 *
 * <ul>
 *   <li>the ABI version must match: MPI_ABI_VERSION of the host library (recorded at registration
 *       from its standard mpi.h where one is found, else its soname major) against the soname major
 *       of the container's library (a binary does not carry MPI_ABI_VERSION);</li>
 *   <li>every strong MPI_/PMPI_ (and MPIX_/PMPIX_) symbol the container's consumers import from the
 *       standard ABI must be defined by the host library, else {@code missing-symbols} names them;
 *       weak undefined references are optional and only counted;</li>
 *   <li>there is no Fortran standard ABI: a consumer that needs a vendor Fortran library
 *       (libmpichfort, libmpi_mpifh, libmpi_usempif08) is served only by a host library of the same
 *       implementation, else {@code mpi-fortran-abi};</li>
 *   <li>the launcher must belong to the MPI used at run time: {@code mpi-launcher} says which
 *       launcher and PMI the host library expects.</li>
 * </ul>
 */
final class MpiAbiRules {
    static final String MPICH = "mpich";
    static final String OPENMPI = "openmpi";
    static final String UNKNOWN = "unknown";

    /** Bundle properties written at registration (db.MpiAbiProbe). */
    static final String PROP_FAMILIES = "mpi.families";
    static final String PROP_IMPLEMENTATION = "mpi.abi.implementation";
    static final String PROP_VERSION = "mpi.abi.version";
    static final String PROP_VERSION_FROM = "mpi.abi.versionFrom";

    private static final int MAX_LISTED_SYMBOLS = 8;
    private static final List<String> SYMBOL_PREFIXES = List.of("MPI_", "PMPI_", "MPIX_", "PMPIX_");

    private MpiAbiRules() {
    }

    /** Whether an MPI bundle serves a container whose MPI is of this family (a bundle may serve several). */
    static boolean serves(BundleEntry b, String family) {
        if (family == null) {
            return false;
        }
        if (family.equals(b.property("mpi.family"))) {
            return true;
        }
        String families = b.property(PROP_FAMILIES);
        if (families != null) {
            for (String f : families.split(",")) {
                if (f.trim().equals(family)) {
                    return true;
                }
            }
        }
        return family.equals(Sonames.MPI_ABI) && !standardLibraries(b).isEmpty();
    }

    /** True when these rules decide: the container's MPI is the standard ABI and the bundle provides it. */
    static boolean applies(BundleEntry b, ContainerProfile p) {
        return p.mpi() != null && Sonames.MPI_ABI.equals(p.mpi().family()) && !standardLibraries(b).isEmpty();
    }

    static List<RegisteredFile> standardLibraries(BundleEntry b) {
        List<RegisteredFile> out = new ArrayList<>();
        for (RegisteredFile f : b.libraries()) {
            if (Sonames.isStandardMpiAbi(f.soname())) {
                out.add(f);
            }
        }
        return out;
    }

    /**
     * Which implementation a container's standard-ABI library is, from what it defines (MPICH's
     * MPIR_/MPII_ internals, Open MPI's ompi_ ones) or its file name; "unknown" otherwise.
     */
    static String containerImplementation(ContainerLibrary lib) {
        for (String s : lib.definedSymbols()) {
            if (s.startsWith("ompi_") || s.startsWith("opal_")) {
                return OPENMPI;
            }
            if (s.startsWith("MPIR_") || s.startsWith("MPII_")) {
                return MPICH;
            }
        }
        String name = lib.realPath().substring(lib.realPath().lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        if (name.contains("openmpi") || name.contains("ompi")) {
            return OPENMPI;
        }
        if (name.contains("mpich")) {
            return MPICH;
        }
        return UNKNOWN;
    }

    static String displayName(String implementation) {
        return switch (implementation) {
            case MPICH -> "MPICH";
            case OPENMPI -> "Open MPI";
            default -> "an unknown implementation";
        };
    }

    /** The launcher and process-management interface a host library of this implementation expects. */
    static String launcher(String implementation) {
        return switch (implementation) {
            case MPICH -> "PMI (PMI-1/PMI-2): start the ranks with MPICH's hydra (mpiexec.hydra) or srun --mpi=pmi2";
            case OPENMPI -> "PMIx: start the ranks with Open MPI's prterun (mpirun) or srun --mpi=pmix";
            default -> "the PMI of the site's MPI: start the ranks with the launcher the site documents for it";
        };
    }

    /**
     * Decides a standard-ABI bundle for a standard-ABI container: adds the findings and returns
     * what to inject, or null when refused (an error finding says why).
     */
    static StackRules.Selection check(BundleEntry b, ContainerProfile p, List<Finding> findings) {
        List<RegisteredFile> host = standardLibraries(b);
        String hostImpl = b.property(PROP_IMPLEMENTATION) == null ? UNKNOWN : b.property(PROP_IMPLEMENTATION);
        String hostName = displayName(hostImpl);
        RegisteredFile hostMain = host.get(0);
        for (RegisteredFile f : host) {
            if (Sonames.stem(f.soname()).equals("libmpi_abi")) {
                hostMain = f;
            }
        }
        Map<String, ContainerLibrary> containerStd = new LinkedHashMap<>();
        for (ContainerLibrary l : p.mpi().libraries().values()) {
            if (Sonames.isStandardMpiAbi(l.fileSoname())) {
                containerStd.put(l.soname(), l);
            }
        }
        ContainerLibrary containerMain = p.mpi().libraries().get(p.mpi().mainSoname());
        if (containerMain == null || !Sonames.isStandardMpiAbi(containerMain.fileSoname())) {
            containerMain = containerStd.values().iterator().next();
        }
        String containerImpl = containerImplementation(containerMain);
        String containerFile = containerMain.realPath().substring(containerMain.realPath().lastIndexOf('/') + 1);

        // 1. The ABI version.
        String hostVersion = b.property(PROP_VERSION);
        String versionFrom = b.property(PROP_VERSION_FROM);
        int hostMajor = hostVersion != null ? leadingInt(hostVersion) : Sonames.major(hostMain.soname());
        if (hostVersion == null) {
            hostVersion = String.valueOf(hostMajor);
            versionFrom = "soname " + hostMain.soname();
        }
        int containerMajor = Sonames.major(containerMain.fileSoname());
        String both = "host " + hostMain.fileName() + " of bundle " + b.name() + " (" + hostName + ", standard ABI "
                + hostVersion + (versionFrom == null ? "" : " from " + versionFrom) + "), container " + containerFile
                + " (" + displayName(containerImpl) + ", " + containerMain.fileSoname() + ")";
        if (hostMajor < 0 || containerMajor < 0) {
            findings.add(Finding.error("abi-unknown", "cannot compare MPI standard ABI versions: " + both,
                    "standard-ABI library file names must carry the soname major (libmpi_abi.so.1)").forBundle(b.name()));
            return null;
        }
        if (hostMajor != containerMajor) {
            findings.add(Finding.error("abi-major-mismatch", "MPI standard ABI version differs: " + both,
                    "the image needs a standard-ABI library of the host's ABI version " + hostMajor).forBundle(b.name()));
            return null;
        }

        List<RegisteredFile> roots = new ArrayList<>(host);
        if (p.exec() == null) {
            findings.add(Finding.warning("abi-symbols-unchecked", "standard ABI " + both
                    + "; the symbols the program imports and the Fortran libraries it needs were not checked",
                    "give the program (--exec) to check them").forBundle(b.name()));
            findings.add(launcherFinding(b, hostImpl, containerImpl));
            return new StackRules.Selection(roots, b.devices(), List.of());
        }

        // 2. Symbols: what the consumers of the standard ABI import, strong and weak.
        Set<String> mpiFiles = new HashSet<>();
        Set<String> otherMpiDefined = new HashSet<>();
        Set<String> stdDefined = new HashSet<>();
        for (ContainerLibrary l : p.libraries().values()) {
            if (Sonames.mpiFamily(l.fileSoname()) != null || Sonames.mpiFamily(l.soname()) != null) {
                mpiFiles.add(l.realPath());
                if (Sonames.isStandardMpiAbi(l.fileSoname())) {
                    stdDefined.addAll(l.definedSymbols());
                } else {
                    otherMpiDefined.addAll(l.definedSymbols());
                }
            }
        }
        Set<String> hostDefined = new HashSet<>();
        for (RegisteredFile f : host) {
            hostDefined.addAll(f.definedSymbols());
        }
        Set<String> strong = new TreeSet<>();
        Set<String> weak = new TreeSet<>();
        for (ContainerProfile.Import imp : p.exec().imports()) {
            String s = imp.symbol();
            if (mpiFiles.contains(imp.importedBy()) || !isMpiSymbol(s)) {
                continue;
            }
            if (otherMpiDefined.contains(s) && !stdDefined.contains(s)) {
                continue; // it binds to a vendor MPI library of the image, not to the standard ABI
            }
            (imp.weak() ? weak : strong).add(s);
        }
        weak.removeAll(strong);
        Set<String> missing = new TreeSet<>(strong);
        missing.removeAll(hostDefined);
        Set<String> weakMissing = new TreeSet<>(weak);
        weakMissing.removeAll(hostDefined);
        if (!missing.isEmpty()) {
            findings.add(Finding.error("missing-symbols", "host MPI " + b.name() + " (" + hostName + " "
                    + hostMain.fileName() + ") lacks " + listSome(missing) + " that " + p.exec().path()
                    + " imports through the standard ABI (the container's " + containerMain.fileSoname() + " is "
                    + displayName(containerImpl) + "'s " + containerFile + ")",
                    "the program needs an MPI that defines " + (missing.size() == 1 ? "it" : "them")
                    + ": run it on its own MPI (org.supercontainers.bypass.enabled=false) or ask the site for a bundle of"
                    + " another implementation").forBundle(b.name()));
            return null;
        }

        // 3. Fortran: no standard ABI, so vendor bindings need the same vendor.
        Set<String> loaded = new HashSet<>(p.exec().loaded());
        for (ContainerLibrary l : p.libraries().values()) {
            String vendor = Sonames.fortranMpiVendor(l.fileSoname());
            if (vendor == null || !loaded.contains(l.realPath())) {
                continue;
            }
            if (!vendor.equals(hostImpl)) {
                findings.add(Finding.error("mpi-fortran-abi", p.exec().path() + " needs " + l.fileSoname() + ", the Fortran"
                        + " bindings of " + displayName(vendor) + ", but the standard-ABI library of bundle " + b.name()
                        + " is " + hostName + " (" + hostMain.fileName() + "); the MPI standard defines no Fortran ABI, so"
                        + " Fortran bindings work only with the MPI they were built with",
                        "use a host bundle of " + displayName(vendor) + ", or run the image on its own MPI"
                        + " (org.supercontainers.bypass.enabled=false)").forBundle(b.name()));
                return null;
            }
            RegisteredFile hostFortran = null;
            for (RegisteredFile f : b.libraries()) {
                if (f.soname().equals(l.fileSoname())) {
                    hostFortran = f;
                }
            }
            if (hostFortran != null) {
                roots.add(hostFortran);
            } else {
                findings.add(Finding.warning("mpi-fortran-missing", p.exec().path() + " needs " + l.fileSoname()
                        + ", which bundle " + b.name() + " does not provide: the image's own copy stays and must come from"
                        + " a build compatible with the host's " + hostName, "add the Fortran library to the bundle")
                        .forBundle(b.name()));
            }
        }

        findings.add(Finding.info("abi-compatible", "MPI standard ABI compatible: " + both + "; all " + strong.size()
                + " MPI symbols the program imports are defined by the host library"
                + (weak.isEmpty() ? "" : " (" + weak.size() + " weak reference" + (weak.size() == 1 ? "" : "s")
                + (weakMissing.isEmpty() ? "" : ", " + weakMissing.size() + " of them absent on the host and left unresolved")
                + ")")).forBundle(b.name()));
        findings.add(launcherFinding(b, hostImpl, containerImpl));
        return new StackRules.Selection(roots, b.devices(), List.of());
    }

    private static Finding launcherFinding(BundleEntry b, String hostImpl, String containerImpl) {
        String message = "the host library of bundle " + b.name() + " is " + displayName(hostImpl) + ", which expects "
                + launcher(hostImpl);
        if (!hostImpl.equals(UNKNOWN) && !containerImpl.equals(UNKNOWN) && !hostImpl.equals(containerImpl)) {
            return Finding.warning("mpi-launcher-mismatch", message + "; the image's own " + displayName(containerImpl)
                    + " launcher does not work with it", "launch the containers with the site's launcher").forBundle(b.name());
        }
        return Finding.info("mpi-launcher", message).forBundle(b.name());
    }

    static boolean isMpiSymbol(String name) {
        for (String prefix : SYMBOL_PREFIXES) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    private static int leadingInt(String version) {
        int end = 0;
        while (end < version.length() && Character.isDigit(version.charAt(end))) {
            end++;
        }
        return end == 0 ? -1 : Integer.parseInt(version.substring(0, Math.min(end, 9)));
    }

    private static String listSome(Set<String> names) {
        List<String> l = new ArrayList<>(names);
        String shown = String.join(", ", l.subList(0, Math.min(MAX_LISTED_SYMBOLS, l.size())));
        return l.size() > MAX_LISTED_SYMBOLS ? shown + " and " + (l.size() - MAX_LISTED_SYMBOLS) + " more" : shown;
    }
}
