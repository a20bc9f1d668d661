#!/bin/sh
# Creates what makes the launcher start fast, for one JVM: an AOT cache (JDK 25 and later,
# bypass.aot) or an AppCDS class-data archive (older JDKs, bypass.jsa), from the training of the
# paths most hooks take (io.bypass.cli.HookTraining: an idle hook and a decision-cache hit, never
# applied). A JVM relocates all of its archive at every start, so the profiler's path, which one
# rank per node and image takes, stays out of it (docs/speed.md).
#   packaging/make-cds.sh JAVA JAR OUT_DIR [HELPER]
# HELPER, the mount helper, lets the training run spawn it as a cache hit does (its re-check).
# Both only work with the JVM that made them; the launcher uses them with -Xshare:auto semantics,
# so a mismatched JVM silently starts without.
set -eu
java=$1 jar=$2 out=$3 helper=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/db/bundles" "$work/bundle"
printf '{"ociVersion":"1.0.2","root":{"path":"/"},"process":{"args":["/bin/sh"]},"annotations":{"org.supercontainers.bypass.enabled":"false"}}\n' \
    > "$work/bundle/config.json"
printf '{"ociVersion":"1.0.2","id":"training","status":"creating","pid":0,"bundle":"%s/bundle"}\n' "$work" > "$work/state.json"
libc=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null || readlink -f /lib64/libc.so.6 2>/dev/null || true)
# The training container: one dynamically linked program and the host's libc, the shape of a
# real image's program closure (the host's own / would be the whole machine, which the profile's
# budget stops, and a decision stopped by its budget is never cached: no hit would be trained).
mkdir -p "$work/rootfs/usr/bin" "$work/rootfs/usr/lib" "$work/rootfs/etc"
for true_bin in /usr/bin/true /bin/true; do
    if [ -f "$true_bin" ]; then cp "$true_bin" "$work/rootfs/usr/bin/true"; break; fi
done
[ -n "$libc" ] && cp "$libc" "$work/rootfs/usr/lib/libc.so.6"
# The training database: created explicitly (nothing else creates a database).
"$java" -cp "$jar" io.bypass.cli.Main --db "$work/db" db init >/dev/null 2>&1 || true
if [ -n "$libc" ]; then
    # A bundle that applies to everything, so the training run plans for real.
    printf '{"name":"training","kind":"generic","libraries":["%s"],"dependencies":"none","activation":{"always":true}}\n' \
        "$libc" > "$work/descriptor.json"
    "$java" -cp "$jar" io.bypass.cli.Main --db "$work/db" db register "$work/descriptor.json" >/dev/null 2>&1 || true
fi
# JNA's native part, unpacked once here: left to itself JNA unpacks it at every start into a
# temporary directory (as root, a writable place), which the hook must never do.
arch=$(uname -m)
case $arch in x86_64) jna_arch=x86-64 ;; aarch64) jna_arch=aarch64 ;; *) jna_arch=$arch ;; esac
rm -rf "$out/jna"
mkdir -p "$out/jna"
so=com/sun/jna/linux-$jna_arch/libjnidispatch.so
(cd "$out/jna" && { "${java%/bin/java}/bin/jar" xf "$jar" "$so" 2>/dev/null || unzip -q -o "$jar" "$so" 2>/dev/null \
    || python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2])' "$jar" "$so" 2>/dev/null \
    || true; })
if [ -f "$out/jna/$so" ]; then
    mv "$out/jna/$so" "$out/jna/libjnidispatch.so"
    chmod 0644 "$out/jna/libjnidispatch.so"
else
    echo "make-cds.sh: cannot unpack $so from $jar (needs jar, unzip or python3); bypass cannot read containers" >&2
fi
rm -rf "$out/jna/com"
# A training JVM, with the launcher's flags: JVM-OPTION... MAIN-CLASS ARG...
jvm() {
    "$java" -Djna.boot.library.path="$out/jna" -Djna.nounpack=true -Djna.nosys=true -Dbypass.helper="$helper" \
        -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmn8m -XX:-UsePerfData -cp "$jar" "$@"
}
# The training's two JVMs: the first computes and stores the training image's decision (a plain
# JVM: the profiler's classes stay out of the archive), the second, archived, hits it.
train() { # PHASE JVM-OPTION...
    phase=$1; shift
    jvm "$@" -Dbypass.config="$work/no-config.json" io.bypass.cli.HookTraining --phase "$phase" --db "$work/db" \
        --cache "$work/cache" --state "$work/state.json" --rootfs "$work/rootfs" --exec /usr/bin/true \
        >/dev/null 2>"$work/train-$phase.err"
}
trained() { # PHASE: says so when a phase did not do what it trains (the archive still works)
    echo "make-cds.sh: the training's $1 phase failed: $(tail -n 1 "$work/train-$1.err"); the archive may lack a hook's classes" >&2
}
# The admin commands (check, match, wrap, patch-bundle, db ...) profile an image every time: an
# archive of their own, trained by a check of the training image, keeps the hook's small.
admin() { # JVM-OPTION...
    jvm "$@" io.bypass.cli.Main --db "$work/db" --config "$work/no-config.json" check --rootfs "$work/rootfs" \
        --exec /usr/bin/true >/dev/null 2>&1 || true
}
feature=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
rm -f "$out/bypass.aot" "$out/bypass.jsa" "$out/bypass-admin.aot" "$out/bypass-admin.jsa"
train store -Xshare:auto || trained store
if [ "${feature%%.*}" -ge 25 ] 2>/dev/null; then
    train hit -XX:AOTCacheOutput="$out/bypass.aot.tmp" || trained hit
    [ -s "$out/bypass.aot.tmp" ] && mv "$out/bypass.aot.tmp" "$out/bypass.aot"
    admin -XX:AOTCacheOutput="$out/bypass-admin.aot.tmp"
    [ -s "$out/bypass-admin.aot.tmp" ] && mv "$out/bypass-admin.aot.tmp" "$out/bypass-admin.aot"
else
    train hit -XX:ArchiveClassesAtExit="$out/bypass.jsa.tmp" -Xshare:auto || trained hit
    [ -s "$out/bypass.jsa.tmp" ] && mv "$out/bypass.jsa.tmp" "$out/bypass.jsa"
    admin -XX:ArchiveClassesAtExit="$out/bypass-admin.jsa.tmp" -Xshare:auto
    [ -s "$out/bypass-admin.jsa.tmp" ] && mv "$out/bypass-admin.jsa.tmp" "$out/bypass-admin.jsa"
fi
rm -f "$out/bypass.aot.tmp" "$out/bypass.jsa.tmp" "$out/bypass.aot.config" "$out/bypass-admin.aot.tmp" \
    "$out/bypass-admin.jsa.tmp" "$out/bypass-admin.aot.config"
if [ ! -e "$out/bypass.aot" ] && [ ! -e "$out/bypass.jsa" ]; then
    echo "make-cds.sh: $java made no archive; bypass will start without one" >&2
fi
