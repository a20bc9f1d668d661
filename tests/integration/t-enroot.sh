#!/usr/bin/env bash
# enroot / pyxis: packaging/enroot/50-bypass.sh under a harness that reproduces enroot's hook
# contract (tests/lib/enroot-harness.sh; enroot itself cannot be installed on Debian 12):
#   - Debian 13: the hook's fstab lines put the host MPICH 4.0.2 over the container's, and MPI runs;
#   - no hook, or BYPASS_ENABLED=false in the container's environment: its own MPICH 4.2.1;
#   - Debian 11: the hook exits 3 with the glibc reason, the container never runs; the host
#     library forced in with the same fstab mechanism really fails there;
#   - a container without MPI asking for the system MPI: libraries added under a tmpfs at
#     /opt/bypass, found through LD_LIBRARY_PATH prepended to the container's own;
#   - the rootfs on disk is unchanged; the hook outside enroot is a one-line error.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root
for cmd in unshare jq; do
    command -v "$cmd" >/dev/null || { echo "# SKIP $(basename "$0"): $cmd is not installed"; exit 0; }
done
TRIXIE=$(rootfs_for trixie) || exit 1
BULLSEYE=$(rootfs_for bullseye) || exit 1
NOMPI=$(rootfs_for trixie-nompi) || exit 1
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host MPICH"
HARNESS=$REPO/tests/lib/enroot-harness.sh
HOOKS=$TEST_TMP/hooks.d
NOHOOKS=$TEST_TMP/no-hooks.d
mkdir -p "$HOOKS" "$NOHOOKS"
sed -e "s#@PREFIX@/bin/bypass#$BYPASS#" -e "s#@DB@#$DB#" "$REPO/packaging/enroot/50-bypass.sh" >"$HOOKS/50-bypass.sh"
chmod 0755 "$HOOKS/50-bypass.sh"
enroot_start() { # HOOKS ROOTFS [KEY=VALUE...] -- CMD...
    capture timeout --kill-after=10 120 "$HARNESS" "$@"
}
# enroot's hooks are not told the command the container will run, so bypass checks every MPI
# consumer of the image: the cached Debian 13 image also holds /app/mpi_new_call (MPI-4.1), which the
# host's MPICH 4.0.2 cannot serve. The image the site would really run has only what it runs.
IMG13=$TEST_TMP/trixie
cp -al "$TRIXIE" "$IMG13"
rm -f "$IMG13/app/mpi_new_call"
enroot_start "$HOOKS" "$TRIXIE" PATH=/usr/bin:/bin -- /app/allreduce
assert_eq "$RC" 3 "trixie with an MPI-4.1 program in the image: refused (the hook cannot know the command)"
assert_contains "$ERR" "/app/mpi_new_call" "trixie with an MPI-4.1 program in the image: naming it"
TRIXIE=$IMG13
snap_trixie=$(rootfs_snapshot "$TRIXIE")
mounts=$(host_mounts_snapshot)

# --- Debian 13 ------------------------------------------------------------------------------------
enroot_start "$HOOKS" "$TRIXIE" PATH=/usr/bin:/bin -- /app/allreduce
assert_eq "$RC" 0 "trixie with the hook: exit 0"
assert_eq "$(mpich_version "$OUT")" "4.0.2" "trixie with the hook: the host MPICH 4.0.2"
assert_contains "$OUT" "rank 0 of 1: allreduce sum 1 (expected 1)" "trixie with the hook: MPI runs on the host library"
assert_eq "$ERR" "" "trixie with the hook: nothing on stderr"
enroot_start "$HOOKS" "$TRIXIE" PATH=/usr/bin:/bin -- /bin/bash -c 'while read -r l; do case $l in *libmpich.so*) echo "mount: $l" ;; esac; done < /proc/self/mountinfo'
assert_contains "$OUT" "/usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1 ro,nosuid,nodev" "trixie with the hook: bound read-only over the container's own file"
enroot_start "$NOHOOKS" "$TRIXIE" PATH=/usr/bin:/bin -- /app/allreduce
assert_eq "$(mpich_version "$OUT")" "4.2.1" "trixie without the hook: its own MPICH 4.2.1"
enroot_start "$HOOKS" "$TRIXIE" PATH=/usr/bin:/bin BYPASS_ENABLED=false -- /app/allreduce
assert_eq "$(mpich_version "$OUT")" "4.2.1" "trixie with BYPASS_ENABLED=false: its own MPICH 4.2.1"

# --- Debian 11 --------------------------------------------------------------------------------------
enroot_start "$HOOKS" "$BULLSEYE" PATH=/usr/bin:/bin -- /app/allreduce
assert_eq "$RC" 3 "bullseye: the hook's exit 3 aborts the start"
assert_eq "$OUT" "" "bullseye: the program never ran"
assert_eq "$(printf '%s\n' "$ERR" | grep -c '^bypass: refused: host file /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 needs GLIBC_2.34 .*\[glibc-too-old\]$')" 1 \
    "bullseye: the glibc reason, once, on stderr"
# Ground truth, through the same fstab: the host library and its non-glibc dependencies bound in.
FORCED=$TEST_TMP/forced.d
mkdir -p "$FORCED"
target=$(readlink -f "$BULLSEYE/usr/lib/x86_64-linux-gnu/libmpich.so.12")
{
    echo '#!/bin/sh'
    echo "echo 'tmpfs /opt/forced tmpfs x-create=dir,mode=755' >> \"\$ENROOT_MOUNTS\""
    echo "echo '/usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 /usr/lib/x86_64-linux-gnu/${target##*/} none x-create=file,bind,ro' >> \"\$ENROOT_MOUNTS\""
    ldd /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 | awk '$3 ~ /^\// { print $3 }' \
        | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux-x86-64)\.so' \
        | while read -r f; do echo "echo '$f /opt/forced/${f##*/} none x-create=file,bind,ro' >> \"\$ENROOT_MOUNTS\""; done
    echo "echo LD_LIBRARY_PATH=/opt/forced >> \"\$ENROOT_ENVIRON\""
} >"$FORCED/50-force.sh"
chmod 0755 "$FORCED/50-force.sh"
enroot_start "$FORCED" "$BULLSEYE" PATH=/usr/bin:/bin -- /app/allreduce
assert_contains "$OUT$ERR" "GLIBC_2.34' not found" "control: the host MPICH forced into bullseye fails to load (what the hook refused)"

# --- libraries the container lacks ---------------------------------------------------------------------
enroot_start "$HOOKS" "$NOMPI" PATH=/usr/bin:/bin LD_LIBRARY_PATH=/usr/local/lib BYPASS_MPI_MODE=mpi_system -- \
    /bin/bash -c 'echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; /lib64/ld-linux-x86-64.so.2 --list /opt/bypass/lib/libmpich.so.12'
assert_contains "$OUT" "LD_LIBRARY_PATH=/opt/bypass/lib:/usr/local/lib" "mpi_system: LD_LIBRARY_PATH prepended to the container's own"
assert_contains "$OUT" "libucp.so.0 => /opt/bypass/lib/libucp.so.0" "mpi_system: added dependencies found there"
assert_contains "$OUT" "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6" "mpi_system: the container's own libc stays"

# --- nothing left behind, bad input -----------------------------------------------------------------------
assert_rootfs_unchanged_except "$snap_trixie" "the rootfs on disk is as it was"
assert_no_new_mounts "$mounts" "no mount left on the host"
assert_eq "$(find /tmp -maxdepth 1 -name 'enroot-harness.*' | wc -l)" 0 "the harness' scratch directories are gone"
capture env -u ENROOT_ROOTFS "$HOOKS/50-bypass.sh"
assert_eq "$RC" 2 "the hook outside enroot: exit 2"
assert_one_line "$ERR" "the hook outside enroot: one line"
capture "$REPO/packaging/enroot/50-bypass.sh"
assert_contains "$RC/$ERR" "1/bypass (enroot hook): not configured" "the hook as shipped, placeholders unfilled, says so"
finish
