#!/usr/bin/env bash
# Core engine against real distribution builds: register Debian 12's MPICH as the host MPI, then
# `check` root filesystems unpacked from Debian 11 and Debian 13 packages; bad input.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"

TRIXIE=$(rootfs_for trixie)
BULLSEYE=$(rootfs_for bullseye)
NOMPI=$(rootfs_for trixie-nompi)
DB=$(new_db)

capture bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json"
assert_eq "$RC" 0 "host MPICH registers"
capture bypass --db "$DB" db show host-mpich
assert_contains "$OUT" "libmpich.so.12.2.2" "db show lists the library"
assert_contains "$OUT" "libhwloc.so.15" "db show lists the closure (hwloc)"
assert_contains "$OUT" "libucp.so.0" "db show lists the closure (UCX)"
assert_contains "$OUT" "GLIBC_2.34 /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2" "db show gives the highest GLIBC version per file"
capture bypass --db "$DB" --json db show host-mpich
assert_eq "$(printf '%s' "$OUT" | jq -r '.files[] | select(.soname == "libmpich.so.12") | .maxGlibc')" "2.34" \
    "db show --json: maxGlibc of libmpich"
capture bypass db list --db "$DB" --json
assert_eq "$(printf '%s' "$OUT" | jq -r '.bundles[0].name')" "host-mpich" "global options after the command name"
assert_eq "$(printf '%s' "$OUT" | jq -r '.database')" "$DB" "db list --json names the database"

# Debian 13: host minor older (12.2.2 < 12.4.1), every imported symbol exists on the host.
capture bypass --db "$DB" check --rootfs "$TRIXIE" --exec /app/mpi_hello --json
assert_eq "$RC" 0 "trixie + MPI-3 program: exit 0"
assert_eq "$(printf '%s' "$OUT" | jq -r .verdict)" "inject" "trixie + MPI-3 program: verdict inject"
assert_contains "$(printf '%s' "$OUT" | jq -r '.findings[].code')" "abi-minor-older" "trixie: abi-minor-older warning"
assert_eq "$(printf '%s' "$OUT" | jq -r '.plan.mounts[0].source + " -> " + .plan.mounts[0].target')" \
    "/usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 -> /usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1" \
    "trixie: host library mounted over the container's real file"
assert_eq "$(printf '%s' "$OUT" | jq -r '.findings[0] | has("severity") and has("code") and has("message")')" "true" \
    "JSON findings carry severity, code and message"

# Debian 13: the program calls an MPI-4.1 function the host MPICH 4.0.2 lacks.
capture bypass --db "$DB" check --rootfs "$TRIXIE" --exec /app/mpi_new_call
assert_eq "$RC" 3 "trixie + MPI-4.1 program: exit 3"
assert_contains "$OUT" "missing-symbols" "trixie + MPI-4.1 program: missing-symbols"
assert_contains "$OUT" "$(cat "$REPO/tests/programs/NEW_SYMBOL")" "the refusal names the missing symbol"

# Debian 11: glibc 2.31 is older than what the host files need (the seed case).
capture bypass --db "$DB" check --rootfs "$BULLSEYE" --exec /app/mpi_hello
assert_eq "$RC" 3 "bullseye: exit 3"
assert_contains "$OUT" "glibc-too-old" "bullseye: glibc-too-old"
assert_contains "$OUT" "needs GLIBC_2.34 from libc.so.6" "bullseye: names the GLIBC version the host files need"
assert_contains "$OUT" "container's glibc is 2.31" "bullseye: names the container's glibc"
assert_contains "$OUT" "libmpich.so.12.2.2" "bullseye: names the host file"
capture bypass --db "$DB" check --rootfs "$BULLSEYE" --json
assert_eq "$(printf '%s' "$OUT" | jq -r .verdict)/$(printf '%s' "$OUT" | jq -r .container.libc.version)" "refuse/2.31" \
    "bullseye --json: refuse, glibc 2.31 from the rootfs"

# No MPI at all.
capture bypass --db "$DB" check --rootfs "$NOMPI" --exec /app/hello
assert_eq "$RC" 0 "no MPI: exit 0"
assert_contains "$OUT" "nothing to inject" "no MPI: nothing to inject"

# Annotations contradicting the rootfs are findings.
capture bypass --db "$DB" check --rootfs "$TRIXIE" --annotation org.supercontainers.mpi.implementation=openmpi \
    --annotation org.supercontainers.glibc.version=2.28
assert_contains "$OUT" "org.supercontainers.mpi.implementation=openmpi but the container rootfs has mpich" \
    "an MPI annotation contradicting the rootfs is reported"
assert_contains "$OUT" "org.supercontainers.glibc.version=2.28 but the container's libc.so.6 is glibc 2.41" \
    "a glibc annotation contradicting the rootfs is reported"

# Bad input: one line, exit 2, database untouched.
db_state() { find "$DB" -type f -printf '%p %s %T@\n' | sort; find "$DB" -type f -exec sha256sum {} + | sort; }
before=$(db_state)
capture bypass --db "$DB" check --rootfs /nonexistent/rootfs
assert_eq "$RC" 2 "missing rootfs: exit 2"
assert_one_line "$ERR" "missing rootfs: one line"
assert_contains "$ERR" "/nonexistent/rootfs" "missing rootfs: names the path"
capture bypass --db "$DB" check --rootfs "$TRIXIE" --exec /etc/passwd
assert_eq "$RC" 2 "non-ELF --exec: exit 2"
assert_one_line "$ERR" "non-ELF --exec: one line"
assert_contains "$ERR" "not an ELF" "non-ELF --exec: says why"
printf '{"name": "broken", "kind": "mpi", "libraries": [' > "$TEST_TMP/corrupt.json"
capture bypass --db "$DB" db register "$TEST_TMP/corrupt.json"
assert_eq "$RC" 2 "corrupt descriptor: exit 2"
assert_one_line "$ERR" "corrupt descriptor: one line"
assert_contains "$ERR" "corrupt.json" "corrupt descriptor: names the file"
printf '{"name": "typo", "kind": "mpi", "libraires": ["/usr/lib/x86_64-linux-gnu/libmpich.so.12"]}' > "$TEST_TMP/typo.json"
capture bypass --db "$DB" db register "$TEST_TMP/typo.json"
assert_eq "$RC/$(printf '%s' "$ERR" | grep -c libraires)" "2/1" "unknown descriptor field: exit 2 naming the field"
mkdir -p "$TEST_TMP/vanish"
cp /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 "$TEST_TMP/vanish/libmpich.so.12"
printf '{"name": "gone", "kind": "mpi", "libraries": ["%s/vanish/missing.so.12"]}' "$TEST_TMP" > "$TEST_TMP/gone.json"
capture bypass --db "$DB" db register "$TEST_TMP/gone.json"
assert_eq "$RC" 2 "descriptor naming a missing file: exit 2"
assert_contains "$ERR" "missing.so.12" "descriptor naming a missing file: names it"
assert_eq "$(db_state)" "$before" "failed registrations left the database exactly as it was"

# A registered file that vanished: verify names it, exit 2.
printf '{"name": "copied", "kind": "mpi", "libraries": ["%s/vanish/libmpich.so.12"]}' "$TEST_TMP" > "$TEST_TMP/copied.json"
capture bypass --db "$DB" db register "$TEST_TMP/copied.json"
assert_eq "$RC" 0 "a copied library registers"
capture bypass --db "$DB" db verify
assert_eq "$RC" 0 "db verify: everything unchanged"
rm "$TEST_TMP/vanish/libmpich.so.12"
before=$(db_state)
capture bypass --db "$DB" db verify
assert_eq "$RC" 2 "db verify: a vanished file gives exit 2"
assert_contains "$ERR" "$TEST_TMP/vanish/libmpich.so.12: vanished" "db verify names the vanished file"
assert_eq "$(db_state)" "$before" "db verify changes nothing"
capture bypass --db "$DB" db remove copied
assert_eq "$RC" 0 "db remove"
capture bypass --db "$DB" db remove copied
assert_eq "$RC" 2 "db remove of an unknown bundle: exit 2"

capture bypass inspect --json /usr/lib/x86_64-linux-gnu/libmpich.so.12
assert_eq "$(printf '%s' "$OUT" | jq -r '.[0].soname')" "libmpich.so.12" "inspect --json gives the soname"
finish
