#!/usr/bin/env bash
# Reading the container by descriptor only, within budgets (issue 10):
#   - a rootfs directory exchanged (renameat2 RENAME_EXCHANGE) in a loop with a symlink to a host
#     directory of canary files while 200 profiles run, under each resolver (openat2 and the O_PATH
#     walk): no profile sees a canary's content, and strace shows no descriptor into the canary
#     directory and no open of a path in it;
#   - libc.so.6 exchanged with a FIFO in a loop: every profile completes;
#   - LD_LIBRARY_PATH of 4,000 and 16,000 entries (each a symlink into a 40-link chain), a 60 KiB
#     RUNPATH, a 100,000-entry directory: each ends with the finding profile-budget, refused under
#     onError fail and started untouched under skip, its decision within 5 s.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
_it_tmp
chmod 755 "$TEST_TMP"
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host-mpich"
gcc -O1 -Wall -o "$TEST_TMP/exchange" "$REPO/tests/hostile/exchange.c" || not_ok "build the exchanger"

JAVA=$(command -v java)
harness() { # RESOLVER ROOTFS N: N profiles in one JVM (tests' ProfileHarness), at most 300 s
    timeout 300 "$JAVA" -Djna.boot.library.path="$REPO/target/jna" -Djna.nounpack=true -Dbypass.resolver="$1" \
        -cp "$REPO/target/bypass.jar:$REPO/target/test-classes" io.bypass.container.ProfileHarness "$2" "$3" /app/mpi_hello
}

# --- the directory-swap race -----------------------------------------------------------------------
CANARY=$(mktemp -d /tmp/bypass-canary.XXXXXX)
chmod 755 "$CANARY"
# Real libraries with other versions than the container's: the host's glibc 2.36 and MPICH 12.2.2.
cp /usr/lib/x86_64-linux-gnu/libc.so.6 "$CANARY/libc.so.6"
cp /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 "$CANARY/libmpich.so.12.2.2"
ln -s libmpich.so.12.2.2 "$CANARY/libmpich.so.12"
ln -s libmpich.so.12.2.2 "$CANARY/libmpi.so.12"
RACE=$TEST_TMP/race
cp -al "$TRIXIE" "$RACE"
ln -s "$CANARY" "$RACE/usr/lib/x86_64-linux-gnu.swap"
baseline=$(harness auto "$RACE" 1 | head -1)
assert_contains "$baseline" "1 x libc=2.41 mpi=12.4.1" "race rootfs: without the race, glibc 2.41 and MPICH 12.4.1"
have_strace=no
command -v strace >/dev/null && have_strace=yes
# Under strace the JVM runs several times slower: 200 traced profiles with openat2 (this kernel's
# resolver), 25 traced and 200 untraced with the walk.
for run in openat2:200:strace walk:25:strace walk:200:plain; do
    IFS=: read -r resolver count traced <<< "$run"
    rm -f "$TEST_TMP/stop"
    "$TEST_TMP/exchange" "$RACE/usr/lib" x86_64-linux-gnu x86_64-linux-gnu.swap "$TEST_TMP/stop" > "$TEST_TMP/swaps" &
    swapper=$!
    if [ "$traced" = strace ] && [ "$have_strace" = yes ]; then
        out=$(timeout 300 strace -f -qq -y -e trace=open,openat,openat2,statx,newfstatat,readlink,readlinkat \
            -o "$TEST_TMP/strace-$resolver.log" "$JAVA" -Djna.boot.library.path="$REPO/target/jna" -Djna.nounpack=true \
            -Dbypass.resolver="$resolver" -cp "$REPO/target/bypass.jar:$REPO/target/test-classes" \
            io.bypass.container.ProfileHarness "$RACE" "$count" /app/mpi_hello 2>&1)
    else
        out=$(harness "$resolver" "$RACE" "$count" 2>&1)
    fi
    touch "$TEST_TMP/stop"
    wait "$swapper"
    resolver="$resolver, $traced"
    printf '%s\n' "$out" | sed "s/^/# $resolver: /"
    echo "# $resolver: $(cat "$TEST_TMP/swaps") exchanges during the profiles"
    assert_contains "$out" "profiles: $count in" "race ($resolver): $count profiles completed"
    assert_not_contains "$out" "libc=2.36" "race ($resolver): no profile read the canary libc.so.6"
    assert_not_contains "$out" "mpi=12.2.2" "race ($resolver): no profile read the canary libmpich"
    if [ "$traced" = plain ]; then
        continue
    fi
    if [ "$have_strace" = yes ]; then
        log=$TEST_TMP/strace-${resolver%%,*}.log
        into=$(grep -F "<$CANARY" "$log" | head -3)
        assert_eq "$into" "" "race ($resolver): strace shows no descriptor into the host directory"
        opened=$(grep -E "^[0-9]+ +(open|openat|openat2|statx|newfstatat)\(.*\"$CANARY" "$log" | head -3)
        assert_eq "$opened" "" "race ($resolver): strace shows no open or stat of a host path"
    else
        echo "# SKIP race strace checks: strace is not installed"
    fi
done
assert_eq "$(harness auto "$RACE" 1 | head -1)" "$baseline" "race rootfs: the exchanger left the tree as it was"
rm -rf "$CANARY"

# --- a FIFO exchanged with libc.so.6 -------------------------------------------------------------
FIFO=$TEST_TMP/fifo
cp -al "$TRIXIE" "$FIFO"
mkfifo "$FIFO/usr/lib/x86_64-linux-gnu/libc.so.6.fifo"
rm -f "$TEST_TMP/stop"
"$TEST_TMP/exchange" "$FIFO/usr/lib/x86_64-linux-gnu" libc.so.6 libc.so.6.fifo "$TEST_TMP/stop" > "$TEST_TMP/swaps" &
swapper=$!
out=$(harness auto "$FIFO" 100 2>&1)
rc=$?
touch "$TEST_TMP/stop"
wait "$swapper"
printf '%s\n' "$out" | sed 's/^/# fifo: /'
assert_eq "$rc" 0 "FIFO swapped with libc.so.6: the profiles never block"
assert_contains "$out" "profiles: 100 in" "FIFO swapped with libc.so.6: 100 profiles completed"

# --- budgets -------------------------------------------------------------------------------------
AUDIT=$TEST_TMP/audit.log
for policy in fail skip; do
    printf '{"onError": "%s", "audit": {"file": "%s"}}\n' "$policy" "$AUDIT" > "$TEST_TMP/$policy.json"
    chmod 0644 "$TEST_TMP/$policy.json"
done
BIG=$TEST_TMP/big
cp -al "$TRIXIE" "$BIG"
# A chain of 40 links ending in the library directory, and 16,000 entry points into it.
mkdir -p "$BIG/chain" "$BIG/e"
ln -s /usr/lib/x86_64-linux-gnu "$BIG/chain/l40"
for i in $(seq 39 -1 1); do ln -s "l$((i + 1))" "$BIG/chain/l$i"; done
(cd "$BIG/e" && seq 1 16000 | xargs -I{} ln -s /chain/l1 {}) 2>/dev/null
# A program whose RUNPATH is 60 KiB of such entries.
runpath=$(seq -f "/e/%05g" 1 6800 | paste -sd:)
mkdir -p "$TEST_TMP/src"
printf 'int main(void) { return 0; }\n' > "$TEST_TMP/src/longrunpath.c"
gcc -o "$BIG/app/longrunpath" "$TEST_TMP/src/longrunpath.c" -Wl,--enable-new-dtags -Wl,-rpath,"$runpath" || not_ok "build longrunpath"
echo "# RUNPATH of /app/longrunpath: $(printf '%s' "$runpath" | wc -c) bytes"
# A directory of 100,000 entries where the profile lists (CUDA forward-compatibility libraries).
mkdir -p "$BIG/usr/local/cuda/compat"
(cd "$BIG/usr/local/cuda/compat" && seq -f "f%06g" 1 100000 | xargs touch)

budget_case() { # NAME ENTRYPOINT LD_LIBRARY_PATH-ENTRIES(0: none) NEEDLE
    local name=$1 exec=$2 n=$3 needle=$4 bundle=$TEST_TMP/b-$1 llp policy start end ms
    rm -rf "$bundle"
    if [ "$name" = dir ]; then
        make_bundle "$DIRROOT" "$bundle" "$exec"
    else
        make_bundle "$BIG" "$bundle" "$exec"
    fi
    if [ "$n" -gt 0 ]; then
        # Through a file: 16,000 entries are more than one command-line argument may hold.
        seq -f "/e/%g" 1 "$n" | paste -sd: > "$bundle/llp"
        jq --rawfile v "$bundle/llp" '.process.env += ["LD_LIBRARY_PATH=" + ($v | rtrimstr("\n"))]' \
            "$bundle/config.json" > "$bundle/config.new" && mv "$bundle/config.new" "$bundle/config.json"
    fi
    printf '{"ociVersion":"1.0.2","id":"budget-%s","status":"creating","pid":0,"bundle":"%s"}\n' "$name" "$bundle" \
        > "$bundle/state.json"
    for policy in fail skip; do
        : > "$AUDIT"
        start=$(date +%s%N)
        capture timeout 60 "$BYPASS" --db "$DB" --config "$TEST_TMP/$policy.json" hook --state "$bundle/state.json"
        end=$(date +%s%N)
        ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' "$AUDIT" | head -1)
        echo "# $name ($policy): exit $RC, decided in ${ms:-?} ms, $(( (end - start) / 1000000 )) ms with the JVM"
        if [ "$policy" = fail ]; then
            assert_eq "$RC" 3 "$name (onError fail): refused"
            assert_contains "$ERR" "[profile-budget]" "$name (onError fail): with the finding profile-budget"
            assert_contains "$ERR" "$needle" "$name (onError fail): the finding names the limit"
            assert_one_line "$ERR" "$name (onError fail): one line"
        else
            assert_eq "$RC" 0 "$name (onError skip): starts untouched"
            assert_contains "$(cat "$AUDIT")" "verdict=error-skipped" "$name (onError skip): audited as skipped"
        fi
        assert_eq "$([ -n "$ms" ] && [ "$ms" -lt 5000 ] && echo fast)" "fast" "$name ($policy): decided within 5 s"
    done
}
budget_case llp-4000 /app/mpi_hello 4000 "LD_LIBRARY_PATH has 4000 entries, more than the 256"
budget_case llp-16000 /app/mpi_hello 16000 "LD_LIBRARY_PATH has 16000 entries, more than the 256"
budget_case runpath /app/longrunpath 0 "DT_RUNPATH of /app/longrunpath has 6800 entries"
DIRROOT=$TEST_TMP/dirroot
cp -al "$TRIXIE" "$DIRROOT"
mkdir -p "$DIRROOT/usr/local/cuda"
mv "$BIG/usr/local/cuda/compat" "$DIRROOT/usr/local/cuda/compat"
budget_case dir /app/mpi_hello 0 "container directory /usr/local/cuda/compat has more than 65536 entries"
# Under the limits, the same tree decides as usual: 200 entries of 40-link chains cost little.
make_bundle "$BIG" "$TEST_TMP/b-ok" /app/mpi_hello
bundle_env "$TEST_TMP/b-ok" LD_LIBRARY_PATH "$(seq -f "/e/%g" 1 200 | paste -sd:)"
capture "$BYPASS" --db "$DB" check --rootfs "$BIG" --exec /app/mpi_hello --env "LD_LIBRARY_PATH=$(seq -f "/e/%g" 1 200 | paste -sd:)"
assert_eq "$RC" 0 "200 search-path entries through 40-link chains: decided as usual"
assert_contains "$OUT" "verdict: inject" "200 search-path entries through 40-link chains: inject"
finish
