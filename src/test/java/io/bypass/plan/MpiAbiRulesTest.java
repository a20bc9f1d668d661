package io.bypass.plan;

import io.bypass.Finding;
import io.bypass.container.ContainerLibrary;
import io.bypass.container.ContainerProfile;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static io.bypass.plan.Fixtures.LIBDIR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The standard-ABI rules, one row per decision of the table in docs/mpi-abi.md. */
class MpiAbiRulesTest {
    static final Set<String> MPICH5 = Set.of("MPI_Init", "MPI_Get_library_version", "MPI_File_close", "MPI_Attr_get",
            "PMPI_Attr_get", "MPI_Abi_get_version", "MPIR_Err_return_comm");
    static final Set<String> OMPI6 = Set.of("MPI_Init", "MPI_Get_library_version", "MPI_File_close", "PMPI_File_close",
            "MPI_Abi_get_version", "ompi_abi_version");

    /**
     * One decision.
     *
     * @param container   "openmpi" or "mpich": which implementation built the image's libmpi_abi.so.1
     * @param host        the host bundle's implementation
     * @param hostSymbols what the host's libmpi_abi defines
     * @param strong      strong imports of the program
     * @param weak        weak imports of the program
     * @param fortran     a vendor Fortran soname the program loads, or null
     * @param hostFortran whether the host bundle ships that Fortran library
     * @param hostVersion the bundle's mpi.abi.version, or null (soname major)
     * @param verdict     expected verdict
     * @param code        a finding code expected
     * @param text        text expected in that finding's message
     */
    record Row(String name, String container, String host, Set<String> hostSymbols, List<String> strong, List<String> weak,
               String fortran, boolean hostFortran, String hostVersion, Plan.Verdict verdict, String code, String text) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Row> rows() {
        return Stream.of(
                new Row("cross-vendor swap, every import defined", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Get_library_version", "MPI_Abi_get_version"), List.of(), null, false, "1.0",
                        Plan.Verdict.INJECT, "abi-compatible", "all 2 MPI symbols"),
                new Row("PMPI_File_close against MPICH 5", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Get_library_version", "PMPI_File_close"), List.of(), null, false, "1.0",
                        Plan.Verdict.REFUSE, "missing-symbols", "lacks PMPI_File_close that /app/prog imports"),
                new Row("MPI_Attr_get against Open MPI 6", "mpich", "openmpi", OMPI6,
                        List.of("MPI_Init", "MPI_Attr_get"), List.of(), null, false, "1.0",
                        Plan.Verdict.REFUSE, "missing-symbols", "lacks MPI_Attr_get"),
                new Row("a weak reference the host lacks is optional", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Init"), List.of("PMPI_File_close"), null, false, "1.0",
                        Plan.Verdict.INJECT, "abi-compatible", "1 weak reference, 1 of them absent on the host"),
                new Row("non-MPI imports are not the host's business", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Init", "printf", "ompi_something"), List.of(), null, false, "1.0",
                        Plan.Verdict.INJECT, "abi-compatible", "all 1 MPI symbols"),
                new Row("Open MPI Fortran bindings, MPICH host", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Init"), List.of(), "libmpi_mpifh.so.40", false, "1.0",
                        Plan.Verdict.REFUSE, "mpi-fortran-abi", "needs libmpi_mpifh.so.40, the Fortran bindings of Open MPI"),
                new Row("MPICH Fortran bindings, Open MPI host", "mpich", "openmpi", OMPI6,
                        List.of("MPI_Init"), List.of(), "libmpichfort.so.12", false, "1.0",
                        Plan.Verdict.REFUSE, "mpi-fortran-abi", "defines no Fortran ABI"),
                new Row("Fortran bindings, same vendor, shipped by the host", "openmpi", "openmpi", OMPI6,
                        List.of("MPI_Init"), List.of(), "libmpi_mpifh.so.40", true, "1.0",
                        Plan.Verdict.INJECT, "abi-compatible", "all 1 MPI symbols"),
                new Row("Fortran bindings, same vendor, not in the bundle", "openmpi", "openmpi", OMPI6,
                        List.of("MPI_Init"), List.of(), "libmpi_mpifh.so.40", false, "1.0",
                        Plan.Verdict.INJECT, "mpi-fortran-missing", "which bundle host does not provide"),
                new Row("ABI version 2 host, libmpi_abi.so.1 image", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Init"), List.of(), null, false, "2.0",
                        Plan.Verdict.REFUSE, "abi-major-mismatch", "standard ABI 2.0"),
                new Row("no header at registration: the soname major", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Init"), List.of(), null, false, null,
                        Plan.Verdict.INJECT, "abi-compatible", "standard ABI 1 from soname libmpi_abi.so.1"),
                new Row("cross-vendor: the launcher warning names hydra", "openmpi", "mpich", MPICH5,
                        List.of("MPI_Init"), List.of(), null, false, "1.0",
                        Plan.Verdict.INJECT, "mpi-launcher-mismatch", "MPICH's hydra (mpiexec.hydra)"),
                new Row("Open MPI host: PMIx and prterun", "mpich", "openmpi", OMPI6,
                        List.of("MPI_Init"), List.of(), null, false, "1.0",
                        Plan.Verdict.INJECT, "mpi-launcher-mismatch", "PMIx: start the ranks with Open MPI's prterun"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(Row r) {
        ContainerProfile p = standardAbiContainer(r.container(), r.strong(), r.weak(), r.fortran());
        BundleEntry b = standardAbiBundle(r.host(), r.hostSymbols(), r.hostVersion(), r.hostFortran() ? r.fortran() : null);
        Plan plan = Planner.plan(p, List.of(b), Policy.DEFAULT);
        assertEquals(r.verdict(), plan.verdict(), () -> r.name() + ": " + plan.findings());
        Finding f = plan.findings().stream().filter(x -> x.code().equals(r.code())).findFirst().orElse(null);
        assertNotNull(f, () -> r.name() + ": no " + r.code() + " in " + plan.findings());
        assertTrue(f.message().contains(r.text()), () -> r.name() + ": " + f.message());
        if (r.verdict() == Plan.Verdict.INJECT) {
            Plan.Mount main = plan.mounts().stream().filter(m -> "libmpi_abi.so.1".equals(m.soname())).findFirst().orElseThrow();
            assertEquals(Plan.Mount.Kind.REPLACE, main.kind(), "the host library goes over the container's own file");
            assertEquals(LIBDIR + "/" + abiFile(r.container()), main.target());
            if (r.hostFortran()) {
                assertTrue(plan.mounts().stream().anyMatch(m -> r.fortran().equals(m.soname())
                        && m.kind() == Plan.Mount.Kind.REPLACE), "the same vendor's Fortran library comes too");
            }
        } else {
            assertTrue(plan.mounts().isEmpty());
        }
    }

    @Test
    void sameVendorLauncherIsInformation() {
        ContainerProfile p = standardAbiContainer("mpich", List.of("MPI_Init"), List.of(), null);
        Plan plan = Planner.plan(p, List.of(standardAbiBundle("mpich", MPICH5, "1.0", null)), Policy.DEFAULT);
        Finding f = plan.findings().stream().filter(x -> x.code().equals("mpi-launcher")).findFirst().orElseThrow();
        assertEquals(Finding.Severity.INFO, f.severity());
    }

    @Test
    void withoutTheProgramTheSymbolsAreNotChecked() {
        ContainerProfile full = standardAbiContainer("openmpi", List.of("PMPI_File_close"), List.of(), null);
        ContainerProfile p = new ContainerProfile(full.rootfs(), full.elfClass(), full.machine(), full.libc(), true,
                full.loaderDirs(), full.libraries(), full.mpi(), null, null, null, Map.of(), Map.of(), List.of());
        Plan plan = Planner.plan(p, List.of(standardAbiBundle("mpich", MPICH5, "1.0", null)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict());
        assertTrue(plan.findings().stream().anyMatch(f -> f.code().equals("abi-symbols-unchecked")
                && f.severity() == Finding.Severity.WARNING));
    }

    @Test
    void importsBoundToAVendorLibraryOfTheImageAreLeftToIt() {
        // MPI_Comm_f2c_vendor is defined by the image's libmpi.so.40, not by its libmpi_abi: it binds there.
        ContainerProfile base = standardAbiContainer("openmpi", List.of("MPI_Init", "MPI_Vendor_only"), List.of(), null);
        Map<String, ContainerLibrary> libs = new LinkedHashMap<>(base.libraries());
        libs.put("libmpi.so.40", new ContainerLibrary("libmpi.so.40", LIBDIR + "/libmpi.so.40", LIBDIR + "/libmpi.so.40.50.0",
                "libmpi.so.40", "40.50.0", List.of(), Set.of("MPI_Vendor_only"), "ld.so.cache"));
        ContainerProfile p = new ContainerProfile(base.rootfs(), base.elfClass(), base.machine(), base.libc(), true,
                base.loaderDirs(), libs, base.mpi(), null, null, base.exec(), Map.of(), Map.of(), List.of());
        Plan plan = Planner.plan(p, List.of(standardAbiBundle("mpich", MPICH5, "1.0", null)), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, plan.verdict(), () -> plan.findings().toString());
    }

    @Test
    void aVendorBundleDoesNotServeAStandardAbiImage() {
        ContainerProfile p = standardAbiContainer("mpich", List.of("MPI_Init"), List.of(), null);
        Plan plan = Planner.plan(p, List.of(Fixtures.hostMpich("12.2.2", "2.34", Set.of("MPI_Init"))), Policy.DEFAULT);
        assertEquals(Plan.Verdict.NONE, plan.verdict());
        assertTrue(plan.findings().stream().anyMatch(f -> f.code().equals("nothing-to-inject")));
    }

    @Test
    void aBundleWithBothAbisServesBothFamiliesByTheirOwnRules() {
        RegisteredFile vendor = Fixtures.file(LIBDIR + "/libmpich.so.12.6.2", RegisteredFile.Role.LIBRARY, "libmpich.so.12",
                List.of("libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5")), Set.of("MPI_Init", "MPIX_Foo"));
        RegisteredFile std = Fixtures.file(LIBDIR + "/libmpi_abi_mpich.so.1.0.0", RegisteredFile.Role.LIBRARY, "libmpi_abi.so.1",
                List.of("libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5")), MPICH5);
        BundleEntry both = Fixtures.entry("mpich5", BundleKind.MPI, List.of(vendor, std), Map.of("mpi.family", "mpich",
                "mpi.families", "mpich,mpi-abi", "mpi.abi.implementation", "mpich", "mpi.abi.version", "1.0"), List.of(), null);
        ContainerProfile vendorImage = Fixtures.container().mpich("12.6.2", Set.of("MPI_Init")).program("MPI_Init").build();
        Plan v = Planner.plan(vendorImage, List.of(both), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, v.verdict(), () -> v.findings().toString());
        assertTrue(v.findings().stream().anyMatch(f -> f.code().equals("abi-compatible") && f.message().contains("libmpich.so.12.6.2")),
                () -> v.findings().toString());
        ContainerProfile stdImage = standardAbiContainer("openmpi", List.of("MPI_Init"), List.of(), null);
        Plan s = Planner.plan(stdImage, List.of(both), Policy.DEFAULT);
        assertEquals(Plan.Verdict.INJECT, s.verdict(), () -> s.findings().toString());
        assertTrue(s.mounts().stream().noneMatch(m -> "libmpich.so.12".equals(m.soname())),
                "a standard-ABI image gets the standard-ABI library, not the vendor one");
    }

    @Test
    void containerImplementationFromSymbolsOrName() {
        assertEquals("openmpi", MpiAbiRules.containerImplementation(abiLibrary("x/libmpi_abi.so.1.0.0", Set.of("ompi_x"))));
        assertEquals("mpich", MpiAbiRules.containerImplementation(abiLibrary("x/libmpi_abi.so.1.0.0", Set.of("MPIR_x"))));
        assertEquals("mpich", MpiAbiRules.containerImplementation(abiLibrary("x/libmpi_abi_mpich.so.1.0.0", Set.of("MPI_Init"))));
        assertEquals("unknown", MpiAbiRules.containerImplementation(abiLibrary("x/libmpi_abi.so.1.0.0", Set.of("MPI_Init"))));
        assertFalse(MpiAbiRules.isMpiSymbol("mpi_init_"));
        assertTrue(MpiAbiRules.isMpiSymbol("PMPIX_Foo"));
    }

    // ---------------------------------------------------------------- builders

    static String abiFile(String impl) {
        return impl.equals("openmpi") ? "libmpi_abi_openmpi.so.1.0.0" : "libmpi_abi_mpich.so.1.0.0";
    }

    static ContainerLibrary abiLibrary(String realPath, Set<String> defined) {
        return new ContainerLibrary("libmpi_abi.so.1", LIBDIR + "/libmpi_abi.so.1", realPath, "libmpi_abi.so.1", "1.0.0",
                List.of(), defined, "ld.so.cache");
    }

    static ContainerProfile standardAbiContainer(String impl, List<String> strong, List<String> weak, String fortran) {
        Set<String> defined = new HashSet<>(impl.equals("openmpi") ? OMPI6 : MPICH5);
        defined.add("MPI_Vendor_only_not");
        ContainerLibrary abi = abiLibrary(LIBDIR + "/" + abiFile(impl), defined);
        Map<String, ContainerLibrary> libs = new LinkedHashMap<>();
        libs.put("libmpi_abi.so.1", abi);
        List<String> versions = Fixtures.glibcVersions("2.41");
        libs.put("libc.so.6", new ContainerLibrary("libc.so.6", LIBDIR + "/libc.so.6", LIBDIR + "/libc.so.6", "libc.so.6", "6",
                versions, Set.of(), "ld.so.cache"));
        List<String> loaded = new ArrayList<>(List.of("/app/prog", abi.realPath()));
        List<ContainerProfile.Import> imports = new ArrayList<>();
        for (String s : strong) {
            imports.add(new ContainerProfile.Import(s, null, "/app/prog", false));
        }
        for (String s : weak) {
            imports.add(new ContainerProfile.Import(s, null, "/app/prog", true));
        }
        // The image's own MPI libraries import MPI symbols too; they are not consumers.
        imports.add(new ContainerProfile.Import("PMPI_Internal_only", null, abi.realPath(), false));
        if (fortran != null) {
            String real = LIBDIR + "/" + fortran + ".50.0";
            libs.put(fortran, new ContainerLibrary(fortran, LIBDIR + "/" + fortran, real, fortran, "40.50.0", List.of(),
                    Set.of("mpi_init_"), "ld.so.cache"));
            loaded.add(real);
            imports.add(new ContainerProfile.Import("PMPI_Fortran_internal", null, real, false));
        }
        ContainerProfile.Mpi mpi = new ContainerProfile.Mpi("mpi-abi", "libmpi_abi.so.1", "1.0.0", Map.of("libmpi_abi.so.1", abi));
        ContainerProfile.Exec exec = new ContainerProfile.Exec("/app/prog", "/app/prog", loaded, Map.of(), imports);
        return new ContainerProfile("/rootfs", "ELF64", "x86_64",
                new ContainerProfile.Libc("glibc", "2.41", LIBDIR + "/libc.so.6", versions), true, List.of(LIBDIR), libs, mpi,
                null, null, exec, Map.of(), Map.of(), List.of());
    }

    static BundleEntry standardAbiBundle(String impl, Set<String> symbols, String version, String fortran) {
        List<RegisteredFile> files = new ArrayList<>();
        files.add(Fixtures.file("/opt/site/lib/" + abiFile(impl), RegisteredFile.Role.LIBRARY, "libmpi_abi.so.1",
                List.of("libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5", "GLIBC_2.34")), symbols));
        if (fortran != null) {
            files.add(Fixtures.file("/opt/site/lib/" + fortran + ".50.0", RegisteredFile.Role.LIBRARY, fortran,
                    List.of("libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5")), Set.of("mpi_init_")));
        }
        Map<String, String> props = new LinkedHashMap<>();
        props.put("mpi.family", "mpi-abi");
        props.put("mpi.families", "mpi-abi");
        props.put("mpi.abi.implementation", impl);
        if (version != null) {
            props.put("mpi.abi.version", version);
            props.put("mpi.abi.versionFrom", "MPI_ABI_VERSION in /opt/site/include/mpi.h");
        }
        return Fixtures.entry("host", BundleKind.MPI, files, props, List.of(), null);
    }
}
