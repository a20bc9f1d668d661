#!/usr/bin/env bash
# Slurm's `srun --container` with bypass (packaging/slurm/): a one-host cluster (own munged,
# slurmctld, two slurmd) started and stopped here; `srun -N 2 -n 2 --mpi=pmi2 --container=BUNDLE
# /app/allreduce` as an ordinary user, rootless runc through bypass-slurm-run:
#   - Debian 13: both ranks in one world ("of 2"), the right sum, on the host's MPICH 4.0.2;
#   - the same job with bypass opted out: the container's own MPICH 4.2.1, still one world;
#   - Slurm's plain runc commands (no wrapper): the ranks come up as singletons (why the wrapper
#     hands the PMI over);
#   - Debian 11: refused, the glibc reason once on srun's stderr, exit 3, the program never ran;
#     and the host library forced in with plain bind mounts really fails there.
# Every srun and runc has a time limit; the cluster and the mounts go away on any exit.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
source "$REPO/tests/lib/slurm-cluster.sh"
need_root
for cmd in slurmctld slurmd srun munged runc jq; do
    if ! command -v "$cmd" >/dev/null; then
        echo "# SKIP $(basename "$0"): $cmd is not installed (tests/install-deps.sh)"
        exit 0
    fi
done

TRIXIE=$(rootfs_for trixie) || exit 1
BULLSEYE=$(rootfs_for bullseye) || exit 1
JOBUSER=bypass-slurm
id "$JOBUSER" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /usr/sbin/nologin "$JOBUSER"
JUID=$(id -u "$JOBUSER")
JGID=$(id -g "$JOBUSER")

# Everything the job user reads lives in one directory outside $TEST_TMP (which is 0700).
W=$(mktemp -d /tmp/bypass-slurm-it.XXXXXX)
chmod 0755 "$W"
BUNDLE_MOUNTS=()
cleanup() {
    if [ -n "${JOBPID:-}" ]; then
        kill -TERM "$JOBPID" 2>/dev/null || true # timeout passes it on to srun
    fi
    slurm_cluster_stop
    local id
    if [ -d "$W/state" ]; then
        for id in $(runc --root "$W/state" list -q 2>/dev/null); do
            runc --root "$W/state" delete -f "$id" >/dev/null 2>&1 || true
        done
    fi
    for m in "${BUNDLE_MOUNTS[@]}"; do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf "$W"
    _it_cleanup
}
_IT_TRAP=1 # common.sh's own EXIT trap would replace this one; cleanup removes $TEST_TMP too
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

DB=$W/db
mkdir -m 0755 "$DB"
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host MPICH"
mkdir -m 0700 "$W/state"
chown "$JUID:$JGID" "$W/state"

# BUNDLE/rootfs must be a directory: slurmstepd points its spool copy of config.json there and
# refuses a link. A read-only bind mount of the cached rootfs serves.
# A rootless bundle as `runc spec --rootless` makes it for the job user. Both "nodes" of this
# cluster are one host, so the ranks' UCX tries shared memory between the two containers: they
# share the host's IPC namespace and /dev/shm (and so lose the /dev/mqueue mount, which a rootless
# container can only make in an IPC namespace of its own). With private ones, MPI_Finalize was
# seen to deadlock about one run in ten (one rank in the PMI barrier, the other spinning in UCX).
bundle() { # NAME ROOTFS ARGS...
    local b=$W/$1 rootfs=$2
    shift 2
    mkdir -p "$b/rootfs"
    mount --bind "$rootfs" "$b/rootfs" && BUNDLE_MOUNTS+=("$b/rootfs")
    mount -o remount,bind,ro "$b/rootfs"
    runc spec --rootless --bundle "$b"
    _it_jq "$b/config.json" --argjson u "$JUID" --argjson g "$JGID" --argjson a "$(jq -n '$ARGS.positional' --args -- "$@")" '
        .linux.uidMappings = [{"containerID": 0, "hostID": $u, "size": 1}]
        | .linux.gidMappings = [{"containerID": 0, "hostID": $g, "size": 1}]
        | .process.terminal = false | .process.args = $a | .root.readonly = true
        | .linux.namespaces = [.linux.namespaces[] | select(.type != "ipc")]
        | .mounts = [.mounts[] | select(.destination != "/dev/shm" and .destination != "/dev/mqueue")]
            + [{"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind", "nosuid", "nodev"]}]'
    chmod 0755 "$b"
    chmod 0644 "$b/config.json"
}
bundle trixie "$TRIXIE" /app/allreduce
bundle trixie-optout "$TRIXIE" /app/allreduce
_it_jq "$W/trixie-optout/config.json" '.annotations["org.supercontainers.bypass.enabled"] = "false"'
bundle bullseye "$BULLSEYE" /app/allreduce

# oci.conf as packaging/slurm/install-slurm.sh writes it, for this checkout.
oci_conf() { # RUNTIME-COMMAND-PREFIX: write $W/cluster/oci.conf
    sed -e "s#@PREFIX@/bin/bypass-slurm-run#$1#" -e "s#@DB@#$DB#g" -e "s#@RUNTIME@#runc#g" \
        "$REPO/packaging/slurm/oci.conf" >"$W/cluster/oci.conf"
    chmod 0644 "$W/cluster/oci.conf"
}
WRAPPER="$REPO/packaging/slurm/bypass-slurm-run --bypass $BYPASS --state-root $W/state"
mkdir -p "$W/cluster"
oci_conf "$WRAPPER"
if ! slurm_cluster_start "$W/cluster" 2>"$TEST_TMP/cluster.err"; then
    not_ok "the one-host cluster starts (munged, slurmctld, slurmd n1 and n2)" "$(cat "$TEST_TMP/cluster.err")"
    finish
    exit 1
fi
ok "the one-host cluster starts (munged, slurmctld, slurmd n1 and n2)"

# srun as the job user, from a directory it can read; stdout and stderr apart. In the background
# and waited for, so that a TERM to the test runs the cleanup at once, not after srun ends.
JOBPID=
job() { # SRUN-ARGS...
    RC=0
    (cd "$W" && exec timeout --kill-after=10 180 runuser -u "$JOBUSER" -- env SLURM_CONF="$SLURM_CONF" \
        srun --time=3 "$@") >"$TEST_TMP/srun.out" 2>"$TEST_TMP/srun.err" </dev/null &
    JOBPID=$!
    wait "$JOBPID" || RC=$?
    JOBPID=
    OUT=$(cat "$TEST_TMP/srun.out")
    ERR=$(cat "$TEST_TMP/srun.err")
}
ranks_line() { # OUTPUT: the rank lines, sorted, joined
    printf '%s\n' "$1" | grep '^rank ' | sort | tr '\n' '|'
}
versions() { # OUTPUT: the distinct MPICH versions the ranks printed
    printf '%s\n' "$1" | sed -n 's/^library: MPICH Version:[[:space:]]*\([0-9.]*\).*/\1/p' | sort -u | tr '\n' ' '
}

# --- Debian 13 under bypass: one MPI world on the host's MPICH -------------------------------------
job -N 2 -n 2 --mpi=pmi2 --container="$W/trixie" /app/allreduce
assert_eq "$RC" 0 "srun --container trixie with bypass: exit 0"
assert_eq "$(ranks_line "$OUT")" "rank 0 of 2: allreduce sum 3 (expected 3)|rank 1 of 2: allreduce sum 3 (expected 3)|" \
    "srun --container trixie with bypass: both ranks in one world of 2, the right sum"
assert_eq "$(versions "$OUT")" "4.0.2 " "srun --container trixie with bypass: every rank on the host MPICH 4.0.2"
assert_not_contains "$OUT" "patched" "bypass' own output stays off the job's stdout"
assert_eq "$(jq -r .root.path "$W/trixie/config.json")" "rootfs" "the submitted bundle is untouched (only slurmstepd's spool copy is patched)"

# --- the same job, bypass opted out: the container's own MPICH, still one world --------------------
job -N 2 -n 2 --mpi=pmi2 --container="$W/trixie-optout" /app/allreduce
assert_eq "$RC" 0 "srun --container trixie, bypass opted out: exit 0"
assert_eq "$(ranks_line "$OUT")" "rank 0 of 2: allreduce sum 3 (expected 3)|rank 1 of 2: allreduce sum 3 (expected 3)|" \
    "srun --container trixie, bypass opted out: one world of 2, the right sum"
assert_eq "$(versions "$OUT")" "4.2.1 " "srun --container trixie, bypass opted out: the container's own MPICH 4.2.1"

# --- Slurm's own runc commands: the PMI never reaches the container ---------------------------------
cat >"$W/cluster/oci.conf" <<CONF
RunTimeQuery="runc --root=$W/state state %n.%u.%j.%s.%t"
RunTimeKill="runc --root=$W/state kill -a %n.%u.%j.%s.%t"
RunTimeDelete="runc --root=$W/state delete --force %n.%u.%j.%s.%t"
RunTimeRun="runc --root=$W/state run %n.%u.%j.%s.%t -b %b"
CONF
job -N 2 -n 2 --mpi=pmi2 --container="$W/trixie-optout" /app/allreduce
assert_eq "$(ranks_line "$OUT")" "rank 0 of 1: allreduce sum 1 (expected 1)|rank 0 of 1: allreduce sum 1 (expected 1)|" \
    "control: with plain runc in oci.conf the ranks are singletons (Slurm 22.05 passes no PMI)"
oci_conf "$WRAPPER"

# --- Debian 11: refused before the container starts ---------------------------------------------------
job -N 2 -n 2 --mpi=pmi2 --container="$W/bullseye" /app/allreduce
assert_eq "$RC" 3 "srun --container bullseye: exit 3"
refusals=$(printf '%s\n' "$ERR" | grep -c '^bypass: refused: host file /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 needs GLIBC_2.34' || true)
assert_eq "$refusals" 2 "srun --container bullseye: the glibc reason on srun's stderr, one line per task"
assert_contains "$ERR" "[glibc-too-old]" "srun --container bullseye: with the finding's code"
assert_eq "$OUT" "" "srun --container bullseye: the program never ran (nothing on stdout)"
assert_eq "$(runc --root "$W/state" list -q 2>/dev/null)" "" "no container left in the runtime's state"

# Ground truth: the host library forced into Debian 11 with plain bind mounts (over the
# container's libmpich, its non-glibc dependencies in a directory on LD_LIBRARY_PATH) does fail.
make_bundle "$BULLSEYE" "$TEST_TMP/forced" /app/allreduce
target=$(readlink -f "$BULLSEYE/usr/lib/x86_64-linux-gnu/libmpich.so.12")
target=/usr/lib/x86_64-linux-gnu/${target##*/}
deps=$(ldd /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 | awk '$3 ~ /^\// { print $3 }' \
    | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux-x86-64)\.so' | jq -Rn '[inputs]')
_it_jq "$TEST_TMP/forced/config.json" --arg t "$target" --argjson deps "$deps" '
    .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
                {"destination": $t, "type": "bind", "source": "/usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2", "options": ["bind", "ro"]}]
      + [$deps[] | {"destination": ("/tmp/forced/" + (split("/") | last)), "type": "bind", "source": ., "options": ["bind", "ro"]}]
    | .process.env += ["LD_LIBRARY_PATH=/tmp/forced"]'
runc_run "$TEST_TMP/forced"
assert_contains "$RUN_OUT" "GLIBC_2.34' not found" "control: the host MPICH forced into bullseye fails to load (what bypass refused)"
assert_not_contains "$RUN_OUT" "allreduce sum" "control: and the program never gets to MPI"

# --- the wrapper on bad input -------------------------------------------------------------------------
capture "$REPO/packaging/slurm/bypass-slurm-run" --bypass "$BYPASS" --state-root "$TEST_TMP/rs" run 'bad id' "$W/trixie"
assert_eq "$RC" 2 "bypass-slurm-run: a container id runc does not take is exit 2"
assert_one_line "$ERR" "bypass-slurm-run: one line"
capture "$REPO/packaging/slurm/bypass-slurm-run" --bypass "$BYPASS" --state-root "$TEST_TMP/rs" run x "$W/nonexistent"
assert_eq "$RC/$ERR" "2/bypass-slurm-run: $W/nonexistent: bundle directory does not exist" "bypass-slurm-run: a missing bundle is exit 2, named"
ln -s /tmp "$W/state-link"
capture "$REPO/packaging/slurm/bypass-slurm-run" --state-root "$W/state-link" state x
assert_eq "$RC" 1 "bypass-slurm-run: a state directory that is a link is refused"

# --- the wrapper's PMI hand-over on its own: a fake runtime prints what it was given -------------
# (a socketpair made by perl-base stands for slurmstepd's pmi2 socket; the job's variables are in
# the bundle's config.json, as slurmstepd writes them)
cat >"$TEST_TMP/fake-runtime" <<'FAKE'
#!/bin/bash
b=
while [ $# -gt 0 ]; do case $1 in --bundle) b=$2; shift 2 ;; *) shift ;; esac; done
echo "fd3=$(readlink /proc/$$/fd/3 | cut -d: -f1) umask=$(umask)"
jq -r '.process.env[] | select(test("^(PMI_|SLURM_PROCID|SLURM_LOCALID|SLURM_NODEID)"))' "$b/config.json" | sort | tr '\n' ' '
FAKE
chmod 0755 "$TEST_TMP/fake-runtime"
pmi_case() { # NODE TASK NODELIST MAPPING NTASKS [SOCKETS]
    local b=$TEST_TMP/pmi-bundle
    mkdir -p "$b"
    jq -n --arg l "$3" --arg m "$4" --arg n "$5" '{ociVersion: "1.0.2", root: {path: "/nonexistent"},
        process: {args: ["/app/allreduce"], env: ["PATH=/bin", "SLURM_JOB_ID=42", "SLURM_STEP_ID=7",
        ("SLURM_STEP_NODELIST=" + $l), ("SLURM_PMI2_PROC_MAPPING=" + $m), ("SLURM_STEP_NUM_TASKS=" + $n)]},
        annotations: {"org.supercontainers.bypass.enabled": "false"}}' >"$b/config.json"
    capture env -u PMI_FD SLURMD_NODENAME="$1" SLURM_MPI_TYPE=pmi2 perl -MSocket -e '
        BEGIN { $^F = 255 } # descriptors perl opens stay open across exec
        my $n = shift; my @keep;
        for (1 .. $n) { socketpair(my $x, my $y, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!"; push @keep, $y; close $x; }
        exec @ARGV or die "exec: $!"' "${6:-1}" \
        "$REPO/packaging/slurm/bypass-slurm-run" --bypass "$BYPASS" --db "$DB" --runtime "$TEST_TMP/fake-runtime" \
        --state-root "$TEST_TMP/rs" run pmi-test "$b" "$2"
}
umask 0022 # the umask the container must get back from the wrapper
pmi_case n2 0 'n[1-2]' '(vector,(0,2,1))' 2
assert_eq "$RC/$OUT" "0/fd3=socket umask=0022
PMI_FD=3 PMI_JOBID=42.7 PMI_RANK=1 PMI_SIZE=2 SLURM_LOCALID=0 SLURM_NODEID=1 SLURM_PROCID=1 " \
    "wrapper: the socket on fd 3, rank 1 on the second of two nodes, the caller's umask"
pmi_case n3 1 'n[1-4]' '(vector,(0,4,2))' 8
assert_contains "$OUT" "PMI_RANK=5 PMI_SIZE=8" "wrapper: block mapping, 2 per node: task 1 of the third node is rank 5"
pmi_case n2 1 'n[1-3]' '(vector,(0,3,1))' 6
assert_contains "$OUT" "PMI_RANK=4 PMI_SIZE=6" "wrapper: cyclic mapping (the blocks repeat): task 1 of the second node is rank 4"
pmi_case n9 0 'n[1-2]' '(vector,(0,2,1))' 2
assert_eq "$RC/$ERR" "1/bypass-slurm-run: node n9 is not in the step's node list n[1-2]" "wrapper: a node not in the step is an error, named"
pmi_case n1 0 'n[1-2]' '(vector,(0,2,1))' 2 2
assert_contains "$RC/$ERR" "1/bypass-slurm-run: srun --mpi=pmi2: expected one PMI socket open in the runtime process, found 2" \
    "wrapper: two candidate sockets are an error, not a guess"

# --- install-slurm.sh writes the wrapper and oci.conf --------------------------------------------------
mkdir -p "$W/inst/etc"
capture "$REPO/packaging/slurm/install-slurm.sh" --prefix "$W/inst" --db /etc/bypass/db --runtime crun --slurm-conf-dir "$W/inst/etc" \
    --enroot-hooks-dir "$W/inst/enroot/hooks.d"
assert_eq "$RC" 0 "install-slurm.sh: exit 0"
assert_eq "$(stat -c '%a %U' "$W/inst/bin/bypass-slurm-run")" "755 root" "install-slurm.sh: the wrapper, root's, 0755"
assert_eq "$(grep -c '^bypass=\|^db=' "$W/inst/enroot/hooks.d/50-bypass.sh")/$(grep -c '@PREFIX@\|@DB@' "$W/inst/enroot/hooks.d/50-bypass.sh")" "2/0" \
    "install-slurm.sh --enroot-hooks-dir: the hook with the prefix and database filled in"
assert_eq "$(sed -n 's/^bypass=//p' "$W/inst/enroot/hooks.d/50-bypass.sh")" "$W/inst/bin/bypass" "install-slurm.sh: the hook runs the installed launcher"
assert_eq "$(grep -c "^RunTime[A-Za-z]*=\"$W/inst/bin/bypass-slurm-run --runtime crun --db /etc/bypass/db " "$W/inst/etc/oci.conf")" 4 \
    "install-slurm.sh: oci.conf names the wrapper, the runtime and the database in all four commands"
assert_eq "$(grep -c '@' "$W/inst/etc/oci.conf")" 0 "install-slurm.sh: no placeholder left"
echo 'RunTimeRun="site"' >"$W/inst/etc/oci.conf"
capture "$REPO/packaging/slurm/install-slurm.sh" --prefix "$W/inst" --slurm-conf-dir "$W/inst/etc"
assert_eq "$RC/$(cat "$W/inst/etc/oci.conf")" '2/RunTimeRun="site"' "install-slurm.sh: a site's own oci.conf is kept without --force"

mkdir -p "$W/inst2/etc"
capture env SLURM_CONF="$W/inst2/etc/slurm.conf" "$REPO/packaging/install.sh" --prefix "$W/inst2" --db "$W/inst2/db" --hooks-dir none --slurm
assert_eq "$RC/$(grep -c "$W/inst2/bin/bypass-slurm-run --runtime runc --db $W/inst2/db " "$W/inst2/etc/oci.conf" 2>/dev/null)" "0/4" \
    "install.sh --slurm: bypass, then the wrapper and an oci.conf with the same prefix and database"
assert_eq "$([ -x "$W/inst2/bin/bypass-slurm-run" ] && [ -x "$W/inst2/bin/bypass" ] && echo both)" "both" "install.sh --slurm: both launchers installed"

finish
