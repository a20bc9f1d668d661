#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Smoke test of the test fixtures, WITHOUT bypass: the cached root filesystems, the programs in
# them, runc and podman on this machine, and the helpers of tests/lib/common.sh. Run as root:
#   sudo tests/rootfs/smoke.sh
# Checks that runc runs /app/mpi_hello in the Debian 13 rootfs against its own MPICH 4.2.1 (and
# /app/mpi_new_call, which calls NEW_SYMBOL), in the Debian 11 rootfs against MPICH 3.4.x, and
# /app/hello without MPI; that podman --rootfs runs the Debian 13 one; that MPI_Init works as a
# singleton (no mpiexec) in every case; that the binaries need libmpich.so.12 and carry no
# rpath; that NEW_SYMBOL is in Debian 13's libmpich and not in the host's nor Debian 11's; that
# neither runtime leaves a mount on the host nor a change in a rootfs; that a second
# build-rootfs.sh is a no-op under a second. TAP-style output; exit status non-zero on failure.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

# FLAVOUR: its rootfs, built or reused, with a comment line on how long that took.
timed_rootfs() {
    local start path
    start=$(date +%s%N)
    path=$(rootfs_for "$1") || return 1
    echo "# $1: $path ($(du -sh "$path" | cut -f1), rootfs_for took $((($(date +%s%N) - start) / 1000000)) ms)" >&2
    echo "$path"
}
TRIXIE=$(timed_rootfs trixie) || { not_ok "build trixie"; finish; exit 1; }
BULLSEYE=$(timed_rootfs bullseye) || { not_ok "build bullseye"; finish; exit 1; }
NOMPI=$(timed_rootfs trixie-nompi) || { not_ok "build trixie-nompi"; finish; exit 1; }

# --- build-rootfs.sh: cached, under a second --------------------------------------------------
start=$(date +%s%N)
again=$("$REPO/tests/rootfs/build-rootfs.sh" trixie 2>/dev/null)
ms=$((($(date +%s%N) - start) / 1000000))
assert_eq "$again" "$TRIXIE" "build-rootfs.sh trixie again: the same rootfs"
assert_eq "$([ "$ms" -lt 1000 ] && echo fast)" "fast" "build-rootfs.sh trixie again: no-op in ${ms} ms (< 1 s)"
assert_exit 2 "build-rootfs.sh: an unknown flavour is refused" "$REPO/tests/rootfs/build-rootfs.sh" 'no/such'

# --- the rootfs' layout and programs -----------------------------------------------------------
for r in "$TRIXIE" "$BULLSEYE" "$NOMPI"; do
    n=$(basename "$r")
    for d in bin sbin lib lib64; do
        assert_eq "$(readlink "$r/$d")" "usr/$d" "$n: /$d -> usr/$d"
    done
    assert_eq "$(stat -c %a "$r/tmp")" "1777" "$n: /tmp is 1777"
    assert_eq "$(cat "$r/etc/passwd")" "root:x:0:0:root:/root:/bin/bash" "$n: /etc/passwd has root only"
    assert_eq "$(test -s "$r/etc/ld.so.cache" && echo yes)" "yes" "$n: /etc/ld.so.cache generated"
done
new_symbol=$(cat "$REPO/tests/programs/NEW_SYMBOL")
for b in "$TRIXIE/app/mpi_hello" "$TRIXIE/app/mpi_new_call" "$BULLSEYE/app/mpi_hello"; do
    n=$(basename "$(dirname "$(dirname "$b")")")/app/$(basename "$b")
    dyn=$(readelf -d "$b")
    assert_contains "$dyn" "Shared library: [libmpich.so.12]" "$n: DT_NEEDED libmpich.so.12"
    assert_not_contains "$dyn" "PATH)" "$n: no RPATH/RUNPATH"
done
assert_eq "$(test -e "$BULLSEYE/app/mpi_new_call" || echo absent)" "absent" "bullseye: no mpi_new_call (MPICH 3.4 lacks $new_symbol)"
defined() { nm -D --defined-only "$1" | awk '{ print $NF }' | grep -cx "$new_symbol"; }
assert_eq "$(defined "$TRIXIE/usr/lib/x86_64-linux-gnu/libmpich.so.12")" 1 "$new_symbol is defined by Debian 13's libmpich"
assert_eq "$(defined /usr/lib/x86_64-linux-gnu/libmpich.so.12)" 0 "$new_symbol is not defined by the host's libmpich"
assert_eq "$(defined "$BULLSEYE/usr/lib/x86_64-linux-gnu/libmpich.so.12")" 0 "$new_symbol is not defined by Debian 11's libmpich"
assert_contains "$(objdump -T "$TRIXIE/app/mpi_new_call")" "$new_symbol" "mpi_new_call imports $new_symbol"

# --- runc ----------------------------------------------------------------------------------------
mounts=$(host_mounts_snapshot)
snap_trixie=$(rootfs_snapshot "$TRIXIE")
snap_bullseye=$(rootfs_snapshot "$BULLSEYE")
snap_nompi=$(rootfs_snapshot "$NOMPI")

make_bundle "$TRIXIE" "$TEST_TMP/trixie" /app/mpi_hello
assert_eq "$(jq -r '.root.readonly, .process.terminal, (.process.env | map(split("=")[0]) | join(","))' "$TEST_TMP/trixie/config.json" | tr '\n' ' ')" \
    "true false PATH,TERM " "make_bundle: read-only root, no terminal, PATH and TERM only"
runc_run "$TEST_TMP/trixie"
assert_eq "$RUN_RC" 0 "runc trixie mpi_hello: exit 0"
assert_eq "$(mpich_version "$RUN_OUT")" "4.2.1" "runc trixie mpi_hello: MPICH 4.2.1"
assert_contains "$RUN_OUT" "rank 0 of 1" "runc trixie mpi_hello: MPI_Init as a singleton"

make_bundle "$TRIXIE" "$TEST_TMP/trixie-new" /app/mpi_new_call
runc_run "$TEST_TMP/trixie-new"
assert_eq "$RUN_RC" 0 "runc trixie mpi_new_call: exit 0"
assert_contains "$RUN_OUT" "attach_buffer: 0" "runc trixie mpi_new_call: $new_symbol returns MPI_SUCCESS"

make_bundle "$BULLSEYE" "$TEST_TMP/bullseye" /app/mpi_hello
runc_run "$TEST_TMP/bullseye"
assert_eq "$RUN_RC" 0 "runc bullseye mpi_hello: exit 0"
assert_contains "$(mpich_version "$RUN_OUT")" "3.4." "runc bullseye mpi_hello: MPICH 3.4.x"
assert_contains "$RUN_OUT" "rank 0 of 1" "runc bullseye mpi_hello: MPI_Init as a singleton"

make_bundle "$NOMPI" "$TEST_TMP/nompi" /app/hello
runc_run "$TEST_TMP/nompi"
assert_eq "$RUN_RC" 0 "runc trixie-nompi hello: exit 0"
assert_contains "$RUN_OUT" "hello from a container without MPI" "runc trixie-nompi hello: output"

make_bundle "$NOMPI" "$TEST_TMP/fails" /bin/bash -c 'echo to-stderr >&2; exit 7'
runc_run "$TEST_TMP/fails" smoke-fails-$$
assert_eq "$RUN_RC" 7 "runc_run: the container's exit status"
assert_contains "$RUN_OUT" "to-stderr" "runc_run: stderr captured"
assert_eq "$(runc list -q | grep -c "^smoke-fails-$$\$")" 0 "runc_run: the container is deleted afterwards"

assert_no_new_mounts "$mounts" "runc: no mount left on the host"

# --- podman ------------------------------------------------------------------------------------
podman_run "$TRIXIE" -- /bin/true # podman's storage makes its own mounts on first use
podman_run "$TRIXIE" -- /app/mpi_hello
assert_eq "$RUN_RC" 0 "podman trixie mpi_hello: exit 0"
assert_eq "$(mpich_version "$RUN_OUT")" "4.2.1" "podman trixie mpi_hello: MPICH 4.2.1"
assert_contains "$RUN_OUT" "rank 0 of 1" "podman trixie mpi_hello: MPI_Init as a singleton"
# shellcheck disable=SC2016 # expanded in the container
podman_run "$BULLSEYE" --env SMOKE=podman-env -- /bin/bash -c 'echo "$SMOKE"'
assert_eq "$RUN_OUT" "podman-env" "podman_run: options before --, the command after"
assert_no_new_mounts "$mounts" "podman: no mount left on the host"

assert_rootfs_unchanged_except "$snap_trixie" "trixie rootfs unchanged by runc and podman"
assert_rootfs_unchanged_except "$snap_bullseye" "bullseye rootfs unchanged by runc and podman"
assert_rootfs_unchanged_except "$snap_nompi" "trixie-nompi rootfs unchanged by runc"

# --- the snapshot helpers see a change ---------------------------------------------------------
fake=$TEST_TMP/fake-rootfs
mkdir -p "$fake/etc" "$fake/opt"
echo a > "$fake/etc/file"
snap=$(rootfs_snapshot "$fake")
mkdir "$fake/opt/bypass"
touch "$fake/opt/bypass/x"
assert_contains "$(assert_rootfs_unchanged_except "$snap" probe)" "not ok - probe" "a new directory is a change"
assert_contains "$(assert_rootfs_unchanged_except "$snap" probe /opt/bypass "$fake/opt/bypass/*")" "ok - probe" \
    "allowed paths, inside the rootfs or on the host, globs"
rm -rf "$fake/opt/bypass"
assert_contains "$(assert_rootfs_unchanged_except "$snap" probe)" "ok - probe" "a directory made and removed again is no change"
echo b > "$fake/etc/file"
touch -d '2001-01-01' "$fake/etc/file"
assert_contains "$(assert_rootfs_unchanged_except "$snap" probe)" "etc/file" "a file rewritten with the same size is a change"
finish
