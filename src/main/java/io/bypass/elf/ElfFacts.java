package io.bypass.elf;

import java.util.List;

/**
 * What bypass needs to know of one ELF file, read without executing it.
 *
 * @param elfClass            "ELF32" or "ELF64"
 * @param byteOrder           "LSB" or "MSB"
 * @param machine             e.g. "x86_64", "aarch64", "i386" (or "EM_<n>" when unknown)
 * @param type                "EXEC", "DYN", "REL", "CORE" (or "ET_<n>")
 * @param interpreter         PT_INTERP, or null
 * @param soname              DT_SONAME, or null
 * @param needed              DT_NEEDED in file order
 * @param rpath               DT_RPATH entries (split on ':'), unexpanded
 * @param runpath             DT_RUNPATH entries (split on ':'), unexpanded
 * @param versionDefinitions  names in .gnu.version_d, without the base (file-name) definition
 * @param versionRequirements .gnu.version_r: which versions of which file this one needs
 * @param definedSymbols      dynamic symbols this file defines (global or weak, not hidden/local)
 * @param undefinedSymbols    dynamic symbols this file imports
 * @param bindNow             every symbol is bound at load (DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW):
 *                            a missing one stops the program at start, not at its first call
 */
public record ElfFacts(
        String elfClass,
        String byteOrder,
        String machine,
        String type,
        String interpreter,
        String soname,
        List<String> needed,
        List<String> rpath,
        List<String> runpath,
        List<String> versionDefinitions,
        List<VersionRequirement> versionRequirements,
        List<DynamicSymbol> definedSymbols,
        List<DynamicSymbol> undefinedSymbols,
        boolean bindNow) {

    /** Facts of a lazily bound file. */
    public ElfFacts(String elfClass, String byteOrder, String machine, String type, String interpreter, String soname,
                    List<String> needed, List<String> rpath, List<String> runpath, List<String> versionDefinitions,
                    List<VersionRequirement> versionRequirements, List<DynamicSymbol> definedSymbols,
                    List<DynamicSymbol> undefinedSymbols) {
        this(elfClass, byteOrder, machine, type, interpreter, soname, needed, rpath, runpath, versionDefinitions,
                versionRequirements, definedSymbols, undefinedSymbols, false);
    }

    public ElfFacts {
        needed = List.copyOf(needed);
        rpath = List.copyOf(rpath);
        runpath = List.copyOf(runpath);
        versionDefinitions = List.copyOf(versionDefinitions);
        versionRequirements = List.copyOf(versionRequirements);
        definedSymbols = List.copyOf(definedSymbols);
        undefinedSymbols = List.copyOf(undefinedSymbols);
    }

    /** One Verneed entry: the file (e.g. "libc.so.6") and the version names needed from it. */
    public record VersionRequirement(String file, List<String> versions) {
        public VersionRequirement {
            versions = List.copyOf(versions);
        }
    }

    /**
     * A dynamic symbol.
     *
     * @param version version name (e.g. "GLIBC_2.34"), or null when unversioned
     * @param binding "GLOBAL", "WEAK" or "GNU_UNIQUE"
     * @param kind    "FUNC", "OBJECT", "TLS", "IFUNC", "NOTYPE", ...
     */
    public record DynamicSymbol(String name, String version, String binding, String kind) {
    }
}
