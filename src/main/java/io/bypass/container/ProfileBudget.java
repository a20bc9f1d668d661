package io.bypass.container;

import io.bypass.BypassException;
import io.bypass.ExitCodes;

/**
 * What one profile may spend of the host's time on a tree the container's owner controls. Every
 * search list, lookup, symlink followed, file opened, directory entry and byte read is counted,
 * and so is the CPU time of the process; the first limit passed ends the profile with
 * {@link Exceeded}, which the profiler turns into the finding {@code profile-budget} naming the
 * limit. Generous for real images (a Debian 13 MPI image spends about 1% of each), small enough
 * that a hostile one ends within seconds, not minutes.
 *
 * @param searchListEntries entries of one search list (LD_LIBRARY_PATH, PATH, a RUNPATH) looked at
 * @param lookups           path lookups in all
 * @param symlinks          symlinks followed in all (counted by the walk; openat2 caps each lookup at 40)
 * @param files             regular files opened for reading
 * @param bytes             bytes read in all
 * @param dirEntries        entries of one directory listed
 * @param cpuMillis         CPU time of the process spent while profiling: the bound that matters,
 *                          since it is what a hostile tree can make root spend
 * @param wallMillis        elapsed time, only a backstop for a file system that stalls: 64 hooks
 *                          starting at once on 2 cores take many seconds of wall time each for a
 *                          fraction of a second of CPU, which must not turn into refusals
 */
public record ProfileBudget(int searchListEntries, long lookups, long symlinks, long files, long bytes, int dirEntries,
                            long cpuMillis, long wallMillis, Counters used) {

    /** The counts so far; mutable, one per profile. */
    public static final class Counters {
        long lookups, symlinks, files, bytes;
        long startWall = System.nanoTime();
        long startCpu = -1;
        int sinceClock;
    }

    /** A limit was passed: the message names it and its number. */
    public static final class Exceeded extends BypassException {
        private static final long serialVersionUID = 1L;
        private final String limit;

        Exceeded(String limit, String message) {
            super(ExitCodes.REFUSED, message);
            this.limit = limit;
        }

        /** The limit's name, e.g. "lookups". */
        public String limit() {
            return limit;
        }
    }

    /** A fresh budget with the standard limits. */
    public static ProfileBudget standard() {
        return new ProfileBudget(256, 200_000, 100_000, 50_000, 512L << 20, 65_536, 2_000, 120_000, new Counters());
    }

    /** Checks the length of a search list before it is searched. */
    public void searchList(String what, int entries) {
        if (entries > searchListEntries) {
            throw new Exceeded("search-list-entries", what + " has " + entries + " entries, more than the "
                    + searchListEntries + " a profile looks at");
        }
    }

    void lookup(String path) {
        if (++used.lookups > lookups) {
            throw new Exceeded("lookups", "more than " + lookups + " path lookups in the container (the last: "
                    + ContainerRoot.shown(path) + ")");
        }
        clock();
    }

    void symlink() {
        if (++used.symlinks > symlinks) {
            throw new Exceeded("symlinks", "more than " + symlinks + " symbolic links followed in the container");
        }
    }

    void file(String path) {
        if (++used.files > files) {
            throw new Exceeded("files", "more than " + files + " container files opened (the last: "
                    + ContainerRoot.shown(path) + ")");
        }
    }

    void bytes(long n, String path) {
        used.bytes += n;
        if (used.bytes > bytes) {
            throw new Exceeded("bytes", "more than " + (bytes >> 20) + " MiB read from the container (the last file: "
                    + ContainerRoot.shown(path) + ")");
        }
    }

    /** One more entry of a directory being listed; {@code count} is the directory's count so far. */
    void dirEntry(String dir, int count) {
        if (count > dirEntries) {
            throw new Exceeded("dir-entries", "container directory " + ContainerRoot.shown(dir) + " has more than "
                    + dirEntries + " entries");
        }
        if ((++used.sinceClock & 1023) == 0) {
            clockNow();
        }
    }

    /** The clocks are read every 64 lookups: reading the process's CPU time costs a /proc read. */
    private void clock() {
        if (used.lookups == 1) {
            used.startCpu = cpuNow();
        }
        if ((used.lookups & 63) == 0) {
            clockNow();
        }
    }

    private void clockNow() {
        long wall = (System.nanoTime() - used.startWall) / 1_000_000;
        if (wall > wallMillis) {
            throw new Exceeded("time", "the profile took more than " + wallMillis + " ms");
        }
        long cpu = cpuNow();
        if (used.startCpu >= 0 && cpu - used.startCpu > cpuMillis) {
            throw new Exceeded("cpu", "the profile used more than " + cpuMillis + " ms of CPU time");
        }
    }

    private static long cpuNow() {
        java.util.Optional<java.time.Duration> cpu = ProcessHandle.current().info().totalCpuDuration();
        return cpu.isPresent() ? cpu.get().toMillis() : 0L;
    }
}
