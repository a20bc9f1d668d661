package io.bypass.db;

import io.bypass.elf.Sonames;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What registration records about a bundle's MPI-5 standard-ABI library (libmpi_abi.so.1), read
 * from files and never by running them:
 * <ul>
 *   <li>{@code mpi.abi.implementation} (mpich, openmpi, unknown) and {@code mpi.abi.implementationFrom}:
 *       first the library's DT_NEEDED (Open MPI's libmpi_abi needs libopen_mpi / libopen-pal, a
 *       split MPICH would need libmpich), then identifying strings in the file (MPICH's
 *       "MPICH Version:" banner, Open MPI's "Open MPI v" or "ompi_" names); the descriptor's
 *       property of the same name wins;</li>
 *   <li>{@code mpi.abi.version} and {@code mpi.abi.versionFrom}: MPI_ABI_VERSION.MPI_ABI_SUBVERSION from
 *       the implementation's standard mpi.h when it is installed next to the library (Debian's
 *       mpi_abi_mpich/include and openmpi/include/standard_abi, a prefix's ../include), else the
 *       soname major; the descriptor's property wins;</li>
 *   <li>{@code mpi.families}: every MPI family the bundle serves, e.g. "mpich,mpi-abi" for an MPICH 5
 *       that ships both its vendor ABI and the standard ABI.</li>
 * </ul>
 */
public final class MpiAbiProbe {
    public static final String IMPLEMENTATION = "mpi.abi.implementation";
    public static final String IMPLEMENTATION_FROM = "mpi.abi.implementationFrom";
    public static final String VERSION = "mpi.abi.version";
    public static final String VERSION_FROM = "mpi.abi.versionFrom";
    public static final String FAMILIES = "mpi.families";

    /** Read at most this much of a library when looking for its identifying strings. */
    static final long STRING_SCAN_LIMIT = 64L << 20;
    /** A header bigger than this is not an mpi.h. */
    static final long HEADER_LIMIT = 4L << 20;

    private static final Pattern ABI_VERSION = Pattern.compile("(?m)^\\s*#\\s*define\\s+MPI_ABI_VERSION\\s+(\\d+)\\b");
    private static final Pattern ABI_SUBVERSION = Pattern.compile("(?m)^\\s*#\\s*define\\s+MPI_ABI_SUBVERSION\\s+(\\d+)\\b");

    private MpiAbiProbe() {
    }

    /** The properties above for the listed libraries (none when no standard-ABI library is among them). */
    public static Map<String, String> properties(List<RegisteredFile> files, Map<String, String> given) {
        Map<String, String> out = new LinkedHashMap<>();
        Set<String> families = new LinkedHashSet<>();
        RegisteredFile abi = null;
        for (RegisteredFile f : files) {
            if (f.role() != RegisteredFile.Role.LIBRARY) {
                continue;
            }
            String family = Sonames.mpiFamily(f.soname());
            if (family != null) {
                families.add(family);
            }
            if (Sonames.isStandardMpiAbi(f.soname()) && (abi == null || Sonames.stem(f.soname()).equals("libmpi_abi"))) {
                abi = f;
            }
        }
        if (!families.isEmpty()) {
            out.put(FAMILIES, String.join(",", families));
        }
        if (abi == null) {
            return out;
        }
        String[] impl = given.containsKey(IMPLEMENTATION)
                ? new String[] {given.get(IMPLEMENTATION), "the descriptor's properties"}
                : implementation(abi);
        out.put(IMPLEMENTATION, impl[0]);
        out.put(IMPLEMENTATION_FROM, impl[1]);
        String[] version = given.containsKey(VERSION)
                ? new String[] {given.get(VERSION), "the descriptor's properties"}
                : version(abi, impl[0]);
        out.put(VERSION, version[0]);
        out.put(VERSION_FROM, version[1]);
        return out;
    }

    /** {implementation, how it was found}. */
    static String[] implementation(RegisteredFile abi) {
        for (String n : abi.needed()) {
            String stem = Sonames.stem(n);
            if (stem.equals("libopen_mpi") || stem.equals("libopen-pal") || stem.equals("libopen-rte")
                    || "openmpi".equals(Sonames.mpiFamily(n))) {
                return new String[] {"openmpi", "DT_NEEDED " + n};
            }
            if (stem.equals("libmpich") || "mpich".equals(Sonames.mpiFamily(n))) {
                return new String[] {"mpich", "DT_NEEDED " + n};
            }
        }
        String found = scanStrings(Path.of(abi.path()), List.of("MPICH Version:", "Open MPI v", "ompi_"));
        if (found == null) {
            return new String[] {"unknown", "neither its DT_NEEDED nor its strings name MPICH or Open MPI"};
        }
        return new String[] {found.startsWith("MPICH") ? "mpich" : "openmpi", "the string \"" + found + "\" in the file"};
    }

    /** {version, where from}. */
    static String[] version(RegisteredFile abi, String implementation) {
        Path dir = Path.of(abi.path()).getParent();
        List<Path> candidates = new ArrayList<>();
        if (!"openmpi".equals(implementation)) {
            candidates.add(dir.resolve("mpi_abi_mpich/include/mpi.h"));
            candidates.add(dir.resolve("mpich/include/mpi_abi.h"));
        }
        if (!"mpich".equals(implementation)) {
            candidates.add(dir.resolve("openmpi/include/standard_abi/mpi.h"));
        }
        if (dir.getParent() != null) {
            candidates.add(dir.getParent().resolve("include/standard_abi/mpi.h"));
            candidates.add(dir.getParent().resolve("include/mpi_abi/mpi.h"));
            candidates.add(dir.getParent().resolve("include/mpi.h"));
        }
        for (Path h : candidates) {
            String v = headerVersion(h);
            if (v != null) {
                return new String[] {v, "MPI_ABI_VERSION in " + h};
            }
        }
        int major = Sonames.major(abi.soname());
        return new String[] {major < 0 ? "unknown" : String.valueOf(major), "the soname " + abi.soname()};
    }

    /** "MAJOR.MINOR" from a standard-ABI mpi.h, or null when the file is none. */
    static String headerVersion(Path header) {
        try {
            if (!Files.isRegularFile(header, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(header)) {
                return null;
            }
            if (Files.size(header) > HEADER_LIMIT) {
                return null;
            }
            String text = Files.readString(header, StandardCharsets.ISO_8859_1);
            Matcher m = ABI_VERSION.matcher(text);
            if (!m.find()) {
                return null;
            }
            Matcher s = ABI_SUBVERSION.matcher(text);
            return Integer.parseInt(m.group(1)) + "." + (s.find() ? Integer.parseInt(s.group(1)) : 0);
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /** The first of the needles (ASCII) found in the file's first STRING_SCAN_LIMIT bytes, or null. */
    static String scanStrings(Path file, List<String> needles) {
        List<byte[]> bytes = new ArrayList<>();
        int longest = 0;
        for (String n : needles) {
            byte[] b = n.getBytes(StandardCharsets.US_ASCII);
            bytes.add(b);
            longest = Math.max(longest, b.length);
        }
        String best = null;
        int bestNeedle = Integer.MAX_VALUE;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = Math.min(ch.size(), STRING_SCAN_LIMIT);
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            long pos = 0;
            while (pos < size) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n <= 0) {
                    break;
                }
                byte[] a = buf.array();
                for (int k = 0; k < bytes.size() && k < bestNeedle; k++) {
                    if (indexOf(a, n, bytes.get(k)) >= 0) {
                        best = needles.get(k);
                        bestNeedle = k;
                    }
                }
                if (bestNeedle == 0 || n <= longest) {
                    break;
                }
                // Overlap chunks so a string across the boundary is still found.
                pos += n - longest;
            }
        } catch (IOException e) {
            return null;
        }
        return best;
    }

    private static int indexOf(byte[] a, int len, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= len; i++) {
            for (int k = 0; k < needle.length; k++) {
                if (a[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
