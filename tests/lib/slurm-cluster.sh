# shellcheck shell=bash
# A one-host Slurm cluster for the integration tests: its own munged (own key and socket),
# slurmctld, and two slurmd (-N n1, -N n2: a `--container` step runs one task per node), all
# under one private directory, on ports chosen for this run. Source it after tests/lib/common.sh.
#
#   slurm_cluster_start DIR        writes DIR/slurm.conf (and DIR/oci.conf if DIR/oci.conf.in
#                                  exists: copied as is), starts the daemons, waits until both
#                                  nodes are idle (60 s at most); sets SLURM_CONF (exported) and
#                                  SLURM_DIR. Fails, printing the daemons' logs, if they do not come up.
#   slurm_cluster_stop             stops what slurm_cluster_start started (by the pids it recorded,
#                                  TERM then KILL), cancels leftover jobs first; safe to call twice
#                                  and from an EXIT trap.
#   slurm_logs                     the tail of every daemon log (for a failure's details)
# Needs: munge, slurmctld, slurmd, slurm-client (tests/install-deps.sh), root.

SLURM_PIDS=()
SLURM_DIR=

_slurm_free_port() { # prints a TCP port nothing listens on, in 20000-39999
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

slurm_logs() {
    local f
    for f in "$SLURM_DIR"/log/*.log; do
        [ -f "$f" ] || continue
        echo "== $f"
        tail -n 25 "$f"
    done
}

slurm_cluster_start() { # DIR
    SLURM_DIR=$1
    local host ctld_port p1 p2 d
    host=$(hostname -s)
    mkdir -p "$SLURM_DIR"/{log,ctld,spool-n1,spool-n2,munge}
    chmod 0755 "$SLURM_DIR" "$SLURM_DIR/log"
    # munged: its own key and socket, run as the munge user (it refuses keys others can read).
    chown munge:munge "$SLURM_DIR/munge"
    chmod 0755 "$SLURM_DIR/munge"
    dd if=/dev/urandom of="$SLURM_DIR/munge/munge.key" bs=1024 count=1 status=none
    chown munge:munge "$SLURM_DIR/munge/munge.key"
    chmod 0400 "$SLURM_DIR/munge/munge.key"
    runuser -u munge -- munged --force --socket="$SLURM_DIR/munge/munge.socket" \
        --key-file="$SLURM_DIR/munge/munge.key" --pid-file="$SLURM_DIR/munge/munged.pid" \
        --log-file="$SLURM_DIR/munge/munged.log" --seed-file="$SLURM_DIR/munge/munged.seed" \
        >"$SLURM_DIR/log/munged-start.log" 2>&1 || { cat "$SLURM_DIR/log/munged-start.log" >&2; return 1; }
    for _ in $(seq 1 50); do
        [ -s "$SLURM_DIR/munge/munged.pid" ] && [ -S "$SLURM_DIR/munge/munge.socket" ] && break
        sleep 0.1
    done
    [ -s "$SLURM_DIR/munge/munged.pid" ] || { echo "munged did not start" >&2; return 1; }
    SLURM_PIDS+=("$(cat "$SLURM_DIR/munge/munged.pid")")

    ctld_port=$(_slurm_free_port) && p1=$(_slurm_free_port) && p2=$(_slurm_free_port) || return 1
    while [ "$p2" = "$p1" ] || [ "$p2" = "$ctld_port" ] || [ "$p1" = "$ctld_port" ]; do
        p1=$(_slurm_free_port) && p2=$(_slurm_free_port) || return 1
    done
    cat >"$SLURM_DIR/slurm.conf" <<CONF
ClusterName=bypassit
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge/munge.socket
StateSaveLocation=$SLURM_DIR/ctld
SlurmdSpoolDir=$SLURM_DIR/spool-%n
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd-%n.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmdParameters=config_overrides
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=5
PlugStackConfig=$SLURM_DIR/plugstack.conf
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$p1 CPUs=1 State=UNKNOWN
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=$p2 CPUs=1 State=UNKNOWN
PartitionName=it Nodes=n1,n2 Default=YES MaxTime=10 State=UP
CONF
    : >"$SLURM_DIR/plugstack.conf"
    if [ -f "$SLURM_DIR/oci.conf.in" ]; then
        cp "$SLURM_DIR/oci.conf.in" "$SLURM_DIR/oci.conf"
    fi
    chmod 0644 "$SLURM_DIR"/*.conf
    export SLURM_CONF=$SLURM_DIR/slurm.conf

    slurmctld -c -f "$SLURM_CONF" >"$SLURM_DIR/log/slurmctld-start.log" 2>&1 || { slurm_logs >&2; return 1; }
    for n in n1 n2; do
        slurmd -N "$n" -f "$SLURM_CONF" >"$SLURM_DIR/log/slurmd-$n-start.log" 2>&1 || { slurm_logs >&2; return 1; }
    done
    for _ in $(seq 1 50); do
        [ -s "$SLURM_DIR/slurmctld.pid" ] && [ -s "$SLURM_DIR/slurmd-n1.pid" ] && [ -s "$SLURM_DIR/slurmd-n2.pid" ] && break
        sleep 0.2
    done
    for d in slurmctld slurmd-n1 slurmd-n2; do
        [ -s "$SLURM_DIR/$d.pid" ] || { echo "$d did not start" >&2; slurm_logs >&2; return 1; }
        SLURM_PIDS+=("$(cat "$SLURM_DIR/$d.pid")")
    done
    for _ in $(seq 1 120); do
        if [ "$(timeout 10 sinfo -h -N -o '%N %t' 2>/dev/null | sort | tr '\n' ' ')" = "n1 idle n2 idle " ]; then
            return 0
        fi
        sleep 0.5
    done
    echo "the nodes did not become idle: $(timeout 10 sinfo -N 2>&1)" >&2
    slurm_logs >&2
    return 1
}

slurm_cluster_stop() {
    local pid
    if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
        timeout 10 scancel --full --quiet -u "$(id -un)" >/dev/null 2>&1 || true
        timeout 10 scancel --quiet --state=RUNNING >/dev/null 2>&1 || true
    fi
    # Daemons first, munged last (slurmd talks to it while it shuts down).
    for ((i = ${#SLURM_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${SLURM_PIDS[i]}
        kill -TERM "$pid" 2>/dev/null || true
    done
    for _ in $(seq 1 50); do
        local alive=no
        for pid in "${SLURM_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=yes
        done
        [ "$alive" = no ] && break
        sleep 0.2
    done
    for pid in "${SLURM_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    # slurmstepd processes of this cluster, if a step hung: they inherit slurmd's environment,
    # which names this cluster's slurm.conf.
    for pid in $(pgrep -x slurmstepd 2>/dev/null || true); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_DIR/slurm.conf"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    SLURM_PIDS=()
}
