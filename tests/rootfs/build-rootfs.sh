#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds a container root filesystem from the Debian packages of another suite, without
# debootstrap and without touching the host's apt or dpkg state, and caches it.
#
#   tests/rootfs/build-rootfs.sh FLAVOUR [DEST]
#
# FLAVOUR is SUITE or SUITE-nompi:
#   bullseye        Debian 11: glibc 2.31, MPICH 3.4.1   (libc6 libmpich12 bash coreutils)
#   trixie          Debian 13: glibc 2.41, MPICH 4.2.1   (libc6 libmpich12 bash coreutils)
#   trixie-nompi    Debian 13 without MPI                (libc6 bash coreutils)
#   trixie-fabric   Debian 13 with libfabric 2.1, no MPI (libc6 libfabric1 bash coreutils)
#   sid             Debian unstable: MPICH 5.0.2, with the MPI-5 standard ABI
#                   (libmpi_abi_mpich.so.1.0.0)          (libc6 libmpich12 bash coreutils)
#   sid-openmpi     Debian unstable: Open MPI 6.0.0~rc2, with the standard ABI
#                   (libmpi_abi_openmpi.so.1.0.0)        (libc6 libopenmpi40 bash coreutils)
#   trixie-mpi4py   Debian 13 with python3-mpi4py on Open MPI 5.0 (libc6 python3-mpi4py bash coreutils)
# (other suite names work the same way, SUITE-openmpi too; these are the ones the tests use.)
# DEST defaults to ${BYPASS_TEST_CACHE:-<repo>/tests/.cache}/rootfs/FLAVOUR-KEY, where KEY hashes
# the flavour, its package list and this recipe (this script, tests/lib/private-apt.sh and
# tests/programs/), so an edited recipe builds a new rootfs and a stale one is never reused.
# Stdout: the rootfs' absolute path, one line. Stderr: one line per phase, prefixed
# "build-rootfs[FLAVOUR]:"; when DEST is already built, the single line "up to date: DEST" (no-op,
# well under a second). Runs as root (dpkg -x keeps the packages' owners; ldconfig -r chroots).
#
# Phases:
#   apt       a private apt tree for the suite (tests/lib/private-apt.sh): own sources.list with
#             the Debian archive keyring, own lists and .deb archive under the cache, an EMPTY
#             dpkg status so the full dependency closure is resolved, amd64 only, no recommends
#   download  the closure's .debs, once: later builds reuse the cached archive
#   unpack    `dpkg -x` of every .deb of the closure into DEST.tmp
#   layout    usr-merge: /bin /sbin /lib /lib64 become links into /usr. Debian 13's base-files
#             ships them; Debian 11's packages ship real /bin, /lib... directories, whose content
#             is moved into /usr (relative links that climb out of their directory are made
#             absolute first; a file present on both sides is an error) as debootstrap's merged
#             /usr would have it. Checks that /lib64/ld-linux-x86-64.so.2 resolves in the rootfs.
#   etc       /etc/passwd and /etc/group with root only, /etc/ld.so.conf (as libc-bin ships it),
#             /proc /sys /dev /run /root /app, /tmp 1777, and the files podman bind-mounts over
#             with --rootfs (/etc/hostname, /etc/hosts, /etc/resolv.conf empty, /run/.containerenv,
#             /etc/mtab -> ../proc/self/mounts): podman would otherwise create them in the rootfs
#   links     the soname links no package ships but ldconfig's trigger makes on a real system
#             (-X below leaves links alone): libmpi_abi.so.1 -> the file whose DT_SONAME it is
#   ldconfig  the rootfs' /etc/ld.so.cache, written by the host's static ldconfig with -r (-X: no
#             links touched). Nothing from the rootfs is ever executed on the host.
#   programs  tests/programs/build-programs.sh: /app/mpi_hello, /app/allreduce and /app/mpi_new_call (the latter
#             only where the suite's MPICH has tests/programs/NEW_SYMBOL), /app/hello without MPI
#   done      DEST.tmp gets the stamp /.bypass-rootfs (key, flavour, package versions) and is
#             renamed to DEST: a half-built rootfs is never taken for a finished one
#   cache     (default DEST only) every run touches CACHE/rootfs/FLAVOUR-KEY.used; a build
#             removes the entries of the same flavour with another key unused for an hour
# Builds of one suite take a lock (CACHE/apt/SUITE.lock), so concurrent runs wait for each other.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${BYPASS_TEST_CACHE:-$repo/tests/.cache}
usage="usage: build-rootfs.sh bullseye|trixie|trixie-nompi|trixie-fabric|sid|sid-openmpi|trixie-mpi4py|SUITE[-nompi|-fabric|-openmpi|-mpi4py] [DEST]"
flavour=${1:?$usage}
[ $# -le 2 ] || { echo "$usage" >&2; exit 2; }

case "$flavour" in
    *-nompi) suite=${flavour%-nompi}; packages=(libc6 bash coreutils) ;;
    *-fabric) suite=${flavour%-fabric}; packages=(libc6 libfabric1 bash coreutils) ;;
    *-openmpi) suite=${flavour%-openmpi}; packages=(libc6 libopenmpi40 bash coreutils) ;;
    *-mpi4py) suite=${flavour%-mpi4py}; packages=(libc6 python3-mpi4py bash coreutils) ;;
    *) suite=$flavour; packages=(libc6 libmpich12 bash coreutils) ;;
esac
if ! [[ "$suite" =~ ^[a-z]+$ ]]; then
    echo "build-rootfs.sh: bad flavour '$flavour'; $usage" >&2
    exit 2
fi

key=$( {
    echo "$flavour $suite ${packages[*]}"
    cat "$here/build-rootfs.sh" "$repo/tests/lib/private-apt.sh" "$repo/tests/programs/build-programs.sh" \
        "$repo/tests/programs/"*.c "$repo/tests/programs/NEW_SYMBOL"
} | sha256sum | cut -c1-12)
dest=${2:-$cache/rootfs/$flavour-$key}
dest=$(realpath -m "$dest")
stamp=.bypass-rootfs

log() { echo "build-rootfs[$flavour]: $*" >&2; }

built() { [ -f "$dest/$stamp" ] && grep -qx "key $key" "$dest/$stamp"; }

# Cache entries record their last use in a sibling file FLAVOUR-KEY.used (never inside the rootfs,
# which tests compare before and after).
used() {
    if [ -z "${2:-}" ]; then touch "$dest.used"; fi
}

if built; then
    used "$@"
    log "up to date: $dest"
    echo "$dest"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "build-rootfs.sh: must run as root (dpkg -x keeps owners, ldconfig -r chroots)" >&2
    exit 1
fi
# An existing DEST is replaced only when it is a rootfs of ours (or empty).
if [ -e "$dest" ] && [ ! -f "$dest/$stamp" ] && [ -n "$(ls -A "$dest" 2>/dev/null || echo x)" ]; then
    echo "build-rootfs.sh: $dest exists and is not a rootfs built by this script; not replacing it" >&2
    exit 1
fi

# shellcheck source=../lib/private-apt.sh
source "$repo/tests/lib/private-apt.sh"
mkdir -p "$cache"
private_apt_init "$suite" "$cache"
private_apt_lock
export BYPASS_PRIVATE_APT_LOCKED=$suite # build-programs.sh runs under this lock (fd 8, inherited)
if built; then # built by a concurrent run while this one waited for the lock
    used "$@"
    log "up to date: $dest"
    echo "$dest"
    exit 0
fi
log "apt: private tree $PRIVATE_APT_DIR ($(find "$PRIVATE_APT_DIR/state/lists" -name '*_Packages*' | wc -l) package lists)"

before=$(find "$PRIVATE_APT_DIR/archives" -maxdepth 1 -name '*.deb' | wc -l)
debs=$(private_apt_fetch "${packages[@]}")
after=$(find "$PRIVATE_APT_DIR/archives" -maxdepth 1 -name '*.deb' | wc -l)
log "download: $(wc -l <<<"$debs") packages in the closure of ${packages[*]} ($((after - before)) fetched)"

tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
while IFS= read -r deb; do
    dpkg -x "$deb" "$tmp"
done <<<"$debs"
log "unpack: $(wc -l <<<"$debs") packages into $tmp"

# ROOT PATH: PATH resolved inside ROOT (links followed as the container would: absolute targets
# from ROOT, ".." never above ROOT); prints the host path, or fails if a component is missing.
resolve_in_root() {
    local root=$1 rest=${2#/} done="" comp target hops=0
    while [ -n "$rest" ]; do
        comp=${rest%%/*}
        if [ "$comp" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
        case "$comp" in
            "" | .) continue ;;
            ..) done=${done%/*}; continue ;;
        esac
        if [ -L "$root$done/$comp" ]; then
            hops=$((hops + 1))
            [ "$hops" -le 40 ] || return 1
            target=$(readlink "$root$done/$comp")
            case "$target" in /*) done="" ;; esac
            rest=${target#/}${rest:+/$rest}
        elif [ -e "$root$done/$comp" ]; then
            done=$done/$comp
        else
            return 1
        fi
    done
    echo "$root$done"
}

usr_merge() { # ROOT; prints what it did
    local root=$1 d link rel target moved=() conflicts
    for d in bin sbin lib lib64; do
        if [ -L "$root/$d" ]; then
            continue
        fi
        mkdir -p "$root/usr/$d"
        if [ -d "$root/$d" ]; then
            # A relative link that climbs out of its directory would mean something else one
            # level deeper: make it absolute (the rootfs' own "/"), as it resolved before.
            while IFS= read -r link; do
                rel=${link#"$root"}
                target=$(readlink "$link")
                ln -sfn "$(realpath -m -s "$(dirname "$rel")/$target")" "$link"
            done < <(find "$root/$d" -type l -lname '*..*')
            conflicts=$(cd "$root/$d" && find . ! -type d | while IFS= read -r f; do
                if [ -e "$root/usr/$d/$f" ] || [ -L "$root/usr/$d/$f" ]; then echo "/$d/${f#./}"; fi
            done)
            if [ -n "$conflicts" ]; then
                echo "build-rootfs.sh: usr-merge: both /$d and /usr/$d have: ${conflicts//$'\n'/ }" >&2
                return 1
            fi
            cp -a "$root/$d/." "$root/usr/$d/"
            rm -rf "${root:?}/$d"
            moved+=("/$d")
        fi
        ln -s "usr/$d" "$root/$d"
    done
    if [ ${#moved[@]} -gt 0 ]; then
        echo "moved ${moved[*]} into /usr and linked them"
    else
        echo "already usr-merged by the packages"
    fi
}

layout=$(usr_merge "$tmp")
if ! ld=$(resolve_in_root "$tmp" /lib64/ld-linux-x86-64.so.2) || [ ! -f "$ld" ]; then
    echo "build-rootfs.sh: /lib64/ld-linux-x86-64.so.2 does not resolve in $tmp" >&2
    exit 1
fi
log "layout: $layout; /lib64/ld-linux-x86-64.so.2 -> ${ld#"$tmp"}"

mkdir -p "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/run" "$tmp/etc" "$tmp/app"
install -d -m 0700 "$tmp/root"
install -d -m 1777 "$tmp/tmp"
echo "root:x:0:0:root:/root:/bin/bash" > "$tmp/etc/passwd"
echo "root:x:0:" > "$tmp/etc/group"
[ -e "$tmp/etc/ld.so.conf" ] || echo "include /etc/ld.so.conf.d/*.conf" > "$tmp/etc/ld.so.conf"
for f in etc/hostname etc/hosts etc/resolv.conf run/.containerenv; do
    [ -e "$tmp/$f" ] || install -m 0644 /dev/null "$tmp/$f"
done
[ -e "$tmp/etc/mtab" ] || [ -L "$tmp/etc/mtab" ] || ln -s ../proc/self/mounts "$tmp/etc/mtab"
log "etc: passwd, group, ld.so.conf, podman's mount points; /proc /sys /dev /run /root /app /tmp"

abi_links=""
for lib in "$tmp"/usr/lib/x86_64-linux-gnu/libmpi_abi_*.so.*; do
    [ -f "$lib" ] && [ ! -L "$lib" ] || continue
    soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    if [ -n "$soname" ] && [ ! -e "$tmp/usr/lib/x86_64-linux-gnu/$soname" ]; then
        ln -s "${lib##*/}" "$tmp/usr/lib/x86_64-linux-gnu/$soname"
        abi_links+=" $soname -> ${lib##*/}"
    fi
done
log "links:${abi_links:- none needed}"

had_ldconfig_dir=$([ -d "$tmp/var/cache/ldconfig" ] && echo yes || echo no)
ldconfig -X -r "$tmp"
[ "$had_ldconfig_dir" = yes ] || rm -rf "$tmp/var/cache/ldconfig"
log "ldconfig: /etc/ld.so.cache with $(ldconfig -p -C "$tmp/etc/ld.so.cache" | head -1 | cut -d' ' -f1) entries"

"$repo/tests/programs/build-programs.sh" "$tmp" "$tmp/app" "$suite" 2>&1 | sed "s/^/build-rootfs[$flavour]: programs: /" >&2
programs=$(cd "$tmp/app" && printf '/app/%s ' *)
log "programs: ${programs% }"

{
    echo "key $key"
    echo "flavour $flavour"
    echo "suite $suite"
    echo "packages ${packages[*]}"
    while IFS= read -r deb; do
        echo "deb ${deb##*/}"
    done <<<"$debs"
} > "$tmp/$stamp"
if [ -e "$dest" ]; then
    rm -rf "${dest:?}"
fi
mv "$tmp" "$dest"
used "$@"
if [ -z "${2:-}" ]; then
    # Entries of this flavour with another key (an older recipe) not used for an hour go.
    pruned=0
    for old in "$cache/rootfs/$flavour"-*; do
        name=${old##*/}
        [[ "$name" =~ ^$flavour-[0-9a-f]{12}(\.tmp)?$ ]] || continue
        if [ "$old" = "$dest" ] || [ ! -d "$old" ]; then continue; fi
        base=${old%.tmp}
        if [ -z "$(find "$base.used" -mmin -60 2>/dev/null)" ]; then
            rm -rf "${old:?}" "$base.used"
            pruned=$((pruned + 1))
        fi
    done
    log "cache: $pruned stale entries of $flavour pruned (other keys, unused for an hour)"
fi
log "done in ${SECONDS}s: $(du -sh "$dest" | cut -f1) in $dest"
echo "$dest"
