#!/usr/bin/env bash
# Compiles the test programs into a rootfs's /app with the host gcc, but against the rootfs' own
# suite: its glibc (libc6-dev: headers, crt files) and its MPICH (libmpich-dev) unpacked into a
# private sysroot (never into the rootfs), so a binary needs only what that suite provides.
# The MPI binaries need libmpich.so.12 and carry no rpath.
#
#   build-programs.sh SUITE yes|no ROOTFS APT_DIR APT_OPTIONS...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=$1 mpi=$2 rootfs=$3 apt_dir=$4
shift 4
apt_opts=("$@")

sysroot=$apt_dir/sysroot
if [ ! -f "$sysroot/.done" ]; then
    rm -rf "$sysroot"
    mkdir -p "$sysroot" "$apt_dir/dev-debs"
    # Exactly these packages, without their dependencies (apt-get download fetches one .deb each).
    (cd "$apt_dir/dev-debs" && apt-get "${apt_opts[@]}" -qq download libc6 libc6-dev linux-libc-dev libmpich-dev libmpich12 libcrypt-dev)
    for deb in "$apt_dir"/dev-debs/*.deb; do
        dpkg -x "$deb" "$sysroot"
    done
    # Absolute links (bullseye's /lib64/ld-linux-x86-64.so.2 -> /lib/...) must stay in the sysroot.
    while IFS= read -r link; do
        ln -sfn "$sysroot$(readlink "$link")" "$link"
    done < <(find "$sysroot" -type l -lname '/*')
    # libc.so names /lib/... and /lib64/...: give a usr-merged suite those paths too.
    for d in lib lib64; do
        if [ ! -e "$sysroot/$d" ] && [ -d "$sysroot/usr/$d" ]; then
            ln -s "usr/$d" "$sysroot/$d"
        fi
    done
    touch "$sysroot/.done"
fi

cc() {
    gcc --sysroot="$sysroot" -O2 "$@"
}
if [ "$mpi" = no ]; then
    cc -o "$rootfs/app/hello" "$here/hello.c"
    exit 0
fi
libdir=$sysroot/usr/lib/x86_64-linux-gnu
for prog in mpi_hello mpi_new_call; do
    # (grep -c reads all of nm's output: with -q, nm's SIGPIPE would fail the pipeline)
    if [ "$prog" = mpi_new_call ] && [ "$(nm -D --defined-only "$libdir/libmpich.so.12" | grep -c " $(cat "$here/NEW_SYMBOL")$")" = 0 ]; then
        continue # this suite's MPICH predates the call
    fi
    cc -I"$sysroot/usr/include/x86_64-linux-gnu/mpich" -o "$rootfs/app/$prog" "$here/$prog.c" \
        -L"$libdir" -l:libmpich.so.12 -Wl,--allow-shlib-undefined
done
