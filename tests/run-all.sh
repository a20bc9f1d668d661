#!/usr/bin/env bash
# Every test of bypass: the Maven build with its unit tests (mvn -B verify), bounded fuzzing, the
# native helper's suite, then the integration tests in tests/integration/, which start real
# containers with runc and podman and so run as root.
#   tests/run-all.sh            everything
#   tests/run-all.sh t-core     only the integration tests whose file name contains t-core
# Each step prints one line with its counts; its full output is kept under target/ and shown only
# when it fails (Maven's and the fuzzer's instrumentation lines stay in their logs). The run ends
# with one line: "== N passed, M failed".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mkdir -p target/it
passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAILED: $1"; }

echo "== mvn -B verify (build and unit tests; about 3 minutes on 2 cores; log: target/mvn-verify.log)"
start=$SECONDS
if mvn -B verify > target/mvn-verify.log.tmp 2>&1; then
    mv target/mvn-verify.log.tmp target/mvn-verify.log
    # Surefire's summary line, e.g. "Tests run: 412, Failures: 0, Errors: 0, Skipped: 2".
    echo "unit tests: $(grep -E '^\[(INFO|WARNING)\] Tests run: [0-9]+, Failures' target/mvn-verify.log | tail -1 \
        | sed 's/^\[[A-Z]*\] //') ($((SECONDS - start)) s)"
    pass
else
    mv target/mvn-verify.log.tmp target/mvn-verify.log
    grep -E '^\[ERROR\]|FAIL' target/mvn-verify.log | grep -v 'INFO: Instrumented' | head -40
    fail "mvn -B verify (target/mvn-verify.log)"
fi

echo "== fuzzing (bounded: 20 s per target; tests/fuzz.sh ROUNDS fuzzes longer; logs: target/fuzz/)"
if tests/fuzz.sh 1; then pass; else fail "fuzzing (target/fuzz/)"; fi

echo "== native helper: make -C native-shims check"
if make -s -C native-shims check OUT="$repo/target/native" > target/native-check.log 2>&1; then
    tail -1 target/native-check.log
    pass
else
    grep -E "^not ok|^#" target/native-check.log | head -40
    fail "native helper suite (target/native-check.log)"
fi

echo "== integration tests (logs: target/it/)"
for t in tests/rootfs/smoke.sh tests/integration/t-*.sh; do
    case "$t" in *"${1:-}"*) ;; *) continue ;; esac
    log=target/it/$(basename "$t" .sh).log
    start=$SECONDS
    if bash "$t" > "$log" 2>&1; then
        echo "-- $t: $(tail -1 "$log" | sed 's/^# [^:]*: //') ($((SECONDS - start)) s)"
        pass
    else
        echo "-- $t: $(tail -1 "$log" | sed 's/^# [^:]*: //') ($((SECONDS - start)) s)"
        grep -A6 "^not ok" "$log" | head -60
        fail "$t (full output: $log)"
    fi
done
echo "== $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    printf '   %s\n' "${failures[@]}"
    exit 1
fi
