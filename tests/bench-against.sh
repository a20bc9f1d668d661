#!/usr/bin/env bash
# The hook's latency against an earlier build (issue 10: "does not grow by more than 5%"), from one
# interleaved run. Builds REV (default 44fc832, the build before the second wave: no decision
# cache, reading the container by path) in a temporary worktree, registers the MPICH example
# bundle with each build's own launcher, and times round-robin:
#   before         REV's hook injecting the host MPICH (`runc create` of the Debian 13 MPI container)
#   before-idle    REV's hook, the container opted out
#   cold           this checkout's hook injecting, decision cache off (the same work as REV's)
#   warm           this checkout's hook injecting, decision cache on and holding the entry (the default)
#   idle           this checkout's hook, the container opted out
#   check-before   REV's `bypass check` of the same image
#   check          this checkout's `bypass check`
# Prints medians and quartiles and the change against REV.
#
#   tests/bench-against.sh [--runs N] [REV]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/bench.sh"
need_root

runs=15 rev=44fc832
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=${2:?}; shift 2 ;;
        -*) echo "usage: bench-against.sh [--runs N] [REV]" >&2; exit 2 ;;
        *) rev=$1; shift ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench-against.sh: --runs needs a positive number" >&2; exit 2; }
_it_tmp
chmod 755 "$TEST_TMP"

# ---------------------------------------------------------------- REV, built in a worktree
old=$TEST_TMP/rev
git -C "$REPO" worktree add --detach "$old" "$rev" >/dev/null 2>&1 \
    || { echo "bench-against.sh: cannot check out $rev" >&2; exit 2; }
trap 'git -C "$REPO" worktree remove --force "$old" >/dev/null 2>&1 || true; _it_cleanup' EXIT
echo "# building $rev in $old"
(cd "$old" && mvn -o -q -B package -DskipTests >"$TEST_TMP/build.log" 2>&1) \
    || { tail -20 "$TEST_TMP/build.log" >&2; echo "bench-against.sh: $rev does not build" >&2; exit 1; }

TRIXIE=$(rootfs_for trixie)
DB_OLD=$(new_db) DB_NEW=$(new_db)
"$old/hook/bypass" --db "$DB_OLD" db register "$old/compat-db/examples/host-mpich.json" >/dev/null
"$BYPASS" --db "$DB_NEW" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null
CACHE=$TEST_TMP/cache
mkdir -m 0700 "$CACHE"

# NAME LAUNCHER DB OPT-OUT ENV...: a bundle whose createRuntime hook is LAUNCHER.
bundle() {
    local name=$1 launcher=$2 db=$3 optout=$4
    shift 4
    make_bundle "$TRIXIE" "$TEST_TMP/$name" /app/mpi_hello >/dev/null
    local env
    env=$(jq -n '$ARGS.positional' --args -- "$@")
    _it_jq "$TEST_TMP/$name/config.json" --arg p "$launcher" --arg db "$db" --argjson env "$env" \
        '.hooks.createRuntime = [{"path": $p, "args": ["bypass", "--db", $db, "hook"], "env": $env}]'
    [ "$optout" = yes ] && bundle_annotate "$TEST_TMP/$name" org.supercontainers.bypass.enabled false
    return 0
}
bundle before "$old/hook/bypass" "$DB_OLD" no
bundle before-idle "$old/hook/bypass" "$DB_OLD" yes
bundle cold "$BYPASS" "$DB_NEW" no BYPASS_CACHE=off
bundle warm "$BYPASS" "$DB_NEW" no "BYPASS_CACHE=$CACHE"
bundle idle "$BYPASS" "$DB_NEW" yes

check() { # LAUNCHER DB: microseconds of one check of the image
    local s e
    s=$(date +%s%N)
    "$1" --db "$2" check --rootfs "$TRIXIE" --exec /app/mpi_hello >/dev/null
    e=$(date +%s%N)
    echo $(((e - s) / 1000))
}
verdicts=$(printf '%s\n%s\n' "$("$old/hook/bypass" --db "$DB_OLD" check --rootfs "$TRIXIE" --exec /app/mpi_hello | head -1)" \
    "$("$BYPASS" --db "$DB_NEW" check --rootfs "$TRIXIE" --exec /app/mpi_hello | head -1)")
echo "# verdicts (before, now): $(echo $verdicts)"
[ "$(echo "$verdicts" | sort -u | wc -l)" -eq 1 ] || { echo "bench-against.sh: the two builds decide differently" >&2; exit 1; }

cases=(before before-idle cold warm idle check-before check)
declare -A times
time_create "$TEST_TMP/warm" >/dev/null   # the entry the warm runs hit
for round in $(seq -2 "$runs"); do
    for c in "${cases[@]}"; do
        case $c in
            check-before) t=$(check "$old/hook/bypass" "$DB_OLD") ;;
            check) t=$(check "$BYPASS" "$DB_NEW") ;;
            *) t=$(time_create "$TEST_TMP/$c") ;;
        esac
        [ "$round" -ge 1 ] && times[$c]+="$t "
    done
done

declare -A med
echo "# $runs interleaved rounds (after 3 warm-up rounds), $(nproc) CPUs, $(runc --version | head -1)"
for c in "${cases[@]}"; do
    read -r m q1 q3 <<< "$(tr ' ' '\n' <<< "${times[$c]}" | grep . | stats)"
    med[$c]=$m
    printf '%-14s %6s ms  (quartiles %s-%s)\n' "$c" "$m" "$q1" "$q3"
done
change() { awk -v a="$2" -v b="$3" -v l="$1" 'BEGIN { printf "%-44s %+.1f %%\n", l, (a - b) * 100 / b }'; }
change "hook injecting, cache off, against $rev" "${med[cold]}" "${med[before]}"
change "hook injecting, cache warm, against $rev" "${med[warm]}" "${med[before]}"
change "hook with nothing to do, against $rev" "${med[idle]}" "${med[before-idle]}"
change "check, against $rev" "${med[check]}" "${med[check-before]}"
