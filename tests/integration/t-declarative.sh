#!/usr/bin/env bash
# The declarative fronts: podman's precreate hook, patch-bundle + plain runc, CDI specs with
# podman --device, Charliecloud through bypass-ch-run, rootless podman; bad input touches nothing.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
BULLSEYE=$(rootfs_for bullseye)
NOMPI=$(rootfs_for trixie-nompi)
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host MPICH"
HOOKS=$TEST_TMP/hooks.d
mkdir -p "$HOOKS"
chmod 755 "$TEST_TMP" "$HOOKS"
sed -e "s#@PREFIX@/bin/bypass#$BYPASS#" -e "s#@DB@#$DB#" "$REPO/hook/hooks.d/50-bypass-precreate.json" > "$HOOKS/50-bypass-precreate.json"
export PODMAN_HOOKS_DIR=$HOOKS
ANN=(--annotation org.supercontainers.bypass.enabled=true)
SHOW='/app/mpi_hello; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; while read -r l; do case $l in *libmpich*) echo "mount: $l" ;; esac; done < /proc/self/mountinfo'

# --- podman with only the precreate hook --------------------------------------------------------
podman_run "$TRIXIE" -- /bin/true
mounts=$(mounts_snapshot)
podman_run "$TRIXIE" "${ANN[@]}" -- /bin/bash -c "$SHOW"
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "precreate: trixie runs against the host MPICH"
assert_contains "$RUN_OUT" "/usr/lib/x86_64-linux-gnu/libmpich.so.12.4.1 ro,nosuid,nodev" \
    "precreate: the host library is mounted read-only, nosuid, nodev over the container's"
podman_run "$NOMPI" "${ANN[@]}" --annotation org.supercontainers.mpi.portability.mode=mpi_system -- \
    /bin/bash -c 'echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; /lib64/ld-linux-x86-64.so.2 --list /opt/bypass/lib/libmpich.so.12'
assert_contains "$RUN_OUT" "LD_LIBRARY_PATH=/opt/bypass/lib" "precreate: LD_LIBRARY_PATH names bypass' library directory"
assert_contains "$RUN_OUT" "libucp.so.0 => /opt/bypass/lib/libucp.so.0" "precreate: added libraries are found through it"
podman_run "$BULLSEYE" "${ANN[@]}" -- /app/mpi_hello
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "precreate: bullseye does not start"
assert_contains "$RUN_OUT" "bypass: refused: host file /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 needs GLIBC_2.34" \
    "precreate: the refusal reaches the user through the added hook"
assert_no_new_mounts "$mounts" "precreate: no mount left on the host"

# --- precreate on bad input -------------------------------------------------------------------
capture bash -c "printf 'not json' | '$BYPASS' --db '$DB' precreate"
assert_eq "$RC" 2 "precreate: a config that is not JSON gives exit 2"
assert_one_line "$ERR" "precreate: one line"
assert_eq "$OUT" "" "precreate: nothing on stdout"
capture bash -c "printf '%s' '{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/nonexistent\"},\"x-unknown\":{\"kept\":[1,2]}}' | '$BYPASS' --db '$DB' precreate"
assert_eq "$RC" 2 "precreate: a missing rootfs gives exit 2"
capture bash -c "printf '%s' '{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"$NOMPI\"},\"x-unknown\":{\"kept\":[1,2]}}' | '$BYPASS' --db '$DB' precreate"
assert_eq "$OUT" "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"$NOMPI\"},\"x-unknown\":{\"kept\":[1,2]}}" \
    "precreate: nothing to inject returns the config byte for byte"

# --- patch-bundle, then a plain runc run -------------------------------------------------------
for flavour in trixie bullseye; do
    rootfs=$TRIXIE
    [ "$flavour" = bullseye ] && rootfs=$BULLSEYE
    make_bundle "$rootfs" "$TEST_TMP/pb-$flavour" /app/mpi_hello
    jq '."x-site-extension" = {"keep": true}' "$TEST_TMP/pb-$flavour/config.json" > "$TEST_TMP/c.json"
    mv "$TEST_TMP/c.json" "$TEST_TMP/pb-$flavour/config.json"
    capture bypass --db "$DB" patch-bundle "$TEST_TMP/pb-$flavour"
    PB_RC=$RC
    assert_eq "$(jq -c '."x-site-extension"' "$TEST_TMP/pb-$flavour/config.json")" '{"keep":true}' \
        "patch-bundle $flavour: unknown fields are kept"
    runc_run "$TEST_TMP/pb-$flavour"
    case $flavour in
        trixie)
            assert_eq "$PB_RC" 0 "patch-bundle trixie: exit 0"
            assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "patch-bundle + runc run: trixie runs against the host MPICH" ;;
        bullseye)
            assert_eq "$PB_RC" 3 "patch-bundle bullseye: exit 3"
            assert_contains "$RUN_OUT" "bypass: refused: host file" "patch-bundle + runc run: bullseye refused with the reason" ;;
    esac
    before=$(sha256sum "$TEST_TMP/pb-$flavour/config.json")
    capture bypass --db "$DB" patch-bundle "$TEST_TMP/pb-$flavour"
    assert_eq "$(sha256sum "$TEST_TMP/pb-$flavour/config.json")" "$before" "patch-bundle $flavour: a second run changes nothing"
done
mkdir -p "$TEST_TMP/empty-bundle"
capture bypass --db "$DB" patch-bundle "$TEST_TMP/empty-bundle"
assert_eq "$RC" 2 "patch-bundle without config.json: exit 2"
assert_one_line "$ERR" "patch-bundle without config.json: one line"
assert_eq "$(ls -A "$TEST_TMP/empty-bundle")" "" "patch-bundle without config.json: nothing written"
make_bundle "$TRIXIE" "$TEST_TMP/broken-bundle" /app/mpi_hello
printf '{"ociVersion": ' > "$TEST_TMP/broken-bundle/config.json"
capture bypass --db "$DB" patch-bundle "$TEST_TMP/broken-bundle"
assert_eq "$RC/$(cat "$TEST_TMP/broken-bundle/config.json")" '2/{"ociVersion": ' "patch-bundle of a broken config.json: exit 2, file untouched"
assert_eq "$(ls -A "$TEST_TMP/broken-bundle")" "config.json" "patch-bundle of a broken config.json: no temporary file left"

# --- CDI ------------------------------------------------------------------------------------------
CDI=$TEST_TMP/cdi
capture bypass --db "$DB" cdi generate --output "$CDI"
assert_eq "$RC" 0 "cdi generate"
spec=$CDI/bypass-host-mpich.json
assert_eq "$(stat -c %a "$spec")" "644" "cdi: spec mode 0644"
assert_eq "$(jq -r '.cdiVersion + " " + .kind + " " + .devices[0].name' "$spec")" "0.4.0 bypass.io/bundle host-mpich" \
    "cdi: one device per bundle, lowest cdiVersion for tmpfs mounts (0.4.0)"
mkdir -p /var/run/cdi
cp "$spec" /var/run/cdi/bypass-it-$$.json
podman_run "$TRIXIE" --device bypass.io/bundle=host-mpich -- /app/mpi_hello
rm -f /var/run/cdi/bypass-it-$$.json
assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "podman --device bypass.io/bundle=host-mpich injects the host MPICH"
touch "$CDI/bypass-gone.json"
printf '{"cdiVersion":"0.3.0","kind":"bypass.io/bundle","devices":[]}' > "$CDI/bypass-gone.json"
printf '{"cdiVersion":"0.3.0","kind":"vendor.example/gpu","devices":[]}' > "$CDI/bypass-other-vendor.json"
bypass --db "$DB" cdi generate --output "$CDI" >/dev/null
assert_eq "$(ls "$CDI" | sort | tr '\n' ' ')" "bypass-host-mpich.json bypass-other-vendor.json " \
    "cdi: stale bypass specs removed, other vendors' files kept"

# --- Charliecloud through the wrapper ------------------------------------------------------------
if command -v ch-run >/dev/null; then
    export USER=${USER:-root}
    capture env BYPASS="$BYPASS" BYPASS_DB="$DB" "$REPO/packaging/bypass-ch-run" "$TRIXIE" -- /app/mpi_hello
    assert_eq "$(mpich_version "$OUT")" "4.0.2" "bypass-ch-run: ch-run runs the MPI program against the host MPICH"
    capture env BYPASS="$BYPASS" BYPASS_DB="$DB" "$REPO/packaging/bypass-ch-run" "$BULLSEYE" -- /app/mpi_hello
    assert_eq "$RC" 3 "bypass-ch-run: bullseye refused (exit 3)"
    assert_contains "$ERR" "glibc-too-old" "bypass-ch-run: with the reason"
    assert_not_contains "$OUT" "MPICH Version" "bypass-ch-run: the program never ran"
else
    echo "# SKIP Charliecloud: ch-run is not installed (apt-get install charliecloud-runtime)"
fi

# --- rootless podman ------------------------------------------------------------------------------
user=bypass-rootless
if ! id "$user" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$user"
fi
grep -q "^$user:" /etc/subuid || echo "$user:300000:65536" >> /etc/subuid
grep -q "^$user:" /etc/subgid || echo "$user:300000:65536" >> /etc/subgid
RUN_RC=0
RUN_OUT=$(su - "$user" -c "cd /tmp && timeout 180 podman --hooks-dir '$HOOKS' run --rm --runtime runc --network none \
    --ulimit host --annotation org.supercontainers.bypass.enabled=true --rootfs '$TRIXIE' /app/mpi_hello" 2>&1) || RUN_RC=$?
if [ "$RUN_RC" -ne 0 ] && printf '%s' "$RUN_OUT" | grep -qiE "newuidmap|subuid|user namespace|cannot set up|not permitted"; then
    echo "# SKIP rootless podman cannot run on this machine: $(printf '%s' "$RUN_OUT" | tail -1)"
else
    assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "rootless podman with the precreate hook injects the host MPICH"
fi
finish
