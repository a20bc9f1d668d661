#!/usr/bin/env bash
# Cost of the image-wide analysis (issue 11): `bypass check` of the Debian 13 MPI image with an
# interpreter entrypoint (so every MPI consumer of the image counts) after adding a software tree
# of N files under /opt/sw, shaped like a Python stack: 1% shared objects (copies of the image's
# own libz, each read as an ELF object), the rest .py files (skipped by name), 50 files a
# directory. Prints, per N, the wall time of `bypass check` (JVM included), the time of the
# profile alone in a fresh JVM (io.bypass.container.ProfileHarness from target/test-classes, so
# `mvn package` first) and whether the scan stayed within its limits.
#   tests/bench-scan.sh [N...]        (default: 10000 100000)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need_root
TRIXIE=$(rootfs_for trixie)
_it_tmp
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null
printf '%-10s %10s %10s  %s\n' files "check" "profile" "scan"
for n in "${@:-10000 100000}"; do
    for n1 in $n; do
        img=$TEST_TMP/img-$n1
        cp -al "$TRIXIE" "$img"
        mkdir -p "$img/opt/sw"
        (
            cd "$img/opt/sw"
            for ((i = 0; i < n1; i++)); do
                d=pkg$((i / 50))
                if [ $((i % 50)) -eq 0 ]; then mkdir -p "$d"; fi
                if [ $((i % 100)) -eq 0 ]; then
                    cp "$img/usr/lib/x86_64-linux-gnu/libz.so.1" "$d/_ext$i.cpython-313-x86_64-linux-gnu.so"
                else
                    : > "$d/mod$i.py"
                fi
            done
        )
        start=$(date +%s%N)
        out=$("$BYPASS" --db "$DB" check --rootfs "$img" --exec /bin/bash 2>&1 || true)
        end=$(date +%s%N)
        trace=$(java -Djna.boot.library.path="$REPO/target/jna" -Djna.nounpack=true \
            -cp "$REPO/target/bypass.jar:$REPO/target/test-classes" io.bypass.container.ProfileHarness "$img" 1 /bin/bash \
            | sed -n 's/^profiles: 1 in \([0-9]*\) ms/\1 ms/p')
        scan=$(printf '%s\n' "$out" | grep -oE 'scan-incomplete|profile-budget' | head -1 || true)
        printf '%-10s %8d ms %10s  %s\n' "$n1" $(( (end - start) / 1000000 )) "${trace:-?}" "${scan:-complete}"
        rm -rf "$img"
    done
done
finish >/dev/null
