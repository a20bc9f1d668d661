#!/bin/sh
# Creates the class-data-sharing archive (AppCDS) that makes the launcher start fast, for one JVM:
# a training run of the commands a hook and an admin use dumps the classes they load.
#   packaging/make-cds.sh JAVA JAR OUT.jsa
# The archive only works with the JVM that made it; the launcher passes it with -Xshare:auto, so a
# mismatched JVM silently starts without it.
set -eu
java=$1 jar=$2 out=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/db/bundles"
libc=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null || readlink -f /lib64/libc.so.6 2>/dev/null || true)
if [ -n "$libc" ]; then
    # A bundle that applies to everything, so the training run plans for real (never applied).
    printf '{"name":"cds-training","kind":"generic","libraries":["%s"],"dependencies":"none","activation":{"always":true}}\n' \
        "$libc" > "$work/descriptor.json"
    "$java" -cp "$jar" io.bypass.cli.Main --db "$work/db" db register "$work/descriptor.json" >/dev/null 2>&1 || true
fi
# One JVM run dumps one archive: train with the path that loads the most (database, profile, plan, JSON).
rm -f "$out.tmp"
"$java" -XX:ArchiveClassesAtExit="$out.tmp" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
    -cp "$jar" io.bypass.cli.Main --db "$work/db" check --rootfs / --exec /bin/sh --json >/dev/null 2>&1 || true
if [ -s "$out.tmp" ]; then
    mv "$out.tmp" "$out"
else
    echo "make-cds.sh: the JVM made no archive; bypass will start without one" >&2
    rm -f "$out.tmp"
fi
