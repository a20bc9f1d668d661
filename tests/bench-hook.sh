#!/usr/bin/env bash
# Hook latency benchmark: `runc run` of the same Debian 13 MPI container (a) with no hook, (b) with
# the bypass hook having nothing to do (the container opts out with
# org.supercontainers.bypass.enabled=false), (c) with the hook injecting the host MPICH bundle.
# Prints the median and quartiles of each, the hook's cost (median minus the bare median) and the
# ratio to the bare run. Run as root:
#   tests/bench-hook.sh [RUNS]        (default 30 runs per case, after 3 warm-up runs)
# The launcher used is this checkout's hook/bypass (with target/bypass.jsa when built), or
# $BYPASS_LAUNCHER (e.g. /usr/local/bin/bypass after packaging/install.sh).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_root
runs=${1:-30}
launcher=${BYPASS_LAUNCHER:-$BYPASS}

TRIXIE=$(rootfs_for trixie)
DB=$(new_db)
"$launcher" --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null

make_bundle "$TRIXIE" "$TEST_TMP/bare" /app/mpi_hello
make_bundle "$TRIXIE" "$TEST_TMP/idle" /app/mpi_hello
bundle_annotate "$TEST_TMP/idle" org.supercontainers.bypass.enabled false
make_bundle "$TRIXIE" "$TEST_TMP/inject" /app/mpi_hello
for b in idle inject; do
    jq --arg p "$launcher" --arg db "$DB" \
        '.hooks.createRuntime = [{"path": $p, "args": ["bypass", "--db", $db, "hook"]}]' \
        "$TEST_TMP/$b/config.json" > "$TEST_TMP/$b/c.json" && mv "$TEST_TMP/$b/c.json" "$TEST_TMP/$b/config.json"
done

# One timed `runc run`, in milliseconds; the container's output is checked so a broken run is not timed.
time_run() {
    local bundle=$1 want=$2 id=bench-$$-$RANDOM start end out
    start=$(date +%s%N)
    out=$(cd "$bundle" && runc run "$id" 2>&1) || { echo "bench-hook.sh: run failed: $out" >&2; exit 1; }
    end=$(date +%s%N)
    runc delete -f "$id" >/dev/null 2>&1 || true
    [ "$(mpich_version "$out")" = "$want" ] || { echo "bench-hook.sh: expected MPICH $want, got: $out" >&2; exit 1; }
    echo $(( (end - start) / 1000 ))
}

stats() { # prints "median q1 q3" in ms from microsecond samples on stdin
    sort -n | awk '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.1f %.1f %.1f\n", m / 1000, a[int((NR + 3) / 4)] / 1000, a[int((3 * NR + 3) / 4)] / 1000 }'
}

declare -A median
printf '%-34s %8s %8s %8s\n' "case ($runs runs)" "median" "q1" "q3"
for case in bare:4.2.1 idle:4.2.1 inject:4.0.2; do
    name=${case%%:*} want=${case#*:}
    for _ in 1 2 3; do time_run "$TEST_TMP/$name" "$want" >/dev/null; done
    samples=$(for _ in $(seq "$runs"); do time_run "$TEST_TMP/$name" "$want"; done)
    read -r m q1 q3 < <(printf '%s\n' "$samples" | stats)
    median[$name]=$m
    label=$(case $name in bare) echo "runc run, no hook" ;; idle) echo "hook, nothing to do" ;; inject) echo "hook, injecting host MPICH" ;; esac)
    printf '%-34s %7.1fms %7.1fms %7.1fms\n' "$label" "$m" "$q1" "$q3"
done
for name in idle inject; do
    awk -v b="${median[bare]}" -v h="${median[$name]}" -v n="$name" \
        'BEGIN { printf "%-34s %7.1fms  (x%.2f of the bare run)\n", "hook cost, " n, h - b, h / b }'
done
jvm=$(dirname "$(readlink -f "$launcher")")/../lib/bypass/java
jvm=$( [ -f "$jvm" ] && cat "$jvm" || command -v java)
echo "# $(nproc) CPUs, $(uname -r), launcher $launcher on $("$jvm" -version 2>&1 | head -1), runc $(runc --version | head -1 | awk '{print $3}')"
