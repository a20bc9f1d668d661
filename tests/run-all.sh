#!/usr/bin/env bash
# Every test of bypass: the Maven build with its unit tests (mvn -B verify), then the integration
# tests in tests/integration/, which start real containers with runc and podman and so run as root.
#   sudo tests/run-all.sh            everything
#   sudo tests/run-all.sh t-core     only the integration tests whose file name contains t-core
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

echo "== mvn -B verify"
mvn -B -q verify

failed=0
echo "== fuzzing (bounded: 20 s per target; tests/fuzz.sh ROUNDS fuzzes longer)"
if ! tests/fuzz.sh 1; then
    failed=$((failed + 1))
fi

echo "== native helper: make -C native-shims check"
if ! make -s -C native-shims check OUT="$repo/target/native" > target/native-check.log 2>&1; then
    grep -E "^not ok|^#" target/native-check.log | head -40
    echo "FAILED: native helper suite (target/native-check.log)"
    failed=$((failed + 1))
else
    tail -1 target/native-check.log
fi

echo "== integration tests"
for t in tests/rootfs/smoke.sh tests/integration/t-*.sh; do
    case "$t" in *"${1:-}"*) ;; *) continue ;; esac
    echo "-- $t"
    log=target/it/$(basename "$t" .sh).log
    mkdir -p target/it
    if bash "$t" > "$log" 2>&1; then
        tail -1 "$log"
    else
        grep -A6 "^not ok" "$log" | head -60
        tail -1 "$log"
        echo "FAILED: $t (full output: $log)"
        failed=$((failed + 1))
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "== $failed integration test file(s) failed"
    exit 1
fi
echo "== all tests passed"
