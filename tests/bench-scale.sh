#!/usr/bin/env bash
# How the hook's cost grows with the number of files in a bundle: a generic bundle of N small
# libraries (built from C here, each with its own soname) injected into a Debian 13 container
# without them (so every file is added to /opt/bypass/lib and the loader cache is regenerated),
# for N = 10, 100, 1000; median of `runc run` with the hook, minus a bare run.
#   tests/bench-scale.sh [RUNS]      (default 10)
# BYPASS_LAUNCHER as in bench-hook.sh.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_root
runs=${1:-10}
launcher=${BYPASS_LAUNCHER:-$BYPASS}
NOMPI=$(rootfs_for trixie-nompi)
_it_tmp
chmod 755 "$TEST_TMP"
libs=$TEST_TMP/libs
mkdir -p "$libs"
printf 'int scale_fn(void) { return 1; }\n' > "$TEST_TMP/s.c"
gcc -O1 -fPIC -c -o "$TEST_TMP/s.o" "$TEST_TMP/s.c"
seq 1000 | xargs -P "$(nproc)" -I{} gcc -shared -Wl,-soname,libscale{}.so.1 -o "$libs/libscale{}.so.1" "$TEST_TMP/s.o"

time_run() { # BUNDLE -> ms
    local id=scale-$$-$RANDOM start end
    start=$(date +%s%N)
    (cd "$1" && runc run "$id" >/dev/null 2>&1) || { echo "bench-scale.sh: run failed" >&2; exit 1; }
    end=$(date +%s%N)
    runc delete -f "$id" >/dev/null 2>&1 || true
    echo $(( (end - start) / 1000 ))
}
median() { sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'; }

make_bundle "$NOMPI" "$TEST_TMP/bare" /bin/true
bare=$(for _ in $(seq "$runs"); do time_run "$TEST_TMP/bare"; done | median)
printf '%-8s %10s %12s\n' files "median" "hook cost"
printf '%-8s %8sms %12s\n' 0 "$bare" "-"
for n in 10 100 1000; do
    db=$(new_db)
    printf '{"name": "scale%s", "kind": "generic", "libraries": ["%s/libscale*.so.1"], "dependencies": "none", "activation": {"always": true}}\n' \
        "$n" "$libs" > "$TEST_TMP/d$n.json"
    rm -rf "$libs.$n" && mkdir -p "$libs.$n" && for i in $(seq "$n"); do ln "$libs/libscale$i.so.1" "$libs.$n/"; done
    sed -i "s#$libs/#$libs.$n/#" "$TEST_TMP/d$n.json"
    "$launcher" --db "$db" db register "$TEST_TMP/d$n.json" >/dev/null
    make_bundle "$NOMPI" "$TEST_TMP/b$n" /bin/true
    jq --arg p "$launcher" --arg db "$db" '.hooks.createRuntime = [{"path": $p, "args": ["bypass", "--db", $db, "hook"]}]' \
        "$TEST_TMP/b$n/config.json" > "$TEST_TMP/c.json" && mv "$TEST_TMP/c.json" "$TEST_TMP/b$n/config.json"
    time_run "$TEST_TMP/b$n" >/dev/null
    m=$(for _ in $(seq "$runs"); do time_run "$TEST_TMP/b$n"; done | median)
    printf '%-8s %8sms %10.1fms\n' "$n" "$m" "$(echo "$m - $bare" | bc)"
done
