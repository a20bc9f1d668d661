#!/usr/bin/env bash
# Hardening: faults (database missing, unreadable, corrupt, writable by others; configuration
# writable by others; helper missing, not executable, killed; a full disk during register; a
# registered file replaced), each under onError fail and skip; the audit log; 64 containers started
# at once while the database is rewritten; hostile rootfs contents (a swap race, planted FIFOs and
# devices, a libc.so.6 that is not ELF, a huge ld.so.cache).
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
NOMPI=$(rootfs_for trixie-nompi)
_it_tmp
chmod 755 "$TEST_TMP"
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register"
AUDIT=$TEST_TMP/audit.log

config() { # FILE ONERROR [EXTRA JSON]
    printf '{"onError": "%s", "audit": {"file": "%s"}%s}\n' "$2" "$AUDIT" "${3:-}" > "$1"
    chmod 0644 "$1"
}
config "$TEST_TMP/fail.json" fail
config "$TEST_TMP/skip.json" skip

# One container run under the hook with a given database and configuration.
hook_run() { # NAME DB CONFIG
    make_bundle "$TRIXIE" "$TEST_TMP/b-$1" /app/mpi_hello
    bundle_hook "$TEST_TMP/b-$1" createRuntime --db "$2" --config "$3" hook
    runc_run "$TEST_TMP/b-$1"
}

# A fault: under fail the container must not start and the error names the cause; under skip it
# starts untouched (its own MPICH 4.2.1); no mount is left either way.
fault() { # NAME DB CONFIG-SUFFIX NEEDLE
    local name=$1 db=$2 needle=$4 mounts
    mounts=$(mounts_snapshot)
    hook_run "$name-fail" "$db" "$TEST_TMP/fail$3.json"
    assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "$name (onError fail): the container does not start"
    assert_contains "$RUN_OUT" "$needle" "$name (onError fail): the error names the cause"
    hook_run "$name-skip" "$db" "$TEST_TMP/skip$3.json"
    assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.2.1" "$name (onError skip): the container starts untouched"
    assert_no_new_mounts "$mounts" "$name: no mount left on the host"
}

fault "database missing" "$TEST_TMP/no-such-db" "" "the database does not exist"
CORRUPT=$(new_db)
cp -a "$DB/bundles" "$CORRUPT/"
printf '{"format": 1, "descriptor": ' > "$CORRUPT/bundles/host-mpich.json"
fault "corrupt database" "$CORRUPT" "" "host-mpich.json: not valid JSON"
UNREADABLE=$(new_db)
mkdir -p "$UNREADABLE/bundles/host-mpich.json"
fault "unreadable database entry" "$UNREADABLE" "" "host-mpich.json: not a regular file"
OPEN=$(new_db)
cp -a "$DB/bundles" "$OPEN/"
chmod o+w "$OPEN/bundles/host-mpich.json"
fault "database writable by others" "$OPEN" "" "writable by non-root users; refusing to use the database"
config "$TEST_TMP/fail-nohelper.json" fail ', "helper": "/nonexistent/bypass-mount-helper"'
config "$TEST_TMP/skip-nohelper.json" skip ', "helper": "/nonexistent/bypass-mount-helper"'
fault "helper missing" "$DB" "-nohelper" "bypass-mount-helper does not exist"
printf '#!/bin/sh\nexit 0\n' > "$TEST_TMP/helper-noexec"
chmod 0644 "$TEST_TMP/helper-noexec"
config "$TEST_TMP/fail-noexec.json" fail ", \"helper\": \"$TEST_TMP/helper-noexec\""
config "$TEST_TMP/skip-noexec.json" skip ", \"helper\": \"$TEST_TMP/helper-noexec\""
fault "helper not executable" "$DB" "-noexec" "helper-noexec is not executable"

# A registered file replaced on the host (a copy of the host library, registered, then rewritten).
mkdir -p "$TEST_TMP/lib"
cp /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 "$TEST_TMP/lib/libmpich.so.12.2.2"
ln -s libmpich.so.12.2.2 "$TEST_TMP/lib/libmpich.so.12"
COPYDB=$(new_db)
printf '{"name": "copy", "kind": "mpi", "libraries": ["%s/lib/libmpich.so.12"]}\n' "$TEST_TMP" > "$TEST_TMP/copy.json"
bypass --db "$COPYDB" db register "$TEST_TMP/copy.json" >/dev/null || not_ok "register the copy"
hook_run copy-fresh "$COPYDB" "$TEST_TMP/fail.json"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "a registered copy of the library is injected"
printf 'x' >> "$TEST_TMP/lib/libmpich.so.12.2.2"
fault "registered file replaced" "$COPYDB" "" "libmpich.so.12.2.2 of bundle copy changed since registration"

# The configuration itself writable by others: always refused, whatever it says.
config "$TEST_TMP/open.json" skip
chmod o+w "$TEST_TMP/open.json"
hook_run open-config "$DB" "$TEST_TMP/open.json"
assert_contains "$RUN_OUT" "open.json is writable by non-root users; refusing to use it as bypass' configuration" "a configuration others can write is refused"

# The helper killed mid-way: always fails the start (the namespace may hold half the plan).
printf '#!/bin/sh\nkill -9 $$\n' > "$TEST_TMP/helper-killed"
chmod 0755 "$TEST_TMP/helper-killed"
config "$TEST_TMP/skip-killed.json" skip ", \"helper\": \"$TEST_TMP/helper-killed\""
mounts=$(mounts_snapshot)
hook_run killed "$DB" "$TEST_TMP/skip-killed.json"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "helper killed: the container does not start, even under onError skip"
assert_contains "$RUN_OUT" "the mount helper died (exit status 137)" "helper killed: the error says so"
assert_no_new_mounts "$mounts" "helper killed: no mount left on the host"

# The audit log: one line per decision.
lines=$(wc -l < "$AUDIT")
assert_eq "$(grep -c "verdict=error-skipped" "$AUDIT")" "7" "audit: the skipped errors are logged"
assert_contains "$(grep 'verdict=inject' "$AUDIT" | head -1)" "bundles=copy codes=abi-minor-older" "audit: an injection with bundles and codes"
assert_eq "$(grep -vcE '^time=[0-9T:.Z-]+ container=[^ ]+ stage=[^ ]+ verdict=[a-z-]+ bundles=[^ ]+ codes=[^ ]+ ms=[0-9]+( detail=".*")?$' "$AUDIT")" "0" \
    "audit: every one of the $lines lines has the documented form"
# Errors carry the catalog's codes, not an invented "error".
for pair in "the database does not exist:database-missing" "not valid JSON:bad-input" \
        "writable by non-root users:database-untrusted" "bypass-mount-helper does not exist:apply-failed"; do
    assert_contains "$(grep -F "${pair%%:*}" "$AUDIT" | head -1)" "codes=${pair#*:} " "audit: '${pair%%:*}' has code ${pair#*:}"
done
unknown=""
for c in $(sed -n 's/.* codes=\([^ ]*\) .*/\1/p' "$AUDIT" | tr ',' '\n' | sort -u); do
    [ "$c" = - ] || bypass explain "$c" >/dev/null 2>&1 || unknown="$unknown $c"
done
assert_eq "$unknown" "" "audit: every code in the log is in the catalog (bypass explain knows it)"

# A full disk during db register: the database stays exactly as it was.
FULL=$TEST_TMP/full
mkdir -p "$FULL"
mount -t tmpfs -o size=64k tmpfs "$FULL"
bypass --db "$FULL" db register "$TEST_TMP/copy.json" >/dev/null 2>&1 || true
before=$(find "$FULL" -type f -printf '%p %s\n' | sort; sha256sum "$FULL"/bundles/* 2>/dev/null)
capture bypass --db "$FULL" db register "$REPO/compat-db/examples/host-mpich.json"
after=$(find "$FULL" -type f -printf '%p %s\n' | sort; sha256sum "$FULL"/bundles/* 2>/dev/null)
umount "$FULL"
assert_eq "$RC" 1 "full disk: db register fails (exit 1)"
assert_contains "$ERR" "No space left on device" "full disk: the error says why"
assert_eq "$after" "$before" "full disk: the database is exactly as it was, no temporary file left"

# --- 64 containers at once, while db register and db remove rewrite the database ---------------------
make_bundle "$TRIXIE" "$TEST_TMP/many" /app/mpi_hello
bundle_hook "$TEST_TMP/many" createRuntime --db "$DB" --config "$TEST_TMP/fail.json" hook
printf '{"name": "churn", "kind": "generic", "libraries": ["/usr/lib/x86_64-linux-gnu/libz.so.1"], "dependencies": "none"}\n' \
    > "$TEST_TMP/churn.json"
( while [ ! -f "$TEST_TMP/stop" ]; do
      bypass --db "$DB" db register "$TEST_TMP/churn.json" >/dev/null 2>&1
      bypass --db "$DB" db remove churn >/dev/null 2>&1
  done ) &
churner=$!
mounts=$(mounts_snapshot)
for i in $(seq 64); do
    ( cd "$TEST_TMP/many" && timeout 300 runc run "many-$$-$i" > "$TEST_TMP/many-$i.out" 2>&1; echo "rc=$?" >> "$TEST_TMP/many-$i.out"
      runc delete -f "many-$$-$i" >/dev/null 2>&1 ) &
done
wait $(jobs -p | grep -v "^$churner$") 2>/dev/null
touch "$TEST_TMP/stop"
wait "$churner" 2>/dev/null
good=0
for i in $(seq 64); do
    if grep -q "rc=0" "$TEST_TMP/many-$i.out" && [ "$(mpich_version "$(cat "$TEST_TMP/many-$i.out")")" = 4.0.2 ]; then
        good=$((good + 1))
    else
        sed 's/^/#   /' "$TEST_TMP/many-$i.out" | head -5
    fi
done
assert_eq "$good" "64" "64 containers started at once all run against the host MPICH while the database changes"
assert_no_new_mounts "$mounts" "64 containers: no mount left on the host"

# --- hostile rootfs contents ---------------------------------------------------------------------------
HOSTILE=$TEST_TMP/hostile
cp -a "$NOMPI" "$HOSTILE"
lib=$HOSTILE/usr/lib/x86_64-linux-gnu
mkfifo "$lib/libmpich.so.12"
mknod "$lib/libmpi.so.12" c 1 5
capture timeout 20 "$BYPASS" --db "$DB" check --rootfs "$HOSTILE" --annotation org.supercontainers.mpi.portability.mode=mpi_system
assert_eq "$RC" 0 "a FIFO and a device planted as MPI libraries: check completes (no blocking read)"
assert_contains "$OUT" "no MPI" "planted FIFO and device are not taken for libraries"
# A huge (sparse) ld.so.cache is not read; the default directories are searched instead.
rm -f "$HOSTILE/etc/ld.so.cache"
truncate -s 2G "$HOSTILE/etc/ld.so.cache"
capture timeout 20 "$BYPASS" --db "$DB" check --rootfs "$HOSTILE"
assert_eq "$RC" 0 "a 2 GiB ld.so.cache: check completes"
assert_contains "$OUT" "ld-cache-unusable" "a 2 GiB ld.so.cache: reported, not read"
# A libc.so.6 that is not ELF: nothing of the host is injected into it.
rm -f "$HOSTILE/etc/ld.so.cache" "$lib/libmpich.so.12" "$lib/libmpi.so.12"
rm -f "$lib/libc.so.6"
printf 'not an ELF file\n' > "$lib/libc.so.6"
capture timeout 20 "$BYPASS" --db "$DB" check --rootfs "$HOSTILE" --annotation org.supercontainers.mpi.portability.mode=mpi_system
assert_eq "$RC" 3 "a libc.so.6 that is not ELF: refused"
assert_contains "$OUT" "libc-unknown" "a libc.so.6 that is not ELF: with the reason"

# A directory swapped for a symlink to a host directory while hooks run (the race the helper's
# openat2 resolution closes): nothing may land in the host directory, nothing stay mounted.
RACE=$TEST_TMP/race
cp -a "$NOMPI" "$RACE"
rm -rf "$RACE/opt"
mkdir -p "$RACE/opt.real"
HOSTDIR=$(mktemp -d /tmp/bypass-race-target.XXXXXX)
( while [ ! -f "$TEST_TMP/stop-race" ]; do
      ln -sfn "$HOSTDIR" "$RACE/opt.tmp" && mv -T "$RACE/opt.tmp" "$RACE/opt"
      ln -sfn opt.real "$RACE/opt.tmp" && mv -T "$RACE/opt.tmp" "$RACE/opt"
      sleep 0.01
  done ) &
swapper=$!
make_bundle "$RACE" "$TEST_TMP/race-bundle" /lib64/ld-linux-x86-64.so.2 --list /opt/bypass/lib/libmpich.so.12
bundle_annotate "$TEST_TMP/race-bundle" org.supercontainers.mpi.portability.mode mpi_system
bundle_hook "$TEST_TMP/race-bundle" createRuntime --db "$DB" --config "$TEST_TMP/fail.json" hook
mounts=$(mounts_snapshot)
started=0
for i in $(seq 20); do
    runc_run "$TEST_TMP/race-bundle"
    [ "$RUN_RC" -eq 0 ] && started=$((started + 1))
done
touch "$TEST_TMP/stop-race"
wait "$swapper" 2>/dev/null
echo "# race: $started of 20 runs started (the others were refused by bypass)"
assert_eq "$(ls -A "$HOSTDIR")" "" "swap race: nothing written into the host directory"
assert_no_new_mounts "$mounts" "swap race: no mount left on the host"
rm -rf "$HOSTDIR"
finish
