#!/usr/bin/env bash
# Compiles the test programs into a rootfs's /app with the HOST gcc, against the MPICH headers of
# the rootfs' own suite (its libmpich-dev, unpacked into a private sysroot, never into the rootfs)
# and the rootfs' own libmpich: the binaries need libmpich.so.12 and carry no rpath.
#
#   build-programs.sh SUITE yes|no ROOTFS APT_DIR APT_OPTIONS...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=$1 mpi=$2 rootfs=$3 apt_dir=$4
shift 4
apt_opts=("$@")

if [ "$mpi" = no ]; then
    gcc -O2 -o "$rootfs/app/hello" "$here/hello.c"
    exit 0
fi
sysroot=$apt_dir/sysroot-libmpich-dev
if [ ! -d "$sysroot/usr/include" ]; then
    apt-get "${apt_opts[@]}" -qq -y --no-install-recommends --download-only install libmpich-dev >/dev/null 2>&1 || true
    deb=$(ls "$apt_dir"/archives/libmpich-dev_*.deb 2>/dev/null | head -1)
    if [ -z "$deb" ]; then
        (cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" -qq download libmpich-dev)
        deb=$(ls "$apt_dir"/archives/libmpich-dev_*.deb | head -1)
    fi
    rm -rf "$sysroot.tmp"
    mkdir -p "$sysroot.tmp"
    dpkg -x "$deb" "$sysroot.tmp"
    mv "$sysroot.tmp" "$sysroot"
fi
inc=$sysroot/usr/include/x86_64-linux-gnu/mpich
libdir=$rootfs/usr/lib/x86_64-linux-gnu
[ -d "$libdir" ] || libdir=$rootfs/lib/x86_64-linux-gnu
build() {
    gcc -O2 -I"$inc" -o "$rootfs/app/$1" "$here/$1.c" \
        -L"$libdir" -l:libmpich.so.12 -Wl,--allow-shlib-undefined -Wl,-rpath-link,"$libdir"
}
build mpi_hello
if nm -D --defined-only "$libdir/libmpich.so.12" | grep -q " $(cat "$here/NEW_SYMBOL")$"; then
    build mpi_new_call
fi
