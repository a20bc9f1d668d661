#!/usr/bin/env bash
# Builds a container root filesystem from Debian packages of another suite, without debootstrap and
# without touching the host's apt state, and caches it.
#
#   tests/rootfs/build-rootfs.sh FLAVOUR     prints the path of the finished rootfs
#
# FLAVOUR: bullseye (glibc 2.31, MPICH 3.4), trixie (glibc 2.41, MPICH 4.2.1), trixie-nompi (no MPI).
# A private apt tree (own sources.list, state, cache and an EMPTY dpkg status, so apt resolves the
# whole dependency closure as if nothing were installed) downloads the packages; `dpkg -x` unpacks
# them. Nothing from the rootfs is executed on the host: the rootfs' ld.so.cache is written by the
# host's static ldconfig with -r, and the test programs are compiled by the host gcc against the
# suite's MPICH headers (tests/programs/build-programs.sh).
#
# Cache: ${BYPASS_TEST_CACHE:-<repo>/tests/.cache}/rootfs/<flavour>-<key>; a second run is a no-op.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${BYPASS_TEST_CACHE:-$repo/tests/.cache}
flavour=${1:?usage: build-rootfs.sh bullseye|trixie|trixie-nompi}

case "$flavour" in
    bullseye) suite=bullseye; packages="libc6 libmpich12 bash coreutils"; mpi=yes ;;
    trixie) suite=trixie; packages="libc6 libmpich12 bash coreutils"; mpi=yes ;;
    trixie-nompi) suite=trixie; packages="libc6 bash coreutils"; mpi=no ;;
    *) echo "build-rootfs.sh: unknown flavour '$flavour' (bullseye, trixie, trixie-nompi)" >&2; exit 2 ;;
esac

# The key changes when the recipe (this script, the programs) changes, so a stale rootfs is rebuilt.
key=$(cat "$0" "$here/../programs/"*.c "$here/../programs/build-programs.sh" | sha256sum | cut -c1-12)
dest=$cache/rootfs/$flavour-$key
if [ -f "$dest/.bypass-rootfs-done" ]; then
    echo "$dest"
    exit 0
fi

log() { echo "build-rootfs[$flavour]: $*" >&2; }

apt_dir=$cache/apt/$suite
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/etc/sources.list.d" "$apt_dir/etc/preferences.d"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    > "$apt_dir/etc/sources.list"
: > "$apt_dir/status"
apt_opts=(
    -o "Dir::Etc::sourcelist=$apt_dir/etc/sources.list"
    -o "Dir::Etc::sourceparts=$apt_dir/etc/sources.list.d"
    -o "Dir::Etc::preferencesparts=$apt_dir/etc/preferences.d"
    -o "Dir::State=$apt_dir"
    -o "Dir::State::lists=$apt_dir/lists"
    -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir"
    -o "Dir::Cache::archives=$apt_dir/archives"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures=amd64"
    -o "APT::Get::List-Cleanup=0"
    -o "Debug::NoLocking=1"
)
if [ -z "$(ls -A "$apt_dir/lists" 2>/dev/null | grep -v partial)" ]; then
    log "apt-get update ($suite)"
    apt-get "${apt_opts[@]}" -qq update >&2
fi

log "resolving and downloading: $packages"
# --print-uris gives the exact closure; the download is then per package into our archive dir.
apt-get "${apt_opts[@]}" -qq -y --no-install-recommends --download-only install $packages >&2

tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
# Only the packages of this closure, as apt's simulated install lists them ("Inst NAME (VERSION ...").
count=0
while read -r name version; do
    v=${version//:/%3a}
    deb=$(ls "$apt_dir/archives/${name}_${v}_"{amd64,all}.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || { echo "build-rootfs.sh: no .deb for $name $version after download" >&2; exit 1; }
    dpkg -x "$deb" "$tmp"
    count=$((count + 1))
done < <(apt-get "${apt_opts[@]}" -s -y --no-install-recommends install $packages \
    | awk '$1 == "Inst" { v = $3; gsub(/^\(/, "", v); print $2, v }')
log "unpacked $count packages"

# usr-merge: trixie's packages ship only /usr; bullseye's ship /lib and /usr/lib separately.
for d in bin sbin lib lib64; do
    if [ ! -e "$tmp/$d" ] && [ ! -L "$tmp/$d" ]; then
        mkdir -p "$tmp/usr/$d"
        ln -s "usr/$d" "$tmp/$d"
    fi
done
if [ ! -e "$tmp/lib64/ld-linux-x86-64.so.2" ]; then
    mkdir -p "$tmp/lib64"
    ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$tmp/lib64/ld-linux-x86-64.so.2"
fi
mkdir -p "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/etc" "$tmp/app" "$tmp/root" "$tmp/var/cache"
install -d -m 1777 "$tmp/tmp"
echo "root:x:0:0:root:/root:/bin/bash" > "$tmp/etc/passwd"
echo "root:x:0:" > "$tmp/etc/group"

# The rootfs' own loader cache, as the image would ship it; host's static ldconfig, chrooted by -r.
ldconfig -X -r "$tmp"
rm -rf "$tmp/var/cache/ldconfig"

log "building the test programs"
"$repo/tests/programs/build-programs.sh" "$suite" "$mpi" "$tmp" "$apt_dir" "${apt_opts[@]}" >&2

touch "$tmp/.bypass-rootfs-done"
rm -rf "$dest"
mv "$tmp" "$dest"
log "done: $(du -sh "$dest" | cut -f1) in $dest"
echo "$dest"
