#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with Jazzer (src/test/java/io/bypass/fuzz/ParserFuzzTest):
# the ELF reader (random and mutated real libraries), the ld.so.cache parser (random and mutated
# host cache), and the OCI state and config, descriptor and database entry readers. Each target
# runs 20 s per round; the corpus grows in .cifuzz-corpus/ and every round starts from it, so more
# rounds fuzz longer:
#   tests/fuzz.sh [ROUNDS]        (default 1: what CI runs)
# A finding (any exception other than BypassException, a hang, running out of memory) fails the
# run; Jazzer writes the reproducer under src/test/resources/io/bypass/fuzz/ParserFuzzTestInputs/,
# where it stays as a regression input that `mvn verify` replays.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
targets=(elf elfMutated ldCache ldCacheMutated ociStateAndConfig descriptorAndEntry jsonModelsMutated)
mkdir -p target/fuzz
for round in $(seq "$rounds"); do
    for t in "${targets[@]}"; do
        log=target/fuzz/$t.log
        if JAZZER_FUZZ=1 mvn -B -q -o surefire:test -Dtest="ParserFuzzTest#$t" -Dsurefire.failIfNoSpecifiedTests=false \
            > "$log" 2>&1; then
            echo "fuzz $t (round $round): $(grep -E '#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | awk '{print $1, $3, $4}') ok"
        else
            echo "fuzz $t (round $round): FINDING, see $log"
            grep -E "== Java Exception|Exception|crash-" "$log" | head -10
            exit 1
        fi
    done
done
