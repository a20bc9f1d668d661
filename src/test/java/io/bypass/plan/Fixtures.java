package io.bypass.plan;

import io.bypass.container.ContainerLibrary;
import io.bypass.container.ContainerProfile;
import io.bypass.db.BundleDescriptor;
import io.bypass.db.BundleEntry;
import io.bypass.db.BundleKind;
import io.bypass.db.RegisteredDevice;
import io.bypass.db.RegisteredFile;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Builders for planner inputs: profiles and database entries as plain data, no files involved. */
final class Fixtures {
    static final String LIBDIR = "/usr/lib/x86_64-linux-gnu";

    private Fixtures() {
    }

    static List<String> glibcVersions(String upTo) {
        List<String> all = List.of("2.2.5", "2.3", "2.3.4", "2.4", "2.7", "2.14", "2.17", "2.27", "2.28", "2.29", "2.30",
                "2.32", "2.33", "2.34", "2.35", "2.36", "2.38", "2.39", "2.41");
        List<String> out = new ArrayList<>();
        for (String v : all) {
            if (io.bypass.util.Versions.compare(v, upTo) <= 0) {
                out.add("GLIBC_" + v);
            }
        }
        return out;
    }

    /** A container profile being built. */
    static final class ProfileBuilder {
        String glibc = "2.41";
        String libcImpl = "glibc";
        final Map<String, ContainerLibrary> libs = new LinkedHashMap<>();
        final Map<String, String> annotations = new HashMap<>();
        final Map<String, String> env = new HashMap<>();
        ContainerProfile.Mpi mpi;
        ContainerProfile.Exec exec;

        ProfileBuilder glibc(String version) {
            this.glibc = version;
            return this;
        }

        ProfileBuilder musl() {
            this.libcImpl = "musl";
            return this;
        }

        ProfileBuilder lib(String soname, String realName, List<String> versions) {
            libs.put(soname, new ContainerLibrary(soname, LIBDIR + "/" + soname, LIBDIR + "/" + realName, soname,
                    io.bypass.elf.Sonames.versionSuffix(realName), versions, Set.of(), "ld.so.cache"));
            return this;
        }

        /** An MPICH-ABI MPI with the given real file version (e.g. "12.4.1") defining the symbols. */
        ProfileBuilder mpich(String libtoolVersion, Set<String> symbols) {
            String real = "libmpich.so." + libtoolVersion;
            ContainerLibrary main = new ContainerLibrary("libmpich.so.12", LIBDIR + "/libmpich.so.12", LIBDIR + "/" + real,
                    "libmpich.so.12", libtoolVersion, List.of(), symbols, "ld.so.cache");
            ContainerLibrary alias = new ContainerLibrary("libmpi.so.12", LIBDIR + "/libmpi.so.12", LIBDIR + "/" + real,
                    "libmpich.so.12", libtoolVersion, List.of(), symbols, "ld.so.cache");
            libs.put("libmpich.so.12", main);
            libs.put("libmpi.so.12", alias);
            mpi = new ContainerProfile.Mpi("mpich", "libmpich.so.12", libtoolVersion,
                    Map.of("libmpich.so.12", main, "libmpi.so.12", alias));
            return this;
        }

        ProfileBuilder openmpi(String libtoolVersion) {
            String real = "libmpi.so." + libtoolVersion;
            ContainerLibrary main = new ContainerLibrary("libmpi.so.40", LIBDIR + "/libmpi.so.40", LIBDIR + "/" + real,
                    "libmpi.so.40", libtoolVersion, List.of(), Set.of("MPI_Init"), "ld.so.cache");
            libs.put("libmpi.so.40", main);
            mpi = new ContainerProfile.Mpi("openmpi", "libmpi.so.40", libtoolVersion, Map.of("libmpi.so.40", main));
            return this;
        }

        /** The program imports these symbols (from the MPI library). */
        ProfileBuilder program(String... imports) {
            List<ContainerProfile.Import> list = new ArrayList<>();
            for (String s : imports) {
                list.add(new ContainerProfile.Import(s, null, "/app/prog"));
            }
            exec = new ContainerProfile.Exec("/app/prog", "/app/prog", List.of("/app/prog"), Map.of(), list);
            return this;
        }

        ProfileBuilder annotation(String k, String v) {
            annotations.put(k, v);
            return this;
        }

        ProfileBuilder env(String k, String v) {
            env.put(k, v);
            return this;
        }

        ContainerProfile build() {
            Map<String, ContainerLibrary> all = new LinkedHashMap<>(libs);
            ContainerProfile.Libc libc;
            if (libcImpl.equals("glibc")) {
                List<String> versions = glibcVersions(glibc);
                for (String so : List.of("libc.so.6", "libm.so.6")) {
                    all.putIfAbsent(so, new ContainerLibrary(so, LIBDIR + "/" + so, LIBDIR + "/" + so, so, "6", versions,
                            Set.of(), "ld.so.cache"));
                }
                libc = new ContainerProfile.Libc("glibc", glibc, LIBDIR + "/libc.so.6", versions);
            } else {
                libc = new ContainerProfile.Libc("musl", null, "/lib/ld-musl-x86_64.so.1", List.of());
            }
            return new ContainerProfile("/rootfs", "ELF64", "x86_64", libc, true, List.of(LIBDIR), all, mpi, null, null, exec, annotations, env,
                    List.of());
        }
    }

    static ProfileBuilder container() {
        return new ProfileBuilder();
    }

    static RegisteredFile file(String realPath, RegisteredFile.Role role, String soname, List<String> needed,
                               Map<String, List<String>> requirements, Set<String> defined) {
        String maxGlibc = null;
        for (List<String> vs : requirements.values()) {
            for (String v : vs) {
                maxGlibc = io.bypass.util.Versions.max(maxGlibc, io.bypass.util.Versions.glibcVersionOf(v));
            }
        }
        String name = realPath.substring(realPath.lastIndexOf('/') + 1);
        return new RegisteredFile(realPath, role, soname, soname, io.bypass.elf.Sonames.versionSuffix(name), "0".repeat(64), 1,
                "ELF64", "x86_64", needed, List.of(), requirements, maxGlibc, List.copyOf(defined));
    }

    /** A host MPICH bundle: libmpich.so.&lt;version&gt; needing GLIBC_&lt;glibc&gt;, with a libucp dependency. */
    static BundleEntry hostMpich(String libtoolVersion, String glibc, Set<String> symbols) {
        RegisteredFile main = file(LIBDIR + "/libmpich.so." + libtoolVersion, RegisteredFile.Role.LIBRARY, "libmpich.so.12",
                List.of("libucp.so.0", "libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5", "GLIBC_" + glibc)), symbols);
        RegisteredFile ucp = file(LIBDIR + "/libucp.so.0.0.0", RegisteredFile.Role.DEPENDENCY, "libucp.so.0",
                List.of("libc.so.6"), Map.of("libc.so.6", List.of("GLIBC_2.2.5")), Set.of());
        return entry("host-mpich", BundleKind.MPI, List.of(main, ucp), Map.of("mpi.family", "mpich"), List.of(), null);
    }

    static BundleEntry entry(String name, BundleKind kind, List<RegisteredFile> files, Map<String, String> props,
                             List<RegisteredDevice> devices, BundleDescriptor.Activation activation) {
        BundleDescriptor d = new BundleDescriptor(name, kind, "1.0", null,
                files.stream().filter(f -> f.role() == RegisteredFile.Role.LIBRARY).map(RegisteredFile::path).toList(),
                BundleDescriptor.Dependencies.CLOSURE, List.of(), List.of(), devices.stream().map(RegisteredDevice::path).toList(),
                Map.of(), activation == null ? BundleDescriptor.Activation.DEFAULT : activation,
                BundleDescriptor.MpiSettings.DEFAULT, BundleDescriptor.GlibcSettings.DEFAULT, Map.of());
        return new BundleEntry(d, "2026-01-01T00:00:00Z", "2.36", files, devices, List.of(), props);
    }
}
