#!/usr/bin/env bash
# Hook cost benchmark (issue 12), from one interleaved run. Times `runc create` of the Debian 13
# MPI container (createRuntime hooks run, the program does not), round-robin over the cases so a
# change in the machine's load hits them all alike:
#   bare          no hook
#   floor         the JVM floor: the same JVM, flags and kind of class-data archive as hook/bypass,
#                 running a class that only reads its stdin (tests/bench/FloorHook.java, built here)
#   inject-cold   bypass injecting the host MPICH, decision cache emptied just before
#   inject-warm   the same, right after: the entry the cold run wrote is there
#   idle          bypass with nothing to do (the container opts out)
# then N containers (default 64) created at once, each on its own overlay mount of one image
# (lower = the cached trixie rootfs, made by this script), with no hook, the floor hook and bypass
# (cache emptied first: the ranks of one job starting together): wall time until every
# `runc create` has returned, and the CPU seconds of runc plus its hooks (from wait4's rusage,
# /usr/bin/time), of which the hooks' share is the difference to the no-hook burst.
# Prints medians and quartiles, and the ratios against the issue's targets:
#   warm: own work <= 0.5 x floor cost; cold: <= 1.0 x; idle: <= 0.1 x;
#   burst: bypass' added wall time <= 1.5 x the floor hook's; peak RSS <= 64 MiB
# ("floor cost" = floor - bare; "own work" = bypass - floor).
#
#   tests/bench-hook.sh [--runs N] [--burst N] [--burst-rounds N] [--cache DIR] [--no-burst]
#     --runs N     timed rounds (default 15), after 2 warm-up rounds
#     --burst N    containers of the burst (default 64; 0 or --no-burst: none)
#     --burst-rounds N  interleaved rounds of the three bursts (default 3), after one warm-up
#                  burst of each: one burst pair moved by 0.3 x from run to run on 2 CPUs
#     --wait MS    how long a rank waits for another's entry (BYPASS_CACHE_WAIT_MS in the hook's
#                  env; default: bypass' own)
#     --cache DIR  the decision cache bypass uses (default /var/cache/bypass/decisions); it is
#                  handed to the hook as BYPASS_CACHE in the hook's env, and emptied (its
#                  entries/ only) before each cold run and each bypass burst
# The launcher is this checkout's hook/bypass (target/bypass.jar with target/bypass.jsa or .aot),
# or $BYPASS_LAUNCHER (e.g. /usr/local/bin/bypass after packaging/install.sh). Its JVM is the one
# the launcher picks: lib/bypass/java when installed, else $BYPASS_JAVA, else JDK 17; the floor
# hook uses the same one. bypass reads the cache through io.bypass.cache.CachedDecision (docs/cache.md):
# the warm case is a hit (no database read, no ELF parsing; files re-statted and re-hashed).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/bench.sh"
need_root

runs=15 burst=64 burst_rounds=3 cache=/var/cache/bypass/decisions wait=
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=${2:?}; shift 2 ;;
        --burst) burst=${2:?}; shift 2 ;;
        --no-burst) burst=0; shift ;;
        --burst-rounds) burst_rounds=${2:?}; shift 2 ;;
        --cache) cache=${2:?}; shift 2 ;;
        --wait) wait=${2:?}; shift 2 ;;
        [0-9]*) runs=$1; shift ;;   # the old form: bench-hook.sh RUNS
        *) echo "usage: bench-hook.sh [--runs N] [--burst N] [--burst-rounds N] [--cache DIR] [--wait MS] [--no-burst]" >&2; exit 2 ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench-hook.sh: --runs needs a positive number" >&2; exit 2; }
[[ "$burst" =~ ^[0-9]+$ ]] || { echo "bench-hook.sh: --burst needs a number" >&2; exit 2; }
[[ "$burst_rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench-hook.sh: --burst-rounds needs a positive number" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-hook.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
launcher=${BYPASS_LAUNCHER:-$BYPASS}
_it_tmp

# ---------------------------------------------------------------- the JVM and archive of the launcher
self=$(readlink -f "$launcher")
here=${self%/*}
if [ -f "$here/../lib/bypass/bypass.jar" ]; then lib=${here%/*}/lib/bypass; else lib=${here%/*}/target; fi
java=""
[ -f "$lib/java" ] && read -r java < "$lib/java"
[ -n "$java" ] && [ -x "$java" ] || java=${BYPASS_JAVA:-}
if [ -z "$java" ] || [ ! -x "$java" ]; then
    for c in /usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/default-java/bin/java /usr/bin/java; do
        [ -x "$c" ] && { java=$c; break; }
    done
fi
javac=${java%/java}/javac
[ -x "$javac" ] || javac=/usr/lib/jvm/java-17-openjdk-amd64/bin/javac
archive=none
if [ -f "$lib/bypass.aot" ]; then archive=aot; elif [ -f "$lib/bypass.jsa" ]; then archive=jsa; fi

# ---------------------------------------------------------------- the floor hook
FLOOR=$TEST_TMP/floor
mkdir -p "$FLOOR/classes"
"$javac" --release 17 -d "$FLOOR/classes" "$REPO/tests/bench/FloorHook.java"
(cd "$FLOOR/classes" && "${javac%/javac}/jar" cf "$FLOOR/floor.jar" FloorHook.class 2>/dev/null) \
    || (cd "$FLOOR/classes" && /usr/lib/jvm/java-17-openjdk-amd64/bin/jar cf "$FLOOR/floor.jar" FloorHook.class)
thp=
read -r thp_modes < /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true
case ${thp_modes:-} in *"[madvise]"*|*"[always]"*) thp=-XX:+UseTransparentHugePages ;; esac
flags="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmn8m $thp -XX:-UsePerfData -Xss1m -Dsun.reflect.inflationThreshold=2147483647"
case $archive in
    aot) echo '{}' | "$java" -XX:AOTCacheOutput="$FLOOR/floor.aot" $flags -cp "$FLOOR/floor.jar" FloorHook >/dev/null 2>&1
         share="-XX:AOTCache=$FLOOR/floor.aot" ;;
    jsa) echo '{}' | "$java" -XX:ArchiveClassesAtExit="$FLOOR/floor.jsa" $flags -cp "$FLOOR/floor.jar" FloorHook >/dev/null 2>&1
         share="-Xshare:auto -XX:SharedArchiveFile=$FLOOR/floor.jsa" ;;
    *) share="" ;;
esac
# A /bin/sh launcher like hook/bypass (the shell's start is part of the floor too).
cat > "$FLOOR/floor-hook" <<EOF
#!/bin/sh
exec "$java" $share $flags -cp "$FLOOR/floor.jar" FloorHook
EOF
chmod 0755 "$FLOOR/floor-hook"
echo '{"pid": 1}' | "$FLOOR/floor-hook" || { echo "bench-hook.sh: the floor hook does not run" >&2; exit 1; }

# ---------------------------------------------------------------- bundles
TRIXIE=$(rootfs_for trixie)
DB=$(new_db)
"$launcher" --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null
mkdir -p -m 0700 "$(dirname "$cache")" 2>/dev/null || true
clear_cache() { rm -rf "${cache:?}/entries"; }

# hook_json KIND: the createRuntime hook list for a case
hook_json() {
    case $1 in
        none) echo '[]' ;;
        floor) jq -n --arg p "$FLOOR/floor-hook" '[{"path": $p, "args": ["floor-hook"]}]' ;;
        bypass) jq -n --arg p "$launcher" --arg db "$DB" --arg c "BYPASS_CACHE=$cache" --arg w "$wait" \
            '[{"path": $p, "args": ["bypass", "--db", $db, "hook"], "env": ([$c] + (if $w == "" then [] else ["BYPASS_CACHE_WAIT_MS=" + $w] end))}]' ;;
    esac
}
set_hooks() { # DIR KIND
    _it_jq "$1/config.json" --argjson h "$(hook_json "$2")" '.hooks.createRuntime = $h'
}
for c in bare floor inject idle; do
    make_bundle "$TRIXIE" "$TEST_TMP/$c" /app/mpi_hello
done
set_hooks "$TEST_TMP/floor" floor
set_hooks "$TEST_TMP/inject" bypass
set_hooks "$TEST_TMP/idle" bypass
bundle_annotate "$TEST_TMP/idle" org.supercontainers.bypass.enabled false

# Each bundle runs once for real first: a broken case is never timed.
for c in bare:4.2.1 floor:4.2.1 inject:4.0.2 idle:4.2.1; do
    runc_run "$TEST_TMP/${c%%:*}"
    got=$(mpich_version "$RUN_OUT")
    [ "$RUN_RC" = 0 ] && [ "$got" = "${c#*:}" ] \
        || { echo "bench-hook.sh: case ${c%%:*}: expected MPICH ${c#*:}, got rc $RUN_RC: $RUN_OUT" >&2; exit 1; }
done

cases=(bare floor inject-cold inject-warm idle)
declare -A samples rss
for round in $(seq -2 "$runs"); do
    for c in "${cases[@]}"; do
        case $c in
            inject-cold) clear_cache; b=inject ;;
            inject-warm) b=inject ;;
            *) b=$c ;;
        esac
        us=$(time_create "$TEST_TMP/$b" "$TEST_TMP/t")
        if [ "$round" -gt 0 ]; then
            samples[$c]+="$us "
            read -r _ _ _ m < "$TEST_TMP/t"
            [ "${rss[$c]:-0}" -ge "$m" ] || rss[$c]=$m
        fi
    done
done

declare -A med
printf '%-44s %9s %9s %9s %9s\n' "case ($runs interleaved rounds, runc create)" median q1 q3 "peak RSS"
for c in "${cases[@]}"; do
    read -r m q1 q3 < <(tr ' ' '\n' <<<"${samples[$c]}" | grep . | stats)
    med[$c]=$m
    printf '%-44s %7.1fms %7.1fms %7.1fms %6dMiB\n' "$c" "$m" "$q1" "$q3" $(( rss[$c] / 1024 ))
done

ratio() { # LABEL VALUE FLOORCOST TARGET
    awk -v l="$1" -v v="$2" -v f="$3" -v t="$4" 'BEGIN {
        r = (f > 0) ? v / f : 0
        printf "%-44s %7.1fms  = %.2f x floor cost (target <= %s: %s)\n", l, v, r, t, (f > 0 && r <= t) ? "met" : "NOT met" }'
}
floorcost=$(awk -v a="${med[floor]}" -v b="${med[bare]}" 'BEGIN { print a - b }')
printf '%-44s %7.1fms\n' "floor cost (floor - bare)" "$floorcost"
ratio "own work, injecting, warm cache" "$(awk -v a="${med[inject-warm]}" -v b="${med[floor]}" 'BEGIN { print a - b }')" "$floorcost" 0.5
ratio "own work, injecting, cold cache" "$(awk -v a="${med[inject-cold]}" -v b="${med[floor]}" 'BEGIN { print a - b }')" "$floorcost" 1.0
ratio "own work, nothing to do" "$(awk -v a="${med[idle]}" -v b="${med[floor]}" 'BEGIN { print a - b }')" "$floorcost" 0.1
# Peak RSS is the largest process of runc create and its hooks (wait4's ru_maxrss of children).
awk -v r="${rss[inject-cold]}" -v w="${rss[inject-warm]}" 'BEGIN { m = (r > w ? r : w) / 1024
    printf "%-44s %7.1fMiB (target <= 64 MiB: %s)\n", "peak RSS, injecting (largest process)", m, m <= 64 ? "met" : "NOT met" }'

# ---------------------------------------------------------------- N at once on overlays of one image
if [ "$burst" -gt 0 ]; then
    OV=$TEST_TMP/ov
    mkdir -p "$OV"
    # Removes the scratch directory only once no overlay is mounted in it any more.
    unmount_all() {
        local d left=0
        for d in "$OV"/*/merged; do
            if mountpoint -q "$d" 2>/dev/null; then
                umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null || left=1
            fi
        done
        [ "$left" = 0 ] && rm -rf "$TEST_TMP"
        return 0
    }
    trap unmount_all EXIT
    for i in $(seq "$burst"); do
        mkdir -p "$OV/$i/upper" "$OV/$i/work" "$OV/$i/merged"
        mount -t overlay overlay -o "lowerdir=$TRIXIE,upperdir=$OV/$i/upper,workdir=$OV/$i/work" "$OV/$i/merged"
        make_bundle "$OV/$i/merged" "$OV/$i/b" /app/mpi_hello
    done
    # One container of the overlays, for real, injected: the bundles are right.
    set_hooks "$OV/1/b" bypass
    runc_run "$OV/1/b"
    [ "$(mpich_version "$RUN_OUT")" = 4.0.2 ] || { echo "bench-hook.sh: overlay container not injected: $RUN_OUT" >&2; exit 1; }

    burst_once() { # KIND: prints "wall_ms cpu_s maxrss_kb"
        local kind=$1 i start end pids=()
        for i in $(seq "$burst"); do set_hooks "$OV/$i/b" "$kind"; done
        [ "$kind" = bypass ] && clear_cache
        start=$(date +%s%N)
        for i in $(seq "$burst"); do
            /usr/bin/time -f '%e %U %S %M' -o "$OV/$i/t" runc create --bundle "$OV/$i/b" "burst-$$-$i" \
                </dev/null >/dev/null 2>"$OV/$i/err" &
            pids+=($!)
        done
        local failed=0
        for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
        end=$(date +%s%N)
        for i in $(seq "$burst"); do runc delete -f "burst-$$-$i" >/dev/null 2>&1 || true; done
        [ "$failed" = 0 ] || { echo "bench-hook.sh: $failed of $burst creates failed ($kind): $(cat "$OV"/*/err | sort | uniq -c | head -3)" >&2; exit 1; }
        cat "$OV"/*/t | awk -v w=$(( (end - start) / 1000000 )) '
            { cpu += $2 + $3; if ($4 > m) m = $4 } END { printf "%d %.2f %d\n", w, cpu, m }'
    }
    # A warm-up burst of each, then --burst-rounds interleaved rounds of the three; one line per
    # round ("kind wall_ms cpu_s maxrss_kb"), medians over the rounds below. The ratio is each
    # round's own (its three bursts ran back to back), then their median.
    BR=$TEST_TMP/burst-rounds
    for kind in none floor bypass; do burst_once "$kind" >/dev/null; done
    for r in $(seq "$burst_rounds"); do
        for kind in none floor bypass; do echo "$r $kind $(burst_once "$kind")"; done
    done > "$BR"
    echo
    printf '%-44s %9s %12s %12s %9s\n' "$burst containers at once ($burst_rounds rounds, medians)" wall "CPU (all)" "hook CPU" "peak RSS"
    # per_round KIND: "wall_ms cpu_s hook_cpu_s maxrss_kb" of each round, the hook's CPU being
    # the difference to that round's no-hook burst
    per_round() {
        awk -v k="$1" '{ w[$1, $2] = $3; c[$1, $2] = $4; m[$1, $2] = $5; if ($1 > n) n = $1 }
            END { for (r = 1; r <= n; r++) print w[r, k], c[r, k], c[r, k] - c[r, "none"], m[r, k] }' "$BR"
    }
    for kind in none floor bypass; do
        rows=$(per_round "$kind")
        printf '%-44s %7.0fms %11.2fs %11.2fs %6dMiB\n' "hook: $kind" "$(cut -d' ' -f1 <<<"$rows" | median)" \
            "$(cut -d' ' -f2 <<<"$rows" | median)" "$(cut -d' ' -f3 <<<"$rows" | median)" \
            "$(cut -d' ' -f4 <<<"$rows" | median | awk '{ printf "%d", $1 / 1024 }')"
    done
    # Each round's added wall times and their ratio (its three bursts ran back to back).
    added=$(paste -d' ' <(per_round none) <(per_round floor) <(per_round bypass) \
        | awk '{ fa = $5 - $1; ba = $9 - $1; print ba, fa, (fa > 0) ? ba / fa : 0 }')
    ratios=$(cut -d' ' -f3 <<<"$added" | sort -g)
    awk -v ba="$(cut -d' ' -f1 <<<"$added" | median)" -v fa="$(cut -d' ' -f2 <<<"$added" | median)" \
        -v r="$(median <<<"$ratios")" -v lo="$(head -n 1 <<<"$ratios")" -v hi="$(tail -n 1 <<<"$ratios")" 'BEGIN {
        printf "%-44s %7dms  = %.2f x the floor hook'"'"'s %dms (rounds: %.2f-%.2f x; target <= 1.5: %s)\n",
            "bypass added wall time", ba, r, fa, lo, hi, (r > 0 && r <= 1.5) ? "met" : "NOT met" }'
fi
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r), launcher $launcher ($archive archive) on $("$java" -version 2>&1 | head -1), runc $(runc --version | head -1 | awk '{print $3}'), cache $cache"
