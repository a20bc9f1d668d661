package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.elf.ElfFacts;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds shared libraries the way glibc's ld.so does, over a {@link FileView}: DT_RPATH (when the
 * object has no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, /etc/ld.so.cache, then the default
 * directories. Candidates of another ELF class or machine are skipped, as the loader skips them.
 */
public final class LibraryResolver {
    /** Loaded objects bounded so a hostile rootfs cannot make the closure walk endless. */
    private static final int MAX_OBJECTS = 4096;

    /** A loaded object: where it was found (the path the loader used), its canonical path and its facts. */
    public record Loaded(String path, String canonicalPath, ElfFacts facts, String foundVia) {
        public String directory() {
            int slash = path.lastIndexOf('/');
            return slash <= 0 ? "/" : path.substring(0, slash);
        }
    }

    /** The closure: objects in load order (breadth first, like the loader) and the sonames not found. */
    public record Closure(List<Loaded> objects, Map<String, String> missing) {
        public Optional<Loaded> bySoname(String soname) {
            for (Loaded l : objects) {
                if (soname.equals(l.facts().soname()) || l.path().endsWith("/" + soname)) {
                    return Optional.of(l);
                }
            }
            return Optional.empty();
        }
    }

    private final FileView view;
    private final String elfClass;
    private final String machine;
    private final List<String> ldLibraryPath;
    private final Map<String, Optional<Loaded>> fileCache = new HashMap<>();
    private final java.util.function.Predicate<ElfFacts> wantsSymbols;
    private final ProfileBudget budget;

    public LibraryResolver(FileView view, String elfClass, String machine, List<String> ldLibraryPath) {
        this(view, elfClass, machine, ldLibraryPath, FileView.ALL_SYMBOLS);
    }

    public LibraryResolver(FileView view, String elfClass, String machine, List<String> ldLibraryPath,
                           java.util.function.Predicate<ElfFacts> wantsSymbols) {
        this(view, elfClass, machine, ldLibraryPath, wantsSymbols, null);
    }

    /**
     * @param wantsSymbols which libraries' dynamic symbols are read (given their other facts);
     *                     skipping the rest saves most of a profile's time
     */
    public LibraryResolver(FileView view, String elfClass, String machine, List<String> ldLibraryPath,
                           java.util.function.Predicate<ElfFacts> wantsSymbols, ProfileBudget budget) {
        if (budget != null) {
            budget.searchList("LD_LIBRARY_PATH", ldLibraryPath.size());
        }
        this.budget = budget;
        this.view = view;
        this.elfClass = elfClass;
        this.machine = machine;
        this.ldLibraryPath = List.copyOf(ldLibraryPath);
        this.wantsSymbols = wantsSymbols;
    }

    public FileView view() {
        return view;
    }

    /** Loads one object by path (a program, or a library listed by an admin). */
    public Loaded load(String path, String foundVia) {
        Optional<FileView.ElfFile> elf = view.readElf(path, FileView.ALL_SYMBOLS);
        if (elf.isEmpty()) {
            boolean exists = view.resolve(path).isPresent();
            throw BypassException.badInput(path + (exists ? ": not a regular file in the " : ": no such file in the ")
                    + view.describe());
        }
        return new Loaded(path, elf.get().path(), elf.get().facts(), foundVia);
    }

    /**
     * Finds a DT_NEEDED name for {@code requester}; {@code executable} is the program at the root of
     * the load (its DT_RPATH applies to every object it loads), or null.
     */
    public Optional<Loaded> find(String needed, Loaded requester, Loaded executable) {
        if (needed.indexOf('/') >= 0) {
            String p = needed.startsWith("/") ? needed : requester.directory() + "/" + needed;
            return candidate(p, "path");
        }
        boolean hasRunpath = requester != null && !requester.facts().runpath().isEmpty();
        if (requester != null && !hasRunpath) {
            Optional<Loaded> r = searchDirs(needed, requester.facts().rpath(), requester, "DT_RPATH");
            if (r.isPresent()) {
                return r;
            }
            if (executable != null && executable != requester && executable.facts().runpath().isEmpty()) {
                r = searchDirs(needed, executable.facts().rpath(), executable, "DT_RPATH of the program");
                if (r.isPresent()) {
                    return r;
                }
            }
        }
        Optional<Loaded> r = searchDirs(needed, ldLibraryPath, null, "LD_LIBRARY_PATH");
        if (r.isPresent()) {
            return r;
        }
        if (hasRunpath) {
            r = searchDirs(needed, requester.facts().runpath(), requester, "DT_RUNPATH");
            if (r.isPresent()) {
                return r;
            }
        }
        LdCache cache = view.ldCache();
        if (cache != null) {
            for (String p : cache.lookup(needed, LdCache.flagsFor(elfClass, machine))) {
                r = candidate(p, "ld.so.cache");
                if (r.isPresent()) {
                    return r;
                }
            }
        }
        return searchDirs(needed, defaultDirs(), null, "default directory");
    }

    /** The default directories of glibc builds for this machine (multiarch, lib64 and plain). */
    public List<String> defaultDirs() {
        String triplet = switch (machine) {
            case "x86_64" -> "x86_64-linux-gnu";
            case "i386" -> "i386-linux-gnu";
            case "aarch64" -> "aarch64-linux-gnu";
            case "ppc64" -> "powerpc64le-linux-gnu";
            case "s390x" -> "s390x-linux-gnu";
            case "riscv" -> "riscv64-linux-gnu";
            default -> null;
        };
        List<String> dirs = new ArrayList<>();
        if (triplet != null) {
            dirs.add("/lib/" + triplet);
            dirs.add("/usr/lib/" + triplet);
        }
        if ("ELF64".equals(elfClass)) {
            dirs.add("/lib64");
            dirs.add("/usr/lib64");
        }
        dirs.add("/lib");
        dirs.add("/usr/lib");
        return dirs;
    }

    /** Every object the program or library loads, breadth first, with what could not be found. */
    public Closure closure(Loaded root, boolean rootIsExecutable) {
        List<Loaded> order = new ArrayList<>();
        Map<String, String> missing = new LinkedHashMap<>();
        Map<String, Loaded> bySoname = new HashMap<>();
        Map<String, Boolean> seenCanonical = new HashMap<>();
        Deque<Loaded> queue = new ArrayDeque<>();
        queue.add(root);
        seenCanonical.put(root.canonicalPath(), true);
        Loaded executable = rootIsExecutable ? root : null;
        while (!queue.isEmpty()) {
            Loaded obj = queue.removeFirst();
            order.add(obj);
            if (obj.facts().soname() != null) {
                bySoname.putIfAbsent(obj.facts().soname(), obj);
            }
            for (String needed : obj.facts().needed()) {
                if (bySoname.containsKey(needed)) {
                    continue;
                }
                Optional<Loaded> found = find(needed, obj, executable);
                if (found.isEmpty()) {
                    missing.putIfAbsent(needed, obj.canonicalPath());
                    continue;
                }
                Loaded lib = found.get();
                bySoname.put(needed, lib);
                if (seenCanonical.putIfAbsent(lib.canonicalPath(), true) == null) {
                    if (order.size() + queue.size() >= MAX_OBJECTS) {
                        throw BypassException.badInput(root.path() + ": loads more than " + MAX_OBJECTS + " objects");
                    }
                    queue.add(lib);
                }
            }
        }
        return new Closure(order, missing);
    }

    private Optional<Loaded> searchDirs(String needed, List<String> dirs, Loaded origin, String via) {
        if (budget != null && origin != null) {
            budget.searchList(via + " of " + origin.canonicalPath(), dirs.size());
        }
        for (String d : dirs) {
            String dir = expand(d, origin);
            if (dir == null || dir.isEmpty()) {
                continue;
            }
            String p = dir.endsWith("/") ? dir + needed : dir + "/" + needed;
            Optional<Loaded> r = candidate(p, via);
            if (r.isPresent()) {
                return r;
            }
        }
        return Optional.empty();
    }

    /** $ORIGIN, $LIB and $PLATFORM as ld.so expands them; null when the entry cannot be expanded. */
    private String expand(String dir, Loaded origin) {
        if (dir.indexOf('$') < 0) {
            return dir.startsWith("/") ? dir : null;
        }
        String originDir = origin == null ? null : origin.directory();
        String lib = "ELF64".equals(elfClass) ? "lib64" : "lib";
        String out = dir;
        if (out.contains("ORIGIN")) {
            if (originDir == null) {
                return null;
            }
            out = out.replace("${ORIGIN}", originDir).replace("$ORIGIN", originDir);
        }
        out = out.replace("${LIB}", lib).replace("$LIB", lib)
                .replace("${PLATFORM}", machine).replace("$PLATFORM", machine);
        return out.startsWith("/") && out.indexOf('$') < 0 ? out : null;
    }

    private Optional<Loaded> candidate(String path, String via) {
        Optional<Loaded> cached = fileCache.get(path);
        if (cached != null) {
            if (cached.isEmpty()) {
                return cached;
            }
            Loaded l = cached.get();
            return Optional.of(new Loaded(path, l.canonicalPath(), l.facts(), via));
        }
        Optional<Loaded> result = Optional.empty();
        try {
            Optional<FileView.ElfFile> elf = view.readElf(path, wantsSymbols);
            // The loader skips files of another class or machine and keeps searching.
            if (elf.isPresent() && elfClass.equals(elf.get().facts().elfClass())
                    && machine.equals(elf.get().facts().machine())) {
                result = Optional.of(new Loaded(path, elf.get().path(), elf.get().facts(), via));
            }
        } catch (ProfileBudget.Exceeded e) {
            throw e;
        } catch (BypassException notElf) {
            // Not a loadable library: the loader would skip it too.
        }
        fileCache.put(path, result);
        return result;
    }
}
