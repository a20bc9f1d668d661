# Shared helpers of the integration tests (bash). Source it; it defines functions only.
#
#   need_root                     skip (exit 0 with a message) unless root
#   rootfs_for FLAVOUR            build or reuse a test rootfs (tests/rootfs/build-rootfs.sh), echo its path
#   bypass ARGS...                the launcher of this checkout (hook/bypass)
#   new_db                        a fresh, root-owned database directory; echo its path
#   make_bundle ROOTFS DIR ARGS.. a runc bundle running ARGS in ROOTFS (read-only root)
#   bundle_hook DIR STAGE ARGS..  add an OCI hook running the launcher with ARGS at STAGE
#   bundle_annotate DIR K V       add an annotation to the bundle's config
#   runc_run DIR [ID]             run the bundle; sets RUN_OUT (stdout+stderr) and RUN_RC; always deletes
#   podman_run ROOTFS OPTS -- CMD podman run --rm --rootfs with this machine's required options
#                                 (and --hooks-dir $PODMAN_HOOKS_DIR when set); sets RUN_OUT, RUN_RC
#   assert_* / ok / not_ok        TAP-style checks; finish prints a summary and fails if any failed
#   mounts_snapshot / assert_no_new_mounts SNAP NAME
#   rootfs_snapshot DIR / assert_rootfs_unchanged SNAP DIR NAME [ALLOWED_PATH...]

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BYPASS="$REPO/hook/bypass"
FAILED=0
PASSED=0
TEST_TMP=$(mktemp -d /tmp/bypass-it.XXXXXX)
trap 'rm -rf "$TEST_TMP"' EXIT

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "# SKIP $(basename "$0"): must run as root (real containers)"
        exit 0
    fi
}

rootfs_for() {
    "$REPO/tests/rootfs/build-rootfs.sh" "$1" 2>>"$TEST_TMP/rootfs.log"
}

bypass() {
    "$BYPASS" "$@"
}

new_db() {
    local d
    d=$(mktemp -d "$TEST_TMP/db.XXXXXX")
    chmod 0755 "$d"
    echo "$d"
}

make_bundle() {
    local rootfs=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    (cd "$dir" && runc spec)
    local args
    args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
    jq --arg r "$rootfs" --argjson a "$args" '
        .root.path = $r | .root.readonly = true | .process.terminal = false | .process.args = $a
        | .process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]' \
        "$dir/config.json" > "$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}

bundle_hook() {
    local dir=$1 stage=$2
    shift 2
    local args
    args=$(printf '%s\n' bypass "$@" | jq -R . | jq -s .)
    jq --arg s "$stage" --arg p "$BYPASS" --argjson a "$args" \
        '.hooks[$s] = ((.hooks[$s] // []) + [{"path": $p, "args": $a}])' "$dir/config.json" > "$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}

bundle_annotate() {
    local dir=$1 key=$2 value=$3
    jq --arg k "$key" --arg v "$value" '.annotations[$k] = $v' "$dir/config.json" > "$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}

runc_run() {
    local dir=$1 id=${2:-bypass-it-$$-$RANDOM}
    RUN_RC=0
    RUN_OUT=$(cd "$dir" && timeout 120 runc run "$id" 2>&1) || RUN_RC=$?
    runc delete -f "$id" >/dev/null 2>&1 || true
}

podman_run() { # ROOTFS [PODMAN-RUN-OPTIONS...] -- COMMAND...
    local rootfs=$1
    shift
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    [ "${1:-}" = -- ] && shift
    RUN_RC=0
    RUN_OUT=$(timeout 180 podman ${PODMAN_HOOKS_DIR:+--hooks-dir "$PODMAN_HOOKS_DIR"} run --rm --runtime runc --network none \
        --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 "${opts[@]}" --rootfs "$rootfs" "$@" 2>&1) || RUN_RC=$?
}

ok() {
    echo "ok - $1"
    PASSED=$((PASSED + 1))
}

not_ok() {
    echo "not ok - $1"
    if [ -n "${2:-}" ]; then
        printf '%s\n' "$2" | sed 's/^/#   /'
    fi
    FAILED=$((FAILED + 1))
}

assert_contains() { # OUTPUT NEEDLE NAME
    if [[ "$1" == *"$2"* ]]; then ok "$3"; else not_ok "$3" "expected to contain: $2
output: $1"; fi
}

assert_not_contains() { # OUTPUT NEEDLE NAME
    if [[ "$1" != *"$2"* ]]; then ok "$3"; else not_ok "$3" "expected NOT to contain: $2
output: $1"; fi
}

assert_eq() { # ACTUAL EXPECTED NAME
    if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "expected: $2
actual:   $1"; fi
}

assert_one_line() { # TEXT NAME
    local n
    n=$(printf '%s' "$1" | grep -c '' || true)
    if [ "$n" -eq 1 ]; then ok "$2"; else not_ok "$2" "expected one line, got $n: $1"; fi
}

# Runs a command, sets OUT (stdout), ERR (stderr), RC.
capture() {
    RC=0
    OUT=$("$@" 2>"$TEST_TMP/stderr") || RC=$?
    ERR=$(cat "$TEST_TMP/stderr")
}

mounts_snapshot() {
    awk '{ $1 = ""; $2 = ""; print }' /proc/self/mountinfo | sort
}

assert_no_new_mounts() { # SNAPSHOT NAME
    local now
    now=$(mounts_snapshot)
    if [ "$now" = "$1" ]; then ok "$2"; else not_ok "$2" "$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") || true)"; fi
}

rootfs_snapshot() { # DIR
    find "$1" -path "$1/proc" -prune -o -path "$1/sys" -prune -o -path "$1/dev" -prune -o \
        -printf '%y %m %s %T@ %p\n' 2>/dev/null | sort
}

# The rootfs holds nothing new but mount points bypass made (listed as ALLOWED paths, absolute on
# the host): their content is empty, and no file anywhere else appeared or changed.
assert_rootfs_unchanged() { # SNAPSHOT DIR NAME [ALLOWED...]
    local snap=$1 dir=$2 name=$3
    shift 3
    local now diff
    now=$(rootfs_snapshot "$dir")
    diff=$(diff <(printf '%s\n' "$snap" | awk '{ print $1, $2, $3, $5 }') \
                <(printf '%s\n' "$now" | awk '{ print $1, $2, $3, $5 }') | grep '^[<>]' || true)
    local a
    for a in "$@"; do
        diff=$(printf '%s\n' "$diff" | grep -v " ${a}\$" || true)
    done
    diff=$(printf '%s\n' "$diff" | sed '/^$/d')
    if [ -z "$diff" ]; then ok "$name"; else not_ok "$name" "$diff"; fi
}

finish() {
    echo "# $(basename "$0"): $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# The MPICH version the test program printed ("library: MPICH Version: 4.0.2").
mpich_version() {
    printf '%s\n' "$1" | sed -n 's/^library: MPICH Version:[[:space:]]*\([0-9.]*\).*/\1/p' | head -1
}
