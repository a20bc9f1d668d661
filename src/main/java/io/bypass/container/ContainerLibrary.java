package io.bypass.container;

import java.util.List;
import java.util.Set;

/**
 * A library the container provides, as its loader would find it.
 *
 * @param soname             the name it was looked up by
 * @param path               where the loader finds it (the ld.so.cache entry or directory path)
 * @param realPath           the same file with every in-container symlink resolved: the mount target
 *                           when bypass replaces it
 * @param fileSoname         DT_SONAME of that file (libmpi.so.12 may be a link to libmpich.so.12.x)
 * @param libtoolVersion     numbers after ".so." in the real file name, e.g. "12.4.1", or ""
 * @param versionDefinitions the symbol versions the file defines (GLIBC_2.34, FABRIC_1.7, ...)
 * @param definedSymbols     defined dynamic symbol names; only kept for MPI libraries
 * @param foundVia           "ld.so.cache", "default directory", "DT_RUNPATH", ...
 */
public record ContainerLibrary(
        String soname,
        String path,
        String realPath,
        String fileSoname,
        String libtoolVersion,
        List<String> versionDefinitions,
        Set<String> definedSymbols,
        String foundVia) {

    public ContainerLibrary {
        versionDefinitions = List.copyOf(versionDefinitions);
        definedSymbols = Set.copyOf(definedSymbols);
    }
}
