#!/usr/bin/env bash
# podman with the hooks.d file that packaging/install.sh installs: the hook runs only for
# containers annotated org.supercontainers.bypass.enabled=true, swaps in the host MPICH for Debian
# 13 and refuses Debian 11 with bypass' reason in podman's error.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
BULLSEYE=$(rootfs_for bullseye)
PREFIX=$TEST_TMP/prefix
DB=$TEST_TMP/etc/db
HOOKS=$TEST_TMP/hooks.d

capture "$REPO/packaging/install.sh" --prefix "$PREFIX" --db "$DB" --hooks-dir "$HOOKS"
assert_eq "$RC" 0 "install.sh into a scratch prefix"
for f in "$PREFIX/bin/bypass" "$PREFIX/lib/bypass/bypass.jar" "$PREFIX/lib/bypass/bypass-mount-helper" \
    "$PREFIX/lib/bypass/java" "$HOOKS/50-bypass.json" "$DB" "$DB/bundles"; do
    mode=$(stat -c %a "$f")
    assert_eq "$(stat -c %U "$f")/$(( 8#$mode & 8#022 ))" "root/0" "installed ${f#"$TEST_TMP"/} is root's, writable by root only"
done
assert_eq "$(test -f "$PREFIX/lib/bypass/bypass.jsa" && echo yes)" "yes" "a class-data archive was made for this JVM"
assert_eq "$(jq -r '.stages[0]' "$HOOKS/50-bypass.json")" "createRuntime" "hooks.d: createRuntime stage"
assert_eq "$(jq -r '.hook.path' "$HOOKS/50-bypass.json")" "$PREFIX/bin/bypass" "hooks.d: the installed launcher"
"$PREFIX/bin/bypass" --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null

export PODMAN_HOOKS_DIR=$HOOKS
ANN=(--annotation org.supercontainers.bypass.enabled=true)
podman_run "$TRIXIE" -- /bin/true # podman's storage sets up its own lasting mounts on first use
mounts=$(mounts_snapshot)
podman_run "$TRIXIE" "${ANN[@]}" -- /app/mpi_hello
assert_eq "$RUN_RC" 0 "podman trixie with the annotation runs"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "podman trixie with the annotation: the host MPICH 4.0.2"
podman_run "$TRIXIE" -- /app/mpi_hello
assert_eq "$(mpich_version "$RUN_OUT")" "4.2.1" "podman trixie without the annotation: the hook is not run, its own 4.2.1"

podman_run "$BULLSEYE" "${ANN[@]}" -- /app/mpi_hello
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "podman bullseye with the annotation does not start"
assert_contains "$RUN_OUT" "bypass: refused: host file /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 needs GLIBC_2.34" \
    "podman shows bypass' reason"
assert_not_contains "$RUN_OUT" "MPICH Version" "podman bullseye: the program never ran"
podman_run "$BULLSEYE" -- /app/mpi_hello
assert_eq "$(mpich_version "$RUN_OUT")" "3.4.1" "podman bullseye without the annotation: its own MPICH 3.4.1"
assert_no_new_mounts "$mounts" "podman: no mount left on the host"

# A database others can write to is refused, with the reason.
chmod o+w "$DB/bundles"
podman_run "$TRIXIE" "${ANN[@]}" -- /app/mpi_hello
assert_contains "$RUN_OUT" "is writable by non-root users; refusing to use the database" "podman: an unsafe database is refused"
chmod o-w "$DB/bundles"
finish
