#!/usr/bin/env bash
# The MPI launcher pattern (`mpiexec -n N <runtime> ...`, as sites run Apptainer): Debian 12's
# mpiexec.hydra starts one container per rank, and the ranks of /app/allreduce form one MPI world
# through the injected host MPICH:
#   - runc, one bundle per rank, through bypass-slurm-run (patch-bundle, PMI_FD handed over), the
#     containers sharing the host's IPC namespace and /dev/shm (and network);
#   - the same with bypass opted out: the container's own MPICH 4.2.1;
#   - control: containers with their own IPC namespace and /dev/shm do not form a job;
#   - Charliecloud through bypass-ch-run (ch-run shares all but the mount and user namespaces).
# Every launch has a time limit; containers left by a failure are deleted on exit.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root
for cmd in mpiexec.hydra runc jq; do
    if ! command -v "$cmd" >/dev/null; then
        echo "# SKIP $(basename "$0"): $cmd is not installed (tests/install-deps.sh)"
        exit 0
    fi
done

TRIXIE=$(rootfs_for trixie) || exit 1
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host MPICH"
STATE=$TEST_TMP/runc-state
mkdir -m 0700 "$STATE"
_IT_TRAP=1
# mpiexec.hydra ends a failed job with SIGTERM and, at once, SIGKILL to each rank's process: a
# SIGKILLed `runc run` leaves its container running. Containers of this test are reaped through
# the runtime's state and, should that be gone, through their cgroups (named after the id).
reap() {
    local id d
    for id in $(runc --root "$STATE" list -q 2>/dev/null); do
        runc --root "$STATE" kill "$id" KILL >/dev/null 2>&1 || true
        runc --root "$STATE" delete -f "$id" >/dev/null 2>&1 || true
    done
    for d in /sys/fs/cgroup/*/"it-$$-"* /sys/fs/cgroup/"it-$$-"*; do
        [ -f "$d/cgroup.procs" ] || continue
        xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; sleep 0.2; done
    done
}
left() { # the processes still in this test's containers' cgroups
    cat /sys/fs/cgroup/*/"it-$$-"*/cgroup.procs /sys/fs/cgroup/"it-$$-"*/cgroup.procs 2>/dev/null | sort -u | tr '\n' ' '
}
cleanup() {
    reap
    _it_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# NAME SHARE [ANNOTATION=VALUE]: bundles NAME-0 and NAME-1 (a bundle per rank: each rank's config
# gets its own PMI variables). SHARE=yes: no IPC or network namespace of their own, the host's
# /dev/shm bound over the container's.
rank_bundles() {
    local name=$1 share=$2 ann=${3:-} r
    for r in 0 1; do
        make_bundle "$TRIXIE" "$TEST_TMP/$name-$r" /app/allreduce
        if [ "$share" = yes ]; then
            _it_jq "$TEST_TMP/$name-$r/config.json" '
                .linux.namespaces = [.linux.namespaces[] | select(.type != "ipc" and .type != "network")]
                | .mounts = [.mounts[] | select(.destination != "/dev/shm")]
                    + [{"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "nosuid", "nodev"]}]'
        fi
        if [ -n "$ann" ]; then
            bundle_annotate "$TEST_TMP/$name-$r" "${ann%%=*}" "${ann#*=}"
        fi
    done
}
launch() { # NAME: mpiexec.hydra -n 2, rank R running bypass-slurm-run on bundle NAME-R
    RC=0
    OUT=$(cd "$TEST_TMP" && timeout --kill-after=10 120 mpiexec.hydra -n 2 \
        env W="$REPO/packaging/slurm/bypass-slurm-run" B="$BYPASS" S="$STATE" D="$DB" T="$TEST_TMP/$1" \
        bash -c 'exec "$W" --bypass "$B" --state-root "$S" --db "$D" run "it-'$$'-$PMI_RANK" "$T-$PMI_RANK"' \
        2>"$TEST_TMP/mpiexec.err" </dev/null) || RC=$?
    ERR=$(cat "$TEST_TMP/mpiexec.err")
    [ "$RC" -eq 0 ] || reap
}
ranks_line() {
    printf '%s\n' "$1" | grep '^rank ' | sort | tr '\n' '|'
}
versions() {
    printf '%s\n' "$1" | sed -n 's/^library: MPICH Version:[[:space:]]*\([0-9.]*\).*/\1/p' | sort -u | tr '\n' ' '
}
WORLD="rank 0 of 2: allreduce sum 3 (expected 3)|rank 1 of 2: allreduce sum 3 (expected 3)|"

# --- runc, one container per rank, with bypass ------------------------------------------------------
rank_bundles shared yes
launch shared
assert_eq "$RC" 0 "mpiexec.hydra -n 2 runc: exit 0"
assert_eq "$(ranks_line "$OUT")" "$WORLD" "mpiexec.hydra -n 2 runc: one world of 2, the right sum"
assert_eq "$(versions "$OUT")" "4.0.2 " "mpiexec.hydra -n 2 runc: every rank on the host MPICH 4.0.2"
assert_eq "$(jq -r '.process.env[] | select(startswith("PMI_RANK="))' "$TEST_TMP/shared-1/config.json")" "PMI_RANK=1" \
    "rank 1's bundle got rank 1's PMI variables"
assert_eq "$(runc --root "$STATE" list -q)" "" "no container left behind"

# --- the same, bypass opted out ------------------------------------------------------------------
rank_bundles optout yes org.supercontainers.bypass.enabled=false
launch optout
assert_eq "$(ranks_line "$OUT")" "$WORLD" "mpiexec.hydra -n 2 runc, bypass opted out: one world of 2"
assert_eq "$(versions "$OUT")" "4.2.1 " "mpiexec.hydra -n 2 runc, bypass opted out: the container's own MPICH 4.2.1"

# --- control: each container with its own IPC namespace and /dev/shm ---------------------------------
rank_bundles private no
launch private
reap
assert_eq "$(left)" "" "control: the ranks' containers are gone once reaped"
assert_eq "$([ "$RC" -ne 0 ] && echo failed)" "failed" "control: containers with private IPC and /dev/shm do not run the job"
assert_not_contains "$OUT" "of 2: allreduce sum 3" "control: no rank completes the allreduce"
# (MPICH's reason, "MPIDU_Init_shm_init: unable to allocate shared memory", is on the failing
# rank's stderr; it can be lost when mpiexec kills the other rank's runc first, so it is shown, not asserted.)
printf '%s\n' "$ERR" | grep -m1 -i 'shared memory' | sed 's/^/# control: /' || true

# --- Charliecloud: bypass-ch-run per rank ---------------------------------------------------------
if command -v ch-run >/dev/null; then
    RC=0
    OUT=$(cd "$TEST_TMP" && timeout --kill-after=10 120 mpiexec.hydra -n 2 \
        env BYPASS="$BYPASS" BYPASS_DB="$DB" USER="${USER:-root}" "$REPO/packaging/bypass-ch-run" "$TRIXIE" -- /app/allreduce \
        2>"$TEST_TMP/mpiexec.err" </dev/null) || RC=$?
    assert_eq "$RC" 0 "mpiexec.hydra -n 2 bypass-ch-run: exit 0"
    assert_eq "$(ranks_line "$OUT")" "$WORLD" "mpiexec.hydra -n 2 bypass-ch-run: one world of 2, the right sum"
    assert_eq "$(versions "$OUT")" "4.0.2 " "mpiexec.hydra -n 2 bypass-ch-run: every rank on the host MPICH 4.0.2"
else
    echo "# SKIP Charliecloud: ch-run is not installed (apt-get install charliecloud-runtime)"
fi
finish
