#!/usr/bin/env bash
# GPUs and fabrics with real containers: a fake NVIDIA driver tree (stub libraries with the driver's
# file names and sonames, device nodes made with mknod) injected by the hook, precreate and CDI,
# or refused by NVIDIA_REQUIRE_CUDA; Debian 12's libfabric injected into a Debian 13 container, and
# refused for a binary that needs a newer FABRIC_1.x; fingerprint and match on this machine.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

NOMPI=$(rootfs_for trixie-nompi)
FABRIC=$(rootfs_for trixie-fabric)
TRIXIE=$(rootfs_for trixie)
BULLSEYE=$(rootfs_for bullseye)
DB=$(new_db)
_it_tmp
chmod 755 "$TEST_TMP"

# --- a fake driver 535.104.05 (CUDA 12.2) ---------------------------------------------------------
DRIVER=$TEST_TMP/nvidia
"$REPO/tests/fixtures/fake-nvidia/build.sh" "$DRIVER"
DEVDIR=/dev/bypass-it-nvidia-$$
mkdir -p "$DEVDIR"
mknod -m 666 "$DEVDIR/nvidia0" c 195 0
mknod -m 666 "$DEVDIR/nvidia1" c 195 1
mknod -m 666 "$DEVDIR/nvidiactl" c 195 255
trap 'rm -rf "$DEVDIR"' EXIT
cat > "$TEST_TMP/nvidia.json" <<JSON
{"name": "fake-nvidia", "kind": "cuda", "libraries": ["$DRIVER/lib/lib*.so.*.*"], "dependencies": "none",
 "devices": ["$DEVDIR/*"], "properties": {"cuda.brand": "Tesla"}}
JSON
capture bypass --db "$DB" db register "$TEST_TMP/nvidia.json"
assert_eq "$RC" 0 "the fake driver tree registers"
capture bypass --db "$DB" --json db show fake-nvidia
assert_eq "$(printf '%s' "$OUT" | jq -r '.properties["cuda.driver"] + " " + .properties["cuda.version"]')" "535.104.05 12.2" \
    "registration finds driver 535.104.05 from the file names, and CUDA 12.2 from the table"
assert_eq "$(printf '%s' "$OUT" | jq -r '.properties["capability.libnvidia-encode.so.1"]')" "video" "libraries grouped by capability"

PROBE="/app/cuda_probe; for d in $DEVDIR/*; do echo \"node: \${d##*/}\"; done"
make_bundle "$NOMPI" "$TEST_TMP/gpu" /bin/bash -c "$PROBE"
bundle_env "$TEST_TMP/gpu" NVIDIA_VISIBLE_DEVICES 0
bundle_env "$TEST_TMP/gpu" NVIDIA_REQUIRE_CUDA "cuda>=12.0 brand=tesla"
bundle_hook "$TEST_TMP/gpu" createRuntime --db "$DB" hook
mounts=$(mounts_snapshot)
runc_run "$TEST_TMP/gpu"
assert_eq "$RUN_RC" 0 "hook: a container whose NVIDIA_REQUIRE_CUDA is met starts"
assert_contains "$RUN_OUT" "cuda driver version: 12.2" "hook: the container loads the host driver library"
assert_contains "$RUN_OUT" "node: nvidia0" "hook: the selected GPU's node is there"
assert_contains "$RUN_OUT" "node: nvidiactl" "hook: the control node is there"
assert_not_contains "$RUN_OUT" "node: nvidia1" "hook: the other GPU's node is not"
assert_no_new_mounts "$mounts" "hook: no mount left on the host"

make_bundle "$NOMPI" "$TEST_TMP/gpu-old-driver" /app/cuda_probe
bundle_env "$TEST_TMP/gpu-old-driver" NVIDIA_VISIBLE_DEVICES all
bundle_env "$TEST_TMP/gpu-old-driver" CUDA_VERSION 12.4.1
bundle_hook "$TEST_TMP/gpu-old-driver" createRuntime --db "$DB" hook
runc_run "$TEST_TMP/gpu-old-driver"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "hook: a container needing CUDA 12.4 does not start"
assert_contains "$RUN_OUT" "the requirement 'cuda>=12.4' is not met by the host (CUDA 12.2, driver 535.104.05" \
    "hook: the refusal names the unmet term and the host's versions"
assert_contains "$RUN_OUT" "update the host's NVIDIA driver" "hook: and says to update the driver"

make_bundle "$NOMPI" "$TEST_TMP/not-gpu" /app/cuda_probe
bundle_hook "$TEST_TMP/not-gpu" createRuntime --db "$DB" hook
runc_run "$TEST_TMP/not-gpu"
assert_contains "$RUN_OUT" "no CUDA driver" "hook: a container without NVIDIA_VISIBLE_DEVICES gets nothing"

# precreate and CDI carry the driver bundle too.
HOOKS=$TEST_TMP/hooks.d
mkdir -p "$HOOKS"
sed -e "s#@PREFIX@/bin/bypass#$BYPASS#" -e "s#@DB@#$DB#" "$REPO/hook/hooks.d/50-bypass-precreate.json" > "$HOOKS/50-bypass-precreate.json"
PODMAN_HOOKS_DIR=$HOOKS podman_run "$NOMPI" --annotation org.supercontainers.bypass.enabled=true \
    -e NVIDIA_VISIBLE_DEVICES=0 -e NVIDIA_REQUIRE_CUDA=cuda\>=12.0 -- /bin/bash -c "$PROBE"
assert_contains "$RUN_OUT" "cuda driver version: 12.2" "precreate: the container loads the host driver library"
assert_contains "$RUN_OUT" "node: nvidia0" "precreate: the GPU node is declared in the config"
bypass --db "$DB" cdi generate --output "$TEST_TMP/cdi" >/dev/null
mkdir -p /var/run/cdi
cp "$TEST_TMP/cdi/bypass-fake-nvidia.json" /var/run/cdi/bypass-it-$$.json
podman_run "$NOMPI" --device bypass.io/bundle=fake-nvidia -- /bin/bash -c "$PROBE"
rm -f /var/run/cdi/bypass-it-$$.json
assert_contains "$RUN_OUT" "cuda driver version: 12.2" "CDI: podman --device bypass.io/bundle=fake-nvidia injects the driver"
assert_contains "$RUN_OUT" "node: nvidia1" "CDI: with every device node of the bundle"
bypass --db "$DB" db remove fake-nvidia >/dev/null

# --- libfabric --------------------------------------------------------------------------------------
capture bypass --db "$DB" db register "$REPO/compat-db/examples/host-libfabric.json"
assert_eq "$RC" 0 "Debian 12's libfabric registers"
host_fabric=$(bypass inspect /usr/lib/x86_64-linux-gnu/libfabric.so.1 | sed -n 's/.*defines: *//p' | tr ' ' '\n' | tail -1)
make_bundle "$FABRIC" "$TEST_TMP/fabric-plain" /app/fabric_old
runc_run "$TEST_TMP/fabric-plain"
assert_contains "$RUN_OUT" "libfabric: 2.1" "trixie without the hook: its own libfabric 2.1"
make_bundle "$FABRIC" "$TEST_TMP/fabric-old" /app/fabric_old
bundle_hook "$TEST_TMP/fabric-old" createRuntime --db "$DB" hook
runc_run "$TEST_TMP/fabric-old"
assert_eq "$RUN_RC" 0 "hook: a binary needing FABRIC_1.3 starts"
assert_contains "$RUN_OUT" "libfabric: 1.17" "hook: it runs against the host's libfabric 1.17"
make_bundle "$FABRIC" "$TEST_TMP/fabric-new" /app/fabric_new
bundle_hook "$TEST_TMP/fabric-new" createRuntime --db "$DB" hook
runc_run "$TEST_TMP/fabric-new"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "hook: a binary needing FABRIC_1.8 does not start"
assert_contains "$RUN_OUT" "/app/fabric_new needs FABRIC_1.8 from libfabric.so.1" "hook: the refusal names the version it needs"
assert_contains "$RUN_OUT" "defines up to $host_fabric" "hook: and what the host defines"

# --- fingerprint and match on this machine ------------------------------------------------------------
capture bypass --db "$DB" --json fingerprint
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
level=1
for l in "cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3" "avx avx2 bmi1 bmi2 f16c fma abm movbe xsave" \
    "avx512f avx512bw avx512cd avx512dq avx512vl"; do
    for f in $l; do [[ "$flags" == *" $f "* ]] || break 2; done
    level=$((level + 1))
done
assert_eq "$(printf '%s' "$OUT" | jq -r .cpu.vendor)" "$(grep -m1 vendor_id /proc/cpuinfo | cut -d: -f2 | tr -d ' ')" "fingerprint: CPU vendor"
assert_eq "$(printf '%s' "$OUT" | jq -r .cpu.x86_64Level)" "$level" "fingerprint: x86-64 level (v$level from /proc/cpuinfo)"
assert_eq "$(printf '%s' "$OUT" | jq -r .kernel)" "$(uname -r)" "fingerprint: kernel"
assert_eq "$(printf '%s' "$OUT" | jq -r .glibc)" "$(ldd --version | head -1 | awk '{ print $NF }')" "fingerprint: glibc"
assert_eq "$(printf '%s' "$OUT" | jq -r '.bundles[0].name')" "host-libfabric" "fingerprint: registered bundles"
target=$(printf '%s' "$OUT" | jq -r .cpu.target)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null
capture bypass --db "$DB" match --rootfs "$TRIXIE" --exec /app/mpi_hello \
    --annotation org.supercontainers.hardware.cpu.optimized.version="$target"
assert_eq "$RC/$(printf '%s' "$OUT" | head -1)" "0/GREEN" "match: Debian 13 built for this CPU is green"
capture bypass --db "$DB" match --rootfs "$BULLSEYE" --exec /app/mpi_hello
assert_eq "$RC/$(printf '%s' "$OUT" | head -1)" "3/RED" "match: Debian 11 is red (glibc)"
assert_contains "$OUT" "glibc      red" "match: the glibc dimension says why"
finish
