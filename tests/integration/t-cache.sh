#!/usr/bin/env bash
# The decision cache under real runc (docs/cache.md): a cold then a warm start of the Debian 13
# MPI container both run on the host MPICH 4.0.2, the audit says computed then hit; an image file
# changed in place (its size and mtime put back) invalidates, also when the key has one entry and
# the check rides in the helper run that mounts; a refused image stays refused on a
# warm cache, with the same reason, and a forced bind of the host library into it really fails;
# 8 containers of one image on their own overlay mounts, started at once, compute once; `db
# register`/`db remove` and a configuration change invalidate.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
BULLSEYE=$(rootfs_for bullseye)
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host MPICH"
CACHE=$TEST_TMP/cache/decisions
AUDIT=$TEST_TMP/audit.log
CONF=$TEST_TMP/config.json
mkdir -p -m 0700 "$TEST_TMP/cache"
echo "{\"audit\": {\"file\": \"$AUDIT\"}}" > "$CONF"
chmod 0644 "$CONF"

# hooked ROOTFS DIR [CACHE]: a bundle running /app/mpi_hello under bypass with this test's cache
# (or CACHE) and config
hooked() {
    make_bundle "$1" "$2" /app/mpi_hello
    _it_jq "$2/config.json" --arg p "$BYPASS" --arg db "$DB" --arg conf "$CONF" --arg c "BYPASS_CACHE=${3:-$CACHE}" '
        .hooks.createRuntime = [{"path": $p, "args": ["bypass", "--db", $db, "--config", $conf, "hook"],
                                 "env": [$c, "BYPASS_CACHE_WAIT_MS=30000"]}]'
}
# last_cache: the cache outcome of the last audit line
last_cache() { tail -n 1 "$AUDIT" | sed -n 's/.*cache=\([a-z-]*\).*/\1/p'; }

# --- cold, then warm ---------------------------------------------------------------------------
hooked "$TRIXIE" "$TEST_TMP/trixie"
runc_run "$TEST_TMP/trixie"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "cold cache: trixie runs on the host MPICH 4.0.2"
assert_eq "$(last_cache)" "computed" "cold cache: the audit says computed"
n=$(find "$CACHE/entries" -type f | wc -l)
assert_eq "$n" 1 "cold cache: one entry written"
assert_eq "$(stat -c '%U %a' "$CACHE/entries/"* | sort -u)" "root 600" "the entry is root's, 0600"
runc_run "$TEST_TMP/trixie"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "warm cache: trixie runs on the host MPICH 4.0.2"
assert_eq "$(last_cache)" "hit" "warm cache: the audit says hit"
assert_contains "$(tail -n 1 "$AUDIT")" "verdict=inject bundles=host-mpich" "warm cache: the same verdict and bundle"

# --- a file of the image changed in place, its size, mtime and inode kept ------------------------
COPY=$TEST_TMP/trixie-copy
cp -a "$TRIXIE" "$COPY"
hooked "$COPY" "$TEST_TMP/copy"
runc_run "$TEST_TMP/copy"
assert_eq "$(last_cache)" "computed" "a copy of the image (other inodes): computed, as another variant"
lib=$(readlink -f "$COPY/usr/lib/x86_64-linux-gnu/libmpich.so.12")
runc_run "$TEST_TMP/copy"
assert_eq "$(last_cache)" "hit" "the copy, warm: hit"
ino=$(stat -c %i "$lib")
# Byte 10 of the ELF header is padding (EI_PAD): the loader ignores it, the profile reads it.
printf '\001' | dd of="$lib" bs=1 seek=10 conv=notrunc status=none
touch -r "$TRIXIE/usr/lib/x86_64-linux-gnu/$(basename "$lib")" "$lib"
assert_eq "$(stat -c %i "$lib")" "$ino" "the edited library keeps its inode"
runc_run "$TEST_TMP/copy"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "edited image: still runs on the host MPICH"
assert_eq "$(last_cache)" "computed" "edited image (same size, mtime, inode): the entry is not used, computed again"
runc_run "$TEST_TMP/copy"
assert_eq "$(last_cache)" "hit" "edited image, warm again: hit"
# The program replaced by another build (here: one more byte at its end, renamed over it).
cp -p "$COPY/app/mpi_hello" "$COPY/app/.mpi_hello.new" && printf '\0' >> "$COPY/app/.mpi_hello.new"
mv "$COPY/app/.mpi_hello.new" "$COPY/app/mpi_hello"
runc_run "$TEST_TMP/copy"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "program replaced: runs on the host MPICH"
assert_eq "$(last_cache)" "computed" "program replaced: computed again"
# Replaced by the very same bytes and metadata (rm, then cp -p; ext4 may hand out the same
# inode): a hit is right, those are the bytes that decided.
# Something appearing where the profile found nothing (CUDA's forward-compatibility directory,
# which the profile lists when it is there) invalidates.
[ -e "$COPY/usr/local/cuda/compat" ] && not_ok "the image has no /usr/local/cuda/compat"
mkdir -p "$COPY/usr/local/cuda/compat"
runc_run "$TEST_TMP/copy"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "a directory appeared: still runs"
assert_eq "$(last_cache)" "computed" "a directory appeared at a path the profile found missing: computed again"
runc_run "$TEST_TMP/copy"
assert_eq "$(last_cache)" "hit" "a directory appeared, warm again: hit"

# --- the same edit when the key has one entry: the helper run that mounts checks it first --------
# (an injecting hit's files ride in the mount plan; a 17 there means nothing was done, and the
# hook decides again and mounts what that says)
ONE=$TEST_TMP/trixie-one
cp -a "$TRIXIE" "$ONE"
hooked "$ONE" "$TEST_TMP/one" "$TEST_TMP/cache/one"
runc_run "$TEST_TMP/one"
assert_eq "$(last_cache)" "computed" "one entry: cold, computed"
runc_run "$TEST_TMP/one"
assert_eq "$(last_cache)" "hit" "one entry: warm, hit"
lib1=$(readlink -f "$ONE/usr/lib/x86_64-linux-gnu/libmpich.so.12")
printf '\001' | dd of="$lib1" bs=1 seek=10 conv=notrunc status=none
touch -r "$TRIXIE/usr/lib/x86_64-linux-gnu/$(basename "$lib1")" "$lib1"
runc_run "$TEST_TMP/one"
assert_eq "$RUN_RC" 0 "one entry, edited: the container starts"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "one entry, edited: runs on the host MPICH"
assert_eq "$(last_cache)" "computed" "one entry, edited: the mount run found it stale, computed again"
# The old entry stays, another variant (still right for containers of the unedited image).
assert_eq "$(find "$TEST_TMP/cache/one/entries" -type f | wc -l)" 2 "one entry, edited: the new decision is a second variant"
runc_run "$TEST_TMP/one"
assert_eq "$(last_cache)" "hit" "one entry, edited, warm again: hit (two variants: checked before the plan is chosen)"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "one entry, edited, warm again: the host MPICH"

# --- a refused image stays refused on a warm cache -----------------------------------------------
hooked "$BULLSEYE" "$TEST_TMP/bullseye"
runc_run "$TEST_TMP/bullseye"
cold=$(grep -o 'bypass: refused: [^"]*' "$RUN_LOG" | head -1)
assert_contains "$cold" "[glibc-too-old]" "bullseye, cold: refused, glibc-too-old"
assert_eq "$(last_cache)" "computed" "bullseye, cold: computed"
for i in 1 2; do
    runc_run "$TEST_TMP/bullseye"
    assert_not_contains "$RUN_OUT" "MPICH Version" "bullseye, warm $i: the program never ran"
    assert_eq "$(grep -o 'bypass: refused: [^"]*' "$RUN_LOG" | head -1)" "$cold" "bullseye, warm $i: the same refusal line"
    assert_eq "$(last_cache)" "hit" "bullseye, warm $i: the refusal was a hit"
done
# Ground truth: the host MPICH forced into bullseye (plain runc mounts: the library over the
# container's, its non-glibc dependencies in /home on LD_LIBRARY_PATH) does not run.
make_bundle "$BULLSEYE" "$TEST_TMP/forced" /app/mpi_hello
mkdir -p "$TEST_TMP/forced-lib"
ldd /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 | awk '$3 ~ /^\// {print $3}' \
    | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | xargs -r cp -L -t "$TEST_TMP/forced-lib"
target=$(readlink -f "$BULLSEYE/usr/lib/x86_64-linux-gnu/libmpich.so.12"); target=${target#"$BULLSEYE"}
_it_jq "$TEST_TMP/forced/config.json" --arg t "$target" --arg lib "$TEST_TMP/forced-lib" '.mounts += [
    {"destination": $t, "type": "bind", "source": "/usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2", "options": ["bind", "ro"]},
    {"destination": "/home", "type": "bind", "source": $lib, "options": ["bind", "ro"]}]'
bundle_env "$TEST_TMP/forced" LD_LIBRARY_PATH /home
runc_run "$TEST_TMP/forced"
assert_contains "$RUN_OUT" "version \`GLIBC_2.3" "bullseye with the host MPICH forced in fails on a glibc version"
assert_not_contains "$RUN_OUT" "MPICH Version" "bullseye with the host MPICH forced in: the program never ran"

# A copy of the launcher that logs class loads (-Xlog:class+load, one file per JVM in $CLASSES).
CLASSES=$TEST_TMP/classes
mkdir -p "$CLASSES"
TRACED=$TEST_TMP/bypass-traced
sed -e "s|^here=\${self%/\*}\$|here=$REPO/hook|" \
    -e "s|^set -- -XX:TieredStopAtLevel=1 |set -- -Xlog:class+load:file=$CLASSES/%p.log -XX:TieredStopAtLevel=1 |" \
    "$REPO/hook/bypass" > "$TRACED"
chmod 0755 "$TRACED"
assert_eq "$(grep -c "here=$REPO/hook\|class+load:file=$CLASSES" "$TRACED")" 2 "the traced launcher: both edits applied"

# --- 8 containers of one image, each on its own overlay mount, started at once ------------------
# A cache of their own, where the key has the one entry they compute (above, the edited copies
# stored other entries under the plain rootfs' key: overlays show the lower layer's inodes).
BURST_CACHE=$TEST_TMP/cache/burst
: > "$AUDIT"
rm -f "$CLASSES"/*.log
pids=()
for i in 1 2 3 4 5 6 7 8; do
    o=$TEST_TMP/ov$i
    mkdir -p "$o/upper" "$o/work" "$o/merged"
    mount -t overlay overlay -o "lowerdir=$TRIXIE,upperdir=$o/upper,workdir=$o/work" "$o/merged"
    hooked "$o/merged" "$o/bundle" "$BURST_CACHE"
    _it_jq "$o/bundle/config.json" --arg p "$TRACED" '.hooks.createRuntime[0].path = $p'
done
for i in 1 2 3 4 5 6 7 8; do
    o=$TEST_TMP/ov$i
    (timeout --kill-after=10 180 runc run --bundle "$o/bundle" "bypass-cache-$$-$i" </dev/null >"$o/out" 2>&1
     runc delete -f "bypass-cache-$$-$i" >/dev/null 2>&1) &
    pids+=($!)
done
wait "${pids[@]}"
started=0
for i in 1 2 3 4 5 6 7 8; do
    [ "$(mpich_version "$(cat "$TEST_TMP/ov$i/out")")" = "4.0.2" ] && started=$((started + 1))
    umount "$TEST_TMP/ov$i/merged"
done
assert_eq "$started" 8 "8 at once: all 8 run on the host MPICH 4.0.2"
outcomes=$(sed -n 's/.*cache=\([a-z-]*\).*/\1/p' "$AUDIT" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')
echo "# 8 at once: $outcomes"
assert_eq "$(grep -c 'cache=computed' "$AUDIT")" 1 "8 at once: one computed ($outcomes)"
assert_eq "$(grep -cE 'cache=(waited-hit|hit)' "$AUDIT")" 7 "8 at once: 7 hit or waited for it"
# A rank that waited for the key's one entry leaves its check to the one helper run that mounts,
# as a hit does: the launcher's helper, no process started by the JVM (a second helper run cost
# each waiting rank a JVM process start, about 40 ms of CPU in a burst of 64).
assert_eq "$(ls "$CLASSES"/*.log 2>/dev/null | wc -l)" 8 "8 at once: a class log of each hook"
assert_eq "$(grep -l 'java.lang.ProcessImpl ' "$CLASSES"/*.log 2>/dev/null | wc -l)" 0 \
    "8 at once: no hook, waiting or not, started a process from the JVM ($outcomes)"
assert_eq "$(find "$BURST_CACHE/entries" -type f | wc -l)" 1 "8 at once: one entry"

# --- db register / remove and a configuration change invalidate ---------------------------------
runc_run "$TEST_TMP/trixie"     # the edited copies' entries may have taken its variant's place
runc_run "$TEST_TMP/trixie"
assert_eq "$(last_cache)" "hit" "before the database changes: hit"
bypass --db "$DB" db remove host-mpich >/dev/null
runc_run "$TEST_TMP/trixie"
assert_eq "$(mpich_version "$RUN_OUT")" "4.2.1" "after db remove: the container's own MPICH"
assert_contains "$(tail -n 1 "$AUDIT")" "verdict=none bundles=- codes=nothing-to-inject" "after db remove: no bundle"
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null
runc_run "$TEST_TMP/trixie"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "after db register: the host MPICH again"
assert_eq "$(last_cache)" "computed" "after db register: computed (a new database generation)"
runc_run "$TEST_TMP/trixie"
assert_eq "$(last_cache)" "hit" "after db register, warm: hit"
echo "{\"audit\": {\"file\": \"$AUDIT\"}, \"abiCheck\": \"symbols\"}" > "$CONF"
runc_run "$TEST_TMP/trixie"
assert_eq "$(last_cache)" "computed" "after a configuration change: computed"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "after a configuration change: the host MPICH"

# --- a cache the hook cannot use never fails a container -----------------------------------------
chmod 0755 "$TEST_TMP/cache/decisions"
runc_run "$TEST_TMP/trixie"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "an unsafe cache directory: not used, the container still starts"
assert_eq "$(last_cache)" "off" "an unsafe cache directory: the audit says cache=off"
chmod 0700 "$TEST_TMP/cache/decisions"

# --- every class a warm or idle hook loads is in the class-data archive -------------------------
# A class from outside it makes the JVM open the 5 MB jar and verify the class (9 ms for the first,
# docs/speed.md); and every JVM relocates all of the archive at start. So the training
# (packaging/make-cds.sh, io.bypass.cli.HookTraining) archives what an opted-out hook and a cache hit
# load, and leaves the profiler's path to the jar: one rank per node and image computes.
# The launcher that logs class loads, run as the hook of a cold, a warm and an opted-out start:
# the warm and the idle one load no class from bypass.jar, the cold one only the profiler's,
# planner's and database's (and JNA).
if [ -f "$REPO/target/bypass.jsa" ] || [ -f "$REPO/target/bypass.aot" ]; then
    ARCHIVED_CACHE=$TEST_TMP/cache/archived
    hooked "$TRIXIE" "$TEST_TMP/archived" "$ARCHIVED_CACHE"
    _it_jq "$TEST_TMP/archived/config.json" --arg p "$TRACED" '.hooks.createRuntime[0].path = $p'
    for run in cold warm idle; do
        [ "$run" = idle ] && bundle_annotate "$TEST_TMP/archived" org.supercontainers.bypass.enabled false
        rm -f "$CLASSES"/*.log
        runc_run "$TEST_TMP/archived"
        log=$(ls "$CLASSES"/*.log 2>/dev/null | head -1)
        assert_contains "$(grep -m1 'io.bypass.cli.Main ' "$log" 2>/dev/null)" "shared objects file" \
            "$run hook: bypass itself comes from the archive"
        if [ "$run" = cold ]; then
            assert_eq "$([ "$(grep -c 'source: file:' "$log" 2>/dev/null)" -gt 0 ] && echo yes)" yes \
                "cold hook: the profiler's classes come from the jar, not from the archive"
            assert_eq "$(grep 'source: file:' "$log" 2>/dev/null | sed 's/.*load\] //' \
                | grep -v '^io\.bypass\.\(container\|elf\|plan\|host\|db\)\.\|^com\.sun\.jna\.' | head -5)" "" \
                "cold hook: no other class from the jar"
        else
            assert_eq "$(grep 'source: file:' "$log" 2>/dev/null | sed 's/.*load\] //' | head -5)" "" \
                "$run hook: no class from the jar"
        fi
        if [ "$run" = warm ]; then
            # Its helper is the one the launcher started (--exec-with-channel): the JVM starts no process.
            assert_eq "$(grep -c 'java.lang.ProcessImpl ' "$log")" 0 "warm hook: the launcher's helper, no process started by the JVM"
            assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "warm hook: the host MPICH, mounted by the launcher's helper"
        fi
    done
    assert_eq "$(mpich_version "$RUN_OUT")" "4.2.1" "the opted-out start ran on the image's own MPICH"
else
    ok "every class a hook loads is in the archive # skip: no class-data archive was made (packaging/make-cds.sh)"
fi

finish
