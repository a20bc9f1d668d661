#!/usr/bin/env bash
# Nothing left on disk: under real runc with the createRuntime and poststop hooks, a rootfs without
# /etc/ld.so.cache (and without /opt) whose plan adds libraries runs on the host MPICH, and the
# rootfs afterwards is exactly what it was (every entry's type, mode, size, link target and file
# mtime; no exception allowed), so a later `check` has no ld-cache-unusable. Then: poststop over
# entries swapped on disk for links to host files, a non-empty file or another directory removes
# none of them, says what it left, and exits 0; a record left by a container that never had its
# poststop is cleaned by a later hook run.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

NOMPI=$(rootfs_for trixie-nompi)
TRIXIE=$(rootfs_for trixie)
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host MPICH"
STATE=$TEST_TMP/state

# A private copy of the MPI-less image: no /etc/ld.so.cache, no /opt, and a program linked with
# libmpich (Debian 13's mpi_hello) that only the host library added by bypass can satisfy.
fresh_rootfs() { # DIR
    rm -rf "$1"
    cp -a "$NOMPI" "$1"
    rm -rf "$1/opt" "$1/etc/ld.so.cache"
    cp -a "$TRIXIE/app/mpi_hello" "$1/app/mpi_hello"
}

# BUNDLE STAGE...: the hook at each stage, with the test's own state directory (so that other hook
# runs on this machine never sweep this test's records).
hooks() {
    local dir=$1 stage
    shift
    for stage in "$@"; do
        if [ "$stage" = poststop ]; then
            bundle_hook "$dir" poststop --db "$DB" hook --stage poststop
        else
            bundle_hook "$dir" "$stage" --db "$DB" hook --stage "$stage"
        fi
    done
    _it_jq "$dir/config.json" --arg e "BYPASS_STATE_DIR=$STATE" '.hooks |= map_values(map(.env = [$e]))'
}

poststop_by_hand() { # ID BUNDLE: what runc gives a poststop hook, with stderr captured
    capture env BYPASS_STATE_DIR="$STATE" "$BYPASS" --db "$DB" hook --stage poststop \
        < <(jq -n --arg id "$1" --arg b "$2" '{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b}')
}

# --- the ground truth: the program needs the host library added ---------------------------------
ROOT=$TEST_TMP/rootfs
fresh_rootfs "$ROOT"
make_bundle "$ROOT" "$TEST_TMP/plain" /app/mpi_hello
runc_run "$TEST_TMP/plain"
assert_contains "$RUN_OUT" "libmpich.so.12: cannot open shared object file" "without bypass the program cannot load libmpich"
bypass --db "$DB" check --rootfs "$ROOT" --annotation org.supercontainers.mpi.portability.mode=mpi_system \
    --exec /app/mpi_hello --json > "$TEST_TMP/check0.json"
assert_eq "$(jq -r '.plan.libraryDir // empty' "$TEST_TMP/check0.json")" "/opt/bypass/lib" "the plan adds libraries under /opt/bypass/lib"
# The truth without bypass: the plan's host files forced in with plain bind mounts in config.json.
make_bundle "$ROOT" "$TEST_TMP/forced" /app/mpi_hello
bundle_env "$TEST_TMP/forced" LD_LIBRARY_PATH /opt/bypass/lib
_it_jq "$TEST_TMP/forced/config.json" --slurpfile c "$TEST_TMP/check0.json" \
    '.mounts += [$c[0].plan.mounts[] | {destination: .target, type: "bind", source: .source, options: ["bind", "ro"]}]'
runc_run "$TEST_TMP/forced"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "forced in with plain bind mounts, the host MPICH 4.0.2 runs it"

# --- createRuntime + poststop: runs on the host library, the rootfs is as it was -----------------
fresh_rootfs "$ROOT"
mounts=$(host_mounts_snapshot)
snap=$(rootfs_snapshot "$ROOT")
make_bundle "$ROOT" "$TEST_TMP/both" /app/mpi_hello
bundle_annotate "$TEST_TMP/both" org.supercontainers.mpi.portability.mode mpi_system
hooks "$TEST_TMP/both" createRuntime poststop
runc_run "$TEST_TMP/both" nothing-left-1
assert_eq "$RUN_RC" 0 "under createRuntime + poststop the container runs"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "and its program runs on the host MPICH 4.0.2"
assert_rootfs_unchanged_except "$snap" "the rootfs after the container's life is identical (no exception)"
assert_eq "$(test -e "$ROOT/etc/ld.so.cache" || test -L "$ROOT/etc/ld.so.cache" || echo absent)" absent \
    "no placeholder /etc/ld.so.cache stays"
assert_eq "$(test -e "$ROOT/opt" || echo absent)" absent "no /opt stays"
assert_no_new_mounts "$mounts" "no mount left on the host"
assert_eq "$(ls -A "$STATE" | grep -v '^\.lock$\|^\.swept$' || true)" "" "no record left in the state directory"
assert_eq "$(stat -c '%a %U' "$STATE")" "700 root" "the state directory is root's, 0700"
capture bypass --db "$DB" check --rootfs "$ROOT" --annotation org.supercontainers.mpi.portability.mode=mpi_system \
    --exec /app/mpi_hello --json
assert_not_contains "$OUT" "ld-cache-unusable" "a second check of the image reports no ld-cache-unusable"
assert_eq "$(jq -r .verdict <<<"$OUT")" "inject" "and still decides inject"
runc_run "$TEST_TMP/both" nothing-left-2
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "a second container on the same image runs on the host MPICH too"
assert_rootfs_unchanged_except "$snap" "and leaves the rootfs identical again"

# --- a poststop with nothing recorded: exit 0, silent -------------------------------------------
poststop_by_hand never-started "$TEST_TMP/both"
assert_eq "$RC" 0 "poststop without a record exits 0"
assert_eq "$ERR" "" "and says nothing"

# --- hostile: entries swapped on disk between createRuntime and poststop ---------------------------
# The container runs under createRuntime only; its record stays; the test then replaces what
# bypass made and runs poststop as runc would. Host canaries must survive, and so must the image's.
HOSTDIR=$(mktemp -d /tmp/bypass-nothing-left.XXXXXX)
mkdir "$HOSTDIR/lib"
: > "$HOSTDIR/empty-canary"
chmod 0444 "$HOSTDIR/empty-canary"
for swap in opt-bypass-link cache-link cache-written opt-bypass-other-dir; do
    fresh_rootfs "$ROOT"
    snap=$(rootfs_snapshot "$ROOT")
    make_bundle "$ROOT" "$TEST_TMP/hostile" /app/mpi_hello
    bundle_annotate "$TEST_TMP/hostile" org.supercontainers.mpi.portability.mode mpi_system
    hooks "$TEST_TMP/hostile" createRuntime
    id=nothing-left-$swap
    runc_run "$TEST_TMP/hostile" "$id"
    assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "$swap: the container ran on the host MPICH"
    assert_eq "$(test -d "$ROOT/opt/bypass" && test -f "$ROOT/etc/ld.so.cache" && echo made)" made \
        "$swap: without poststop the mount points are there (the record too)"
    case $swap in
        opt-bypass-link) rmdir "$ROOT/opt/bypass"; ln -s "$HOSTDIR" "$ROOT/opt/bypass"; left=/opt/bypass ;;
        cache-link) rm "$ROOT/etc/ld.so.cache"; ln -s "$HOSTDIR/empty-canary" "$ROOT/etc/ld.so.cache"; left=/etc/ld.so.cache ;;
        cache-written) chmod 0644 "$ROOT/etc/ld.so.cache"; echo data > "$ROOT/etc/ld.so.cache"; chmod 0444 "$ROOT/etc/ld.so.cache"
            left=/etc/ld.so.cache ;;
        opt-bypass-other-dir) rmdir "$ROOT/opt/bypass"; mkdir -m 0755 "$ROOT/opt/bypass"; left=/opt/bypass ;;
    esac
    poststop_by_hand "$id" "$TEST_TMP/hostile"
    assert_eq "$RC" 0 "$swap: poststop exits 0"
    assert_contains "$ERR" "bypass: warning: left $left in the rootfs" "$swap: poststop says what it left"
    assert_eq "$(cd "$HOSTDIR" && find . | LC_ALL=C sort | tr '\n' ' ')" ". ./empty-canary ./lib " "$swap: the host directory is untouched"
    assert_eq "$(stat -c '%a %s' "$HOSTDIR/empty-canary")" "444 0" "$swap: the host canary file is untouched"
    case $swap in
        opt-bypass-link) assert_eq "$(readlink "$ROOT/opt/bypass")" "$HOSTDIR" "$swap: the planted link is left as it is"
            assert_eq "$(test -f "$ROOT/etc/ld.so.cache" || echo gone)" gone "$swap: the untouched placeholder was still removed" ;;
        cache-link) assert_eq "$(readlink "$ROOT/etc/ld.so.cache")" "$HOSTDIR/empty-canary" "$swap: the planted link is left"
            assert_eq "$(test -e "$ROOT/opt" || echo gone)" gone "$swap: /opt/bypass and /opt were still removed" ;;
        cache-written) assert_eq "$(cat "$ROOT/etc/ld.so.cache")" "data" "$swap: the written file is kept" ;;
        opt-bypass-other-dir) assert_eq "$(test -d "$ROOT/opt/bypass" && echo kept)" kept "$swap: the other directory is kept" ;;
    esac
    assert_eq "$(test -e "$STATE/$id.json" || echo gone)" gone "$swap: the record is gone"
done
rm -rf "$HOSTDIR"

# --- a crash leftover: the record of a container gone without poststop, cleaned by a later run ----
fresh_rootfs "$ROOT"
snap=$(rootfs_snapshot "$ROOT")
make_bundle "$ROOT" "$TEST_TMP/crash" /app/mpi_hello
bundle_annotate "$TEST_TMP/crash" org.supercontainers.mpi.portability.mode mpi_system
hooks "$TEST_TMP/crash" createRuntime
runc_run "$TEST_TMP/crash" nothing-left-crash
assert_eq "$(test -f "$STATE/nothing-left-crash.json" && jq -r '.created | map(.path) | join(" ")' "$STATE/nothing-left-crash.json")" \
    "/opt /opt/bypass /etc/ld.so.cache" "crash: the record lists what was made, shallowest first"
# Sweeps are spaced (apply/CreatedTargets: the first hook run a minute after the last sweep cleans
# stale records); this test's runs swept just now, so the stamp is dated back.
age_sweep() { touch -d '-2 minutes' "$STATE/.swept"; }
age_sweep
poststop_by_hand another-container "$TEST_TMP/crash"
assert_eq "$RC" 0 "crash: a later hook run (another container's poststop) exits 0"
assert_eq "$(test -e "$STATE/nothing-left-crash.json" || echo gone)" gone "crash: and removed the stale record"
assert_rootfs_unchanged_except "$snap" "crash: and what the dead container's hook made"

# The same through a later createRuntime of a live container on another image copy.
fresh_rootfs "$ROOT"
snap=$(rootfs_snapshot "$ROOT")
runc_run "$TEST_TMP/crash" nothing-left-crash
ROOT2=$TEST_TMP/rootfs2
fresh_rootfs "$ROOT2"
snap2=$(rootfs_snapshot "$ROOT2")
make_bundle "$ROOT2" "$TEST_TMP/later" /app/mpi_hello
bundle_annotate "$TEST_TMP/later" org.supercontainers.mpi.portability.mode mpi_system
hooks "$TEST_TMP/later" createRuntime poststop
age_sweep
runc_run "$TEST_TMP/later" nothing-left-later
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "crash: a later container runs"
assert_rootfs_unchanged_except "$snap" "crash: its createRuntime cleaned the dead container's rootfs"
assert_rootfs_unchanged_except "$snap2" "crash: and its poststop its own"
assert_eq "$(ls -A "$STATE" | grep -v '^\.lock$\|^\.swept$' || true)" "" "crash: no record left"

rm -rf "$ROOT" "$ROOT2"
finish
