# shellcheck shell=bash
# shellcheck disable=SC2016,SC2034 # jq programs in single quotes; RUN_*, OUT, ERR, RC are results for the caller
# Shared helpers of the integration tests (bash, run as root). Source it: it only defines
# functions and variables; nothing is created, trapped or run until a function is called. The
# scratch directory $TEST_TMP (/tmp/bypass-it.PID.N, mode 0700) is made by the first helper that
# needs it; the first helper called outside a $(...) subshell sets an EXIT trap removing it, and
# finish removes it too. Works under `set -u` and under `set -e`.
#
# Setup
#   need_root                      prints "# SKIP <test>: must run as root" and exits 0 unless root
#   rootfs_for FLAVOUR             tests/rootfs/build-rootfs.sh FLAVOUR (bullseye, trixie,
#                                  trixie-nompi): builds or reuses the cached rootfs, echoes its
#                                  path; the build's lines go to $TEST_TMP/rootfs.log (to stderr
#                                  if the build fails, and the function fails)
#   bypass ARGS...                 the launcher of this checkout (hook/bypass)
#   new_db                         a fresh root-owned database directory (0755); echoes its path
#
# Containers
#   make_bundle ROOTFS DIR ARGS... a runc bundle in DIR (made if needed; an old config.json is
#                                  replaced) from `runc spec`: root.path = ROOTFS made absolute,
#                                  root.readonly = true, process.terminal = false,
#                                  process.args = ARGS, process.env only PATH and TERM, rlimits
#                                  RLIMIT_NOFILE 1024 (RLIMIT_NPROC, if the spec has it, at most 1000)
#   bundle_hook DIR STAGE ARGS...  add an OCI hook at STAGE running this checkout's launcher
#                                  (argv[0] "bypass") with ARGS
#   bundle_annotate DIR KEY VALUE  set an annotation in the bundle's config
#   runc_run DIR [ID]              `runc run --bundle DIR ID` (stdin /dev/null, 120 s limit), then
#                                  always `runc delete -f ID`; sets RUN_OUT (stdout and stderr,
#                                  interleaved), RUN_RC, RUN_LOG (a file with RUN_OUT)
#   podman_run ROOTFS [OPTS...] -- CMD...
#                                  podman [--hooks-dir $PODMAN_HOOKS_DIR] run --rm --runtime runc
#                                  --ulimit nofile=1024:1024 --ulimit nproc=1000:1000
#                                  --network none OPTS --rootfs ROOTFS CMD (180 s limit); without
#                                  "--", every argument after ROOTFS is the command; sets RUN_OUT,
#                                  RUN_RC, RUN_LOG
#   capture CMD...                 runs CMD; sets OUT (stdout), ERR (stderr), RC
#
# Checks: each prints "ok - NAME" or "not ok - NAME" followed by "#   " lines saying why (with the
# output), and counts (PASSED, FAILED)
#   ok NAME / not_ok NAME [DETAIL]
#   assert_eq ACTUAL EXPECTED NAME
#   assert_contains OUTPUT NEEDLE NAME / assert_not_contains OUTPUT NEEDLE NAME
#   assert_one_line TEXT NAME
#   assert_exit CODE NAME CMD...   runs CMD as capture does; passes when its exit status is CODE
#   host_mounts_snapshot           the host's mount table (/proc/self/mountinfo without the mount
#                                  and parent ids, sorted), minus podman's own transient entries:
#                                  the storage's self bind mount of .../storage/overlay (made on
#                                  podman's first use, gone again after some runs) and each
#                                  container's .../overlay-containers/ID/userdata/shm while it runs
#                                  (also mounts_snapshot, the older name)
#   assert_no_new_mounts SNAPSHOT NAME
#                                  the mount table is now what SNAPSHOT recorded (diff if not)
#   rootfs_snapshot ROOTFS         every path under ROOTFS with its type, mode, size (not for
#                                  directories: their size is the file system's business), link
#                                  target and, for regular files, mtime (a rewrite in place of the
#                                  same size still shows); a directory's mtime is not recorded, so
#                                  a mount point made and removed again is no change
#   assert_rootfs_unchanged_except SNAPSHOT NAME [ALLOWED...]
#                                  nothing under the snapshot's rootfs appeared, disappeared or
#                                  changed, except paths matching an ALLOWED pattern: a path
#                                  inside the rootfs ("/opt/bypass") or on the host under it
#                                  ("$ROOTFS/opt/bypass"), glob characters allowed ("/opt/bypass/*")
#   assert_rootfs_unchanged SNAPSHOT ROOTFS NAME [ALLOWED...]   the same, older form
#   finish                         prints "# <test>: N passed, M failed", removes $TEST_TMP, and
#                                  returns non-zero when anything failed
#   mpich_version OUTPUT           the version in a test program's "library: MPICH Version: X" line

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BYPASS="$REPO/hook/bypass"
FAILED=0
PASSED=0
TEST_TMP=/tmp/bypass-it.$$.$RANDOM

# Makes $TEST_TMP (refusing one that is not ours) and, outside a subshell, the trap removing it.
_it_tmp() {
    if [ ! -d "$TEST_TMP" ] || [ -L "$TEST_TMP" ]; then
        mkdir -m 0700 "$TEST_TMP" 2>/dev/null || true
    fi
    if [ -L "$TEST_TMP" ] || [ ! -d "$TEST_TMP" ] || [ ! -O "$TEST_TMP" ]; then
        echo "common.sh: cannot use $TEST_TMP as the scratch directory" >&2
        return 1
    fi
    if [ "$BASH_SUBSHELL" -eq 0 ] && [ -z "${_IT_TRAP:-}" ]; then
        _IT_TRAP=1
        trap '_it_cleanup' EXIT
    fi
}

_it_cleanup() {
    if [ -d "$TEST_TMP" ] && [ ! -L "$TEST_TMP" ] && [ -O "$TEST_TMP" ]; then
        rm -rf "$TEST_TMP"
    fi
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "# SKIP $(basename "$0"): must run as root (real containers)"
        exit 0
    fi
}

rootfs_for() { # FLAVOUR
    _it_tmp || return 1
    local out
    if out=$("$REPO/tests/rootfs/build-rootfs.sh" "$1" 2>>"$TEST_TMP/rootfs.log"); then
        echo "$out"
    else
        echo "common.sh: rootfs_for $1 failed:" >&2
        sed 's/^/#   /' "$TEST_TMP/rootfs.log" >&2
        return 1
    fi
}

bypass() {
    "$BYPASS" "$@"
}

new_db() {
    _it_tmp || return 1
    local d
    d=$(mktemp -d "$TEST_TMP/db.XXXXXX")
    chmod 0755 "$d"
    echo "$d"
}

# FILE JQ-ARGS...: rewrite a JSON file through jq.
_it_jq() {
    local file=$1
    shift
    jq "$@" "$file" > "$file.new" && mv "$file.new" "$file"
}

make_bundle() { # ROOTFS DIR ARGS...
    _it_tmp || return 1
    local rootfs dir=$2 args
    rootfs=$(realpath "$1")
    shift 2
    mkdir -p "$dir"
    rm -f "$dir/config.json"
    runc spec --bundle "$dir"
    args=$(jq -n '$ARGS.positional' --args -- "$@")
    _it_jq "$dir/config.json" --arg r "$rootfs" --argjson a "$args" '
        .root.path = $r | .root.readonly = true | .process.terminal = false | .process.args = $a
        | .process.env = [.process.env[] | select(startswith("PATH=") or startswith("TERM="))]
        | .process.rlimits = ([(.process.rlimits // [])[] | select(.type != "RLIMIT_NOFILE")
              | if .type == "RLIMIT_NPROC" then .hard = ([.hard, 1000] | min) | .soft = ([.soft, 1000] | min)
                else . end]
            + [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}])'
}

bundle_hook() { # DIR STAGE ARGS...
    local dir=$1 stage=$2 args
    shift 2
    args=$(jq -n '$ARGS.positional' --args -- bypass "$@")
    _it_jq "$dir/config.json" --arg s "$stage" --arg p "$BYPASS" --argjson a "$args" \
        '.hooks[$s] = ((.hooks[$s] // []) + [{"path": $p, "args": $a}])'
}

bundle_annotate() { # DIR KEY VALUE
    _it_jq "$1/config.json" --arg k "$2" --arg v "$3" '.annotations[$k] = $v'
}

bundle_env() { # DIR KEY VALUE: set a variable of the container's process
    _it_jq "$1/config.json" --arg k "$2" --arg v "$3" \
        '.process.env = ([.process.env[] | select(startswith($k + "=") | not)] + [$k + "=" + $v])'
}

runc_run() { # DIR [ID]
    _it_tmp || return 1
    local dir=$1 id=${2:-bypass-it-$$-$RANDOM}
    RUN_LOG=$TEST_TMP/run-$id.log
    RUN_RC=0
    timeout --kill-after=10 120 runc run --bundle "$dir" "$id" </dev/null >"$RUN_LOG" 2>&1 || RUN_RC=$?
    RUN_OUT=$(cat "$RUN_LOG")
    runc delete -f "$id" >/dev/null 2>&1 || true
}

podman_run() { # ROOTFS [PODMAN-RUN-OPTIONS...] -- COMMAND...
    _it_tmp || return 1
    local rootfs=$1 opts=() a has_sep=no
    shift
    for a in "$@"; do
        if [ "$a" = -- ]; then has_sep=yes; fi
    done
    if [ "$has_sep" = yes ]; then
        while [ "$1" != -- ]; do
            opts+=("$1")
            shift
        done
        shift
    fi
    local global=()
    if [ -n "${PODMAN_HOOKS_DIR:-}" ]; then
        global=(--hooks-dir "$PODMAN_HOOKS_DIR")
    fi
    RUN_LOG=$TEST_TMP/podman-$$-$RANDOM.log
    RUN_RC=0
    timeout --kill-after=10 180 podman "${global[@]}" run --rm --runtime runc --network none \
        --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 "${opts[@]}" --rootfs "$rootfs" "$@" \
        </dev/null >"$RUN_LOG" 2>&1 || RUN_RC=$?
    RUN_OUT=$(cat "$RUN_LOG")
}

capture() { # CMD...
    _it_tmp || return 1
    RC=0
    OUT=$("$@" 2>"$TEST_TMP/stderr") || RC=$?
    ERR=$(cat "$TEST_TMP/stderr")
}

ok() { # NAME
    echo "ok - $1"
    PASSED=$((PASSED + 1))
}

not_ok() { # NAME [DETAIL]
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

assert_exit() { # CODE NAME CMD...
    local code=$1 name=$2
    shift 2
    capture "$@" || return 1
    if [ "$RC" = "$code" ]; then ok "$name"; else not_ok "$name" "expected exit $code, got $RC: $*
stdout: $OUT
stderr: $ERR"; fi
}

host_mounts_snapshot() {
    awk '{ $1 = ""; $2 = ""; sub(/^  /, ""); print }' /proc/self/mountinfo \
        | awk '$3 != "/var/lib/containers/storage/overlay" &&
               $3 !~ "^/var/lib/containers/storage/overlay-containers/[^/]+/userdata/shm$"' \
        | sort
}

mounts_snapshot() {
    host_mounts_snapshot
}

assert_no_new_mounts() { # SNAPSHOT NAME
    local now
    now=$(host_mounts_snapshot)
    if [ "$now" = "$1" ]; then ok "$2"; else not_ok "$2" "mount table changed (< before, > now):
$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") | grep '^[<>]' || true)"; fi
}

# First line "# rootfs ABSOLUTE-PATH", then one "PATH<TAB>ATTRIBUTES" line a path (PATH relative
# to the rootfs, "." for itself), sorted.
rootfs_snapshot() { # ROOTFS
    local root
    root=$(realpath "$1") || return 1
    echo "# rootfs $root"
    (cd "$root" && find . \( -type d -printf '%p\t%y %m\n' \) \
        -o \( -type f -printf '%p\t%y %m %s %T@\n' \) \
        -o \( -type l -printf '%p\t%y %l\n' \) \
        -o -printf '%p\t%y %m\n') | sed 's|^\./||' | LC_ALL=C sort
}

assert_rootfs_unchanged_except() { # SNAPSHOT NAME [ALLOWED...]
    local snap=$1 name=$2 root now diff line path pattern allowed kept=""
    shift 2
    root=$(head -1 <<<"$snap" | sed -n 's/^# rootfs //p')
    if [ -z "$root" ]; then
        not_ok "$name" "not a rootfs_snapshot"
        return 0
    fi
    now=$(rootfs_snapshot "$root")
    diff=$(diff <(printf '%s\n' "$snap") <(printf '%s\n' "$now") | grep '^[<>]' || true)
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        path=${line:2}
        path=${path%%$'\t'*}
        allowed=no
        for pattern in "$@"; do
            case "$pattern" in
                "$root") pattern=. ;;
                "$root"/*) pattern=${pattern#"$root"/} ;;
                /) pattern=. ;;
                *) pattern=${pattern#/} ;;
            esac
            # shellcheck disable=SC2053 # the pattern is meant as a glob
            if [[ "$path" == $pattern ]]; then
                allowed=yes
                break
            fi
        done
        if [ "$allowed" = no ]; then
            kept+=$line$'\n'
        fi
    done <<<"$diff"
    if [ -z "$kept" ]; then ok "$name"; else not_ok "$name" "rootfs $root changed (< before, > now):
${kept%$'\n'}"; fi
}

assert_rootfs_unchanged() { # SNAPSHOT ROOTFS NAME [ALLOWED...]
    local snap=$1 root name=$3
    root=$(realpath "$2")
    shift 3
    if [ "$(head -1 <<<"$snap")" != "# rootfs $root" ]; then
        not_ok "$name" "the snapshot is not of $root"
        return 0
    fi
    assert_rootfs_unchanged_except "$snap" "$name" "$@"
}

finish() {
    echo "# $(basename "$0"): $PASSED passed, $FAILED failed"
    _it_cleanup
    [ "$FAILED" -eq 0 ]
}

# The MPICH version a test program printed ("library: MPICH Version: 4.0.2" -> 4.0.2).
mpich_version() { # OUTPUT
    printf '%s\n' "$1" | sed -n 's/^library: MPICH Version:[[:space:]]*\([0-9.]*\).*/\1/p' | head -1
}
