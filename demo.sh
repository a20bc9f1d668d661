#!/usr/bin/env bash
# The main job of bypass, end to end, on a Debian 12 machine (run as root):
#   1. installs the tools (apt), builds bypass, registers Debian 12's MPICH 4.0.2 as the site MPI;
#   2. builds two container root filesystems from Debian packages: Debian 13 (glibc 2.41,
#      MPICH 4.2.1) and Debian 11 (glibc 2.31, MPICH 3.4.1), each with an MPI test program;
#   3. `bypass check` on both, then real `runc run`s with bypass as the createRuntime hook:
#      Debian 13 runs against the host's MPICH; Debian 11 is refused before it starts, with the reason.
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
cd "$repo"
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (as root: ./demo.sh): it starts real containers" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "installing tools and building bypass"
tests/install-deps.sh
echo "building (mvn -B package -DskipTests: about 85 s on 2 cores the first time)"
start=$SECONDS
mvn -B -q package -DskipTests
echo "built target/bypass.jar in $((SECONDS - start)) s: $(hook/bypass --version)"
source tests/lib/common.sh

step "registering the host MPI (Debian 12's MPICH) in a scratch database"
DB=$(new_db)
bypass --db "$DB" db register compat-db/examples/host-mpich.json
bypass --db "$DB" db show host-mpich | head -8

step "building container root filesystems from Debian 13 and Debian 11 packages (cached)"
# One line per rootfs: its packages and size (the first build downloads about 824 MB, ~100 s).
describe() { # NAME ROOTFS
    echo "$1: $(grep -c '^deb ' "$2/.bypass-rootfs") packages, $(du -sm "$2" | cut -f1) MB ($2)"
}
echo "Debian 13: building or reusing (first time: download and unpack, about a minute)"
TRIXIE=$(rootfs_for trixie)
describe "Debian 13" "$TRIXIE"
echo "Debian 11: building or reusing"
BULLSEYE=$(rootfs_for bullseye)
describe "Debian 11" "$BULLSEYE"

step "bypass check: Debian 13 container"
bypass --db "$DB" check --rootfs "$TRIXIE" --exec /app/mpi_hello || true
step "bypass check: Debian 11 container"
bypass --db "$DB" check --rootfs "$BULLSEYE" --exec /app/mpi_hello || true

for flavour in trixie bullseye; do
    rootfs=$TRIXIE
    [ "$flavour" = bullseye ] && rootfs=$BULLSEYE
    make_bundle "$rootfs" "$TEST_TMP/$flavour-plain" /app/mpi_hello
    make_bundle "$rootfs" "$TEST_TMP/$flavour-hook" /app/mpi_hello
    bundle_hook "$TEST_TMP/$flavour-hook" createRuntime --db "$DB" hook
    step "runc run, $flavour, without bypass"
    runc_run "$TEST_TMP/$flavour-plain"
    echo "$RUN_OUT"
    step "runc run, $flavour, with bypass as the createRuntime hook"
    runc_run "$TEST_TMP/$flavour-hook"
    echo "$RUN_OUT"
    echo "(exit status $RUN_RC)"
done
