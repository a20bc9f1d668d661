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

echo "== integration tests"
failed=0
for t in tests/integration/t-*.sh; do
    case "$t" in *"${1:-}"*) ;; *) continue ;; esac
    echo "-- $t"
    if ! bash "$t"; then
        echo "FAILED: $t"
        failed=$((failed + 1))
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "== $failed integration test file(s) failed"
    exit 1
fi
echo "== all tests passed"
