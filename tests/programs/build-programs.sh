#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Compiles the test programs for a rootfs built by tests/rootfs/build-rootfs.sh, with the HOST gcc
# but against that rootfs' own suite, so a binary needs nothing its suite does not provide:
#
#   tests/programs/build-programs.sh ROOTFS OUTDIR [SUITE]
#
# SUITE defaults to VERSION_CODENAME of ROOTFS' os-release. The suite's libc6, libc6-dev,
# linux-libc-dev and libmpich-dev (exactly these .debs, no dependencies: `apt-get download`
# through the private apt of tests/lib/private-apt.sh) are unpacked into a private sysroot,
# ${BYPASS_TEST_CACHE:-<repo>/tests/.cache}/sysroot/SUITE-HASH, never into the rootfs (sysroots
# of older package versions are removed). gcc --sysroot (with -B and -L, see cc below) takes
# that suite's glibc headers, crt files and libc.so from it. Linked against the host's glibc
# 2.36 instead, a binary would need __libc_start_main@GLIBC_2.34, which Debian 11's glibc 2.31
# lacks; with the host's crt1.o but the old glibc, the program's own constructors would silently
# not run.
#   ROOTFS with libmpich.so.12: OUTDIR/mpi_hello, OUTDIR/allreduce (ranks that must talk), and OUTDIR/mpi_new_call when the ROOTFS' libmpich
#     defines the symbol named in NEW_SYMBOL (MPICH 4.2 does, MPICH 3.4 does not). Compiled with
#     the MPICH headers of the sysroot and linked with -l:libmpich.so.12 from ROOTFS'
#     /usr/lib/x86_64-linux-gnu (-rpath-link there for its dependencies): DT_NEEDED
#     libmpich.so.12, and no RPATH/RUNPATH, which is checked, as is that every GLIBC_* version
#     a binary needs is defined by ROOTFS' own libc.so.6.
#   ROOTFS with the MPI-5 standard ABI (libmpi_abi.so.1): OUTDIR/abi_* besides the above, see
#     below (Open MPI's standard header comes from the suite's libopenmpi-dev).
#   ROOTFS without MPI: OUTDIR/hello.
# Prints one line per program to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${BYPASS_TEST_CACHE:-$repo/tests/.cache}
rootfs=$(realpath "${1:?usage: build-programs.sh ROOTFS OUTDIR [SUITE]}")
outdir=${2:?usage: build-programs.sh ROOTFS OUTDIR [SUITE]}
suite=${3:-}
if [ -z "$suite" ]; then
    for f in "$rootfs/etc/os-release" "$rootfs/usr/lib/os-release"; do
        [ -f "$f" ] && suite=$(sed -n 's/^VERSION_CODENAME=//p' "$f" | tr -d '"') && [ -n "$suite" ] && break
    done
fi
[ -n "$suite" ] || { echo "build-programs.sh: no suite given and none in $rootfs's os-release" >&2; exit 2; }
libdir=$rootfs/usr/lib/x86_64-linux-gnu
libc=$libdir/libc.so.6
mkdir -p "$outdir"

# shellcheck source=../lib/private-apt.sh
source "$repo/tests/lib/private-apt.sh"
mkdir -p "$cache"
private_apt_init "$suite" "$cache"
if [ "${BYPASS_PRIVATE_APT_LOCKED:-}" != "$suite" ]; then
    private_apt_lock # (build-rootfs.sh holds it already)
fi

dev_packages=(libc6 libc6-dev linux-libc-dev libmpich-dev libfabric-dev)
# The standard ABI's header of Open MPI is in libopenmpi-dev (MPICH's in libmpich-dev).
if [ -e "$libdir/libmpi_abi.so.1" ] && [ -e "$libdir/libopen_mpi.so.40" ]; then
    dev_packages+=(libopenmpi-dev)
fi
debs=$(private_apt_fetch_only "${dev_packages[@]}")
sysroot=$cache/sysroot/$suite-$(sha256sum <<<"$debs" | cut -c1-12)
if [ ! -f "$sysroot/.done" ]; then
    rm -rf "$sysroot.tmp"
    mkdir -p "$sysroot.tmp"
    while IFS= read -r deb; do
        dpkg -x "$deb" "$sysroot.tmp"
    done <<<"$debs"
    # Absolute links (Debian 11's /lib64/ld-linux-x86-64.so.2 -> /lib/...) must stay inside:
    # made relative, as they resolve in the sysroot.
    while IFS= read -r link; do
        rel=${link#"$sysroot.tmp"}
        ln -sfn "$(realpath -m -s --relative-to="$(dirname "$rel")" "$(readlink "$link")")" "$link"
    done < <(find "$sysroot.tmp" -type l -lname '/*')
    # libc.so (a linker script) names /lib/x86_64-linux-gnu/libc.so.6 and /lib64/...: a suite
    # that ships only /usr needs those paths too.
    for d in lib lib64; do
        if [ ! -e "$sysroot.tmp/$d" ] && [ -d "$sysroot.tmp/usr/$d" ]; then
            ln -s "usr/$d" "$sysroot.tmp/$d"
        fi
    done
    touch "$sysroot.tmp/.done"
    rm -rf "$sysroot"
    mv "$sysroot.tmp" "$sysroot"
fi
# Other sysroots of this suite (older package versions) are only ever used here, under the
# suite's lock: they can go.
for old in "$cache/sysroot/$suite"-*; do
    if [ "$old" != "$sysroot" ] && [[ "${old##*/}" =~ ^$suite-[0-9a-f]{12}(\.tmp)?$ ]]; then
        rm -rf "${old:?}"
    fi
done

check_binary() { # FILE NEEDED
    local dyn missing
    missing=$(comm -23 <(objdump -T "$1" | grep -o '(GLIBC_[0-9.]*)' | tr -d '()' | sort -u) \
        <(objdump -T "$libc" | grep -o 'GLIBC_[0-9.]*' | sort -u))
    if [ -n "$missing" ]; then
        echo "build-programs.sh: $1 needs ${missing//$'\n'/ }, which the rootfs' libc.so.6 lacks" >&2
        return 1
    fi
    dyn=$(readelf -d "$1")
    if grep -qE '\((RPATH|RUNPATH)\)' <<<"$dyn"; then
        echo "build-programs.sh: $1 carries an rpath/runpath" >&2
        return 1
    fi
    if [ -n "$2" ] && ! grep -qF "Shared library: [$2]" <<<"$dyn"; then
        echo "build-programs.sh: $1 does not need $2" >&2
        return 1
    fi
}

# The host gcc looks for crt1.o and libc.so in its own ../../../x86_64-linux-gnu before the
# sysroot's directories (that would link the host's glibc): -B and -L put the sysroot's first.
# The -L in "$@" (the rootfs' libdir) still comes before them, for libmpich.
cc() {
    gcc --sysroot="$sysroot" -B"$sysroot/usr/lib/x86_64-linux-gnu/" -O2 -Wall "$@" \
        -L"$sysroot/usr/lib/x86_64-linux-gnu" -L"$sysroot/lib/x86_64-linux-gnu"
}

# The MPI-5 standard ABI (ROOTFS with libmpi_abi.so.1, the link ldconfig makes): programs compiled
# against the standard mpi.h of the rootfs' own MPI, as its mpicc_abi would, and linked with
# -l:libmpi_abi.so.1: DT_NEEDED libmpi_abi.so.1 whichever implementation built them.
#   abi_hello      always
#   abi_pmpi_file  where the library defines PMPI_File_close (Open MPI 6; MPICH 5.0.2 does not)
#   abi_attr_get   where it defines MPI_Attr_get (MPICH 5; Open MPI 6 dropped the MPI-1 functions)
#   abi_fortran    also linked with the vendor's Fortran library (libmpi_mpifh.so.40 or
#                  libmpichfort.so.12): a consumer the standard does not cover
# The last three are linked with -z now: a missing function stops the program at start.
if [ -e "$libdir/libmpi_abi.so.1" ]; then
    if [ -e "$libdir/libopen_mpi.so.40" ]; then
        abi_include=$sysroot/usr/lib/x86_64-linux-gnu/openmpi/include/standard_abi
        fortran=libmpi_mpifh.so.40
    else
        abi_include=$sysroot/usr/lib/x86_64-linux-gnu/mpi_abi_mpich/include
        fortran=libmpichfort.so.12
    fi
    grep -q '^#define MPI_ABI_VERSION' "$abi_include/mpi.h" \
        || { echo "build-programs.sh: $abi_include/mpi.h is not a standard-ABI header" >&2; exit 1; }
    abi_defined=$(nm -D --defined-only "$libdir/libmpi_abi.so.1" | awk '{ print $NF }')
    abi_cc() { # PROGRAM [EXTRA...]
        local prog=$1
        shift
        cc -I"$abi_include" -o "$outdir/$prog" "$here/$prog.c" -L"$libdir" "$@" -l:libmpi_abi.so.1 \
            -Wl,-rpath-link,"$libdir" -Wl,--allow-shlib-undefined
        check_binary "$outdir/$prog" libmpi_abi.so.1
    }
    abi_cc abi_hello
    built_abi=abi_hello
    if grep -qx PMPI_File_close <<<"$abi_defined"; then
        abi_cc abi_pmpi_file -Wl,-z,now
        built_abi+=" abi_pmpi_file"
    fi
    if grep -qx MPI_Attr_get <<<"$abi_defined"; then
        abi_cc abi_attr_get -Wl,-z,now
        built_abi+=" abi_attr_get"
    fi
    if [ -e "$libdir/$fortran" ]; then
        abi_cc abi_fortran -Wl,-z,now -l:"$fortran"
        check_binary "$outdir/abi_fortran" "$fortran"
        built_abi+=" abi_fortran"
    fi
    echo "$built_abi against the standard ABI header ${abi_include#"$sysroot"} and $(readlink "$libdir/libmpi_abi.so.1")" >&2
fi

if [ ! -e "$libdir/libmpich.so.12" ]; then
    cc -o "$outdir/hello" "$here/hello.c"
    check_binary "$outdir/hello" ""
    cc -o "$outdir/cuda_probe" "$here/cuda_probe.c"
    check_binary "$outdir/cuda_probe" ""
    echo "hello, cuda_probe (no MPI in the rootfs)" >&2
    if [ -e "$libdir/libfabric.so.1" ]; then
        # fabric_new: against the suite's own libfabric headers and library.
        cc -o "$outdir/fabric_new" "$here/fabric_info.c" -L"$libdir" -l:libfabric.so.1 -Wl,--allow-shlib-undefined
        check_binary "$outdir/fabric_new" libfabric.so.1
        # fabric_old: against the host's libfabric (Debian 12's libfabric-dev), as an image built
        # on an older system would be: only the headers and the library's symbol versions are used.
        old=$(mktemp -d)
        mkdir -p "$old/include" "$old/lib"
        cp -r /usr/include/rdma "$old/include/"
        ln -s /usr/lib/x86_64-linux-gnu/libfabric.so.1 "$old/lib/libfabric.so"
        cc -isystem "$old/include" -o "$outdir/fabric_old" "$here/fabric_info.c" -L"$old/lib" -lfabric -Wl,--allow-shlib-undefined
        rm -rf "$old"
        check_binary "$outdir/fabric_old" libfabric.so.1
        echo "fabric_new, fabric_old (libfabric in the rootfs)" >&2
    fi
    exit 0
fi

new_symbol=$(cat "$here/NEW_SYMBOL")
defined=$(nm -D --defined-only "$libdir/libmpich.so.12" | awk '{ print $NF }')
for prog in mpi_hello mpi_new_call allreduce; do
    if [ "$prog" = mpi_new_call ] && ! grep -qx "$new_symbol" <<<"$defined"; then
        echo "mpi_new_call skipped: this suite's libmpich has no $new_symbol" >&2
        continue
    fi
    cc -I"$sysroot/usr/include/x86_64-linux-gnu/mpich" -o "$outdir/$prog" "$here/$prog.c" \
        -L"$libdir" -l:libmpich.so.12 -Wl,-rpath-link,"$libdir" -Wl,--allow-shlib-undefined
    check_binary "$outdir/$prog" libmpich.so.12
    echo "$prog against $(readlink "$libdir/libmpich.so.12")" >&2
done
