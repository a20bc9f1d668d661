# Timing helpers the benchmarks share (tests/bench-hook.sh, tests/bench-against.sh); sourced after
# common.sh.

# One timed `runc create` (then an untimed delete), in microseconds on stdout. With STATSFILE, it
# runs under /usr/bin/time, which writes "wall user sys maxrss_kb" there.
time_create() { # BUNDLE [STATSFILE]
    local id=bench-$$-$RANDOM start end
    local -a timer=()
    [ -n "${2:-}" ] && timer=(/usr/bin/time -f '%e %U %S %M' -o "$2")
    start=$(date +%s%N)
    "${timer[@]}" runc create --bundle "$1" "$id" </dev/null >/dev/null 2>"$TEST_TMP/create.err" \
        || { echo "$(basename "$0"): runc create of $1 failed: $(cat "$TEST_TMP/create.err")" >&2; runc delete -f "$id" >/dev/null 2>&1; exit 1; }
    end=$(date +%s%N)
    runc delete -f "$id" >/dev/null 2>&1 || true
    echo $(( (end - start) / 1000 ))
}

# The median of the numbers on stdin, one a line (the middle two's mean for an even count).
median() {
    sort -g | awk -v OFMT=%.4f '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# "median q1 q3" in ms from microsecond samples on stdin, one a line.
stats() {
    local sorted
    sorted=$(sort -n)
    awk -v m="$(median <<<"$sorted")" '{ a[NR] = $1 } END {
        printf "%.1f %.1f %.1f\n", m / 1000, a[int((NR + 3) / 4)] / 1000, a[int((3 * NR + 3) / 4)] / 1000 }' <<<"$sorted"
}
