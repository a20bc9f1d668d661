#!/usr/bin/env bash
# The OCI hook under real runc: the host MPICH swapped into a Debian 13 container, a Debian 11
# container refused with bypass' reason, a bundle's device node usable, nothing left behind, and
# hostile rootfs layouts that must not lead bypass out of the rootfs.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
BULLSEYE=$(rootfs_for bullseye)
NOMPI=$(rootfs_for trixie-nompi)
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host MPICH"

# --- Debian 13: its own MPICH without the hook, the host's under it ---------------------------
make_bundle "$TRIXIE" "$TEST_TMP/plain" /app/mpi_hello
runc_run "$TEST_TMP/plain"
assert_eq "$RUN_RC" 0 "trixie without hook runs"
assert_eq "$(mpich_version "$RUN_OUT")" "4.2.1" "trixie without hook: its own MPICH 4.2.1"

for stage in createRuntime prestart; do
    mounts=$(mounts_snapshot)
    snap=$(rootfs_snapshot "$TRIXIE")
    make_bundle "$TRIXIE" "$TEST_TMP/hook-$stage" /app/mpi_hello
    bundle_hook "$TEST_TMP/hook-$stage" "$stage" --db "$DB" hook
    runc_run "$TEST_TMP/hook-$stage"
    assert_eq "$RUN_RC" 0 "trixie under the $stage hook runs"
    assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "trixie under the $stage hook: the host MPICH 4.0.2"
    assert_contains "$RUN_OUT" "rank 0 of 1" "trixie under the $stage hook: MPI_Init works with the host library"
    assert_no_new_mounts "$mounts" "trixie/$stage: no mount left on the host"
    assert_rootfs_unchanged "$snap" "$TRIXIE" "trixie/$stage: rootfs unchanged"
done

# --- Debian 11: runs its own MPICH 3.4 alone; refused with the one-line reason under the hook ----
make_bundle "$BULLSEYE" "$TEST_TMP/bullseye-plain" /app/mpi_hello
runc_run "$TEST_TMP/bullseye-plain"
assert_eq "$(mpich_version "$RUN_OUT")" "3.4.1" "bullseye without hook runs its own MPICH 3.4.1"
mounts=$(mounts_snapshot)
make_bundle "$BULLSEYE" "$TEST_TMP/bullseye" /app/mpi_hello
bundle_hook "$TEST_TMP/bullseye" createRuntime --db "$DB" hook
runc_run "$TEST_TMP/bullseye"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "bullseye under the hook does not start"
assert_not_contains "$RUN_OUT" "MPICH Version" "bullseye: the program never ran"
assert_contains "$RUN_OUT" "bypass: refused: host file /usr/lib/x86_64-linux-gnu/libmpich.so.12.2.2 needs GLIBC_2.34" \
    "bullseye: runc's error carries bypass' reason"
assert_contains "$RUN_OUT" "[glibc-too-old]" "bullseye: with the finding's code"
assert_no_new_mounts "$mounts" "bullseye: no mount left on the host"

# --- added libraries: a container without MPI asks for the system MPI (ld.so.cache path) -------
mounts=$(mounts_snapshot)
snap=$(rootfs_snapshot "$NOMPI")
make_bundle "$NOMPI" "$TEST_TMP/system" /lib64/ld-linux-x86-64.so.2 --list /opt/bypass/lib/libmpich.so.12
bundle_annotate "$TEST_TMP/system" org.supercontainers.mpi.portability.mode mpi_system
bundle_hook "$TEST_TMP/system" createRuntime --db "$DB" hook
cache_before=$(sha256sum "$NOMPI/etc/ld.so.cache")
runc_run "$TEST_TMP/system"
assert_eq "$RUN_RC" 0 "mpi_system: container starts"
assert_contains "$RUN_OUT" "libucp.so.0 => /opt/bypass/lib/libucp.so.0" \
    "mpi_system: the container's loader finds added dependencies through the generated cache"
assert_contains "$RUN_OUT" "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6" "mpi_system: the container's own libc stays"
assert_eq "$(sha256sum "$NOMPI/etc/ld.so.cache")" "$cache_before" "mpi_system: the image's ld.so.cache is untouched"
assert_no_new_mounts "$mounts" "mpi_system: no mount left on the host"
assert_rootfs_unchanged "$snap" "$NOMPI" "mpi_system: only mount points left in the rootfs" "$NOMPI/opt" "$NOMPI/opt/bypass"
assert_eq "$(ls -A "$NOMPI/opt/bypass")" "" "mpi_system: the mount point is empty"
assert_eq "$(ls -A /run/bypass 2>/dev/null | grep -vx state)" "" "mpi_system: no scratch file left on the host (state/ holds poststop's records)"

# --- a device node from a bundle ---------------------------------------------------------------
if [ ! -f /sys/fs/cgroup/devices/devices.allow ]; then
    echo "# SKIP device tests: no cgroup v1 devices controller here (cgroup v2 needs the declarative modes)"
else
    DEV=/dev/bypass-it-loopctl
    rm -f "$DEV"
    mknod -m 0600 "$DEV" c 10 237
    cat > "$TEST_TMP/device.json" <<JSON
    {"name": "it-device", "kind": "generic", "devices": ["$DEV"],
     "activation": {"annotations": {"org.supercontainers.bypass.test": "device"}}}
JSON
    bypass --db "$DB" db register "$TEST_TMP/device.json" >/dev/null || not_ok "register the device bundle"
    make_bundle "$NOMPI" "$TEST_TMP/device" /bin/bash -c "exec 3<>$DEV && echo device-opened"
    bundle_annotate "$TEST_TMP/device" org.supercontainers.bypass.test device
    bundle_hook "$TEST_TMP/device" createRuntime --db "$DB" hook
    runc_run "$TEST_TMP/device"
    assert_eq "$RUN_RC" 0 "device: container starts"
    assert_contains "$RUN_OUT" "device-opened" "device: the bundle's device node is usable inside (cgroup rule added)"
    make_bundle "$NOMPI" "$TEST_TMP/device-control" /bin/bash -c "exec 3<>$DEV && echo device-opened"
    jq --arg d "$DEV" '.mounts += [{"destination": $d, "type": "bind", "source": $d, "options": ["bind"]}]' \
        "$TEST_TMP/device-control/config.json" > "$TEST_TMP/dc.json" && mv "$TEST_TMP/dc.json" "$TEST_TMP/device-control/config.json"
    runc_run "$TEST_TMP/device-control"
    assert_contains "$RUN_OUT" "Operation not permitted" "device control: the same node without bypass' rule is refused"
    bypass --db "$DB" db remove it-device >/dev/null
    rm -f "$DEV"
fi

# --- hostile rootfs: the paths bypass writes to lead out of the rootfs --------------------------
# opt-*: /opt (where bypass mounts its tmpfs) is a link to a host directory: bypass never follows it
#        out; it refuses while the re-rooted target is missing, and lands inside the rootfs once it exists.
# cache-*: /etc/ld.so.cache (what bypass mounts over) is a link to the host's cache, or through the
#        container's procfs to the host's root; bypass must refuse, touching nothing.
HOSTDIR=$(mktemp -d /tmp/bypass-hostile-target.XXXXXX)
host_cache=$(sha256sum /etc/ld.so.cache)
for layout in opt-absolute opt-dotdot cache-absolute cache-magic; do
    HOSTILE=$TEST_TMP/hostile-$layout
    cp -a "$NOMPI" "$HOSTILE"
    case $layout in
        opt-absolute) rm -rf "$HOSTILE/opt"; ln -s "$HOSTDIR" "$HOSTILE/opt" ;;
        opt-dotdot) rm -rf "$HOSTILE/opt"; ln -s "../../../../../../../../../..$HOSTDIR" "$HOSTILE/opt" ;;
        cache-absolute) rm -f "$HOSTILE/etc/ld.so.cache"; ln -s /etc/ld.so.cache "$HOSTILE/etc/ld.so.cache" ;;
        cache-magic) rm -f "$HOSTILE/etc/ld.so.cache"; ln -s /proc/1/root/etc/ld.so.cache "$HOSTILE/etc/ld.so.cache" ;;
    esac
    mounts=$(mounts_snapshot)
    make_bundle "$HOSTILE" "$TEST_TMP/hostile-$layout-bundle" /lib64/ld-linux-x86-64.so.2 --list /opt/bypass/lib/libmpich.so.12
    bundle_annotate "$TEST_TMP/hostile-$layout-bundle" org.supercontainers.mpi.portability.mode mpi_system
    bundle_hook "$TEST_TMP/hostile-$layout-bundle" createRuntime --db "$DB" hook
    runc_run "$TEST_TMP/hostile-$layout-bundle"
    assert_eq "$(ls -A "$HOSTDIR")" "" "hostile/$layout: nothing written into the host directory"
    assert_eq "$(sha256sum /etc/ld.so.cache)" "$host_cache" "hostile/$layout: the host's ld.so.cache is untouched"
    assert_no_new_mounts "$mounts" "hostile/$layout: no mount on the host"
    assert_contains "$RUN_OUT" "bypass: cannot inject into container" "hostile/$layout: refused by bypass"
    assert_not_contains "$RUN_OUT" "libucp" "hostile/$layout: the program never ran"
    case $layout in
        opt-*)
            # Once the link's target exists inside the rootfs, bypass follows it there, and only there.
            mkdir -p "$HOSTILE$HOSTDIR"
            runc_run "$TEST_TMP/hostile-$layout-bundle"
            assert_eq "$RUN_RC" 0 "hostile/$layout with the target inside: the container starts"
            assert_contains "$RUN_OUT" "=> /opt/bypass/lib/libucp.so.0" "hostile/$layout: bypass' files are re-rooted inside"
            assert_eq "$(test -d "$HOSTILE$HOSTDIR/bypass" && echo inside)" "inside" \
                "hostile/$layout: the mount point was made inside the rootfs"
            assert_eq "$(ls -A "$HOSTDIR")" "" "hostile/$layout: still nothing in the host directory"
            assert_no_new_mounts "$mounts" "hostile/$layout: still no mount on the host" ;;
    esac
done
rmdir "$HOSTDIR"

# --- not asked: nothing registered applies, the hook exits 0 and touches nothing ----------------
make_bundle "$NOMPI" "$TEST_TMP/none" /app/hello
bundle_hook "$TEST_TMP/none" createRuntime --db "$DB" hook
runc_run "$TEST_TMP/none"
assert_eq "$RUN_RC" 0 "a container no bundle applies to starts"
assert_contains "$RUN_OUT" "hello from a container without MPI" "and runs its program"

# --- the hook refuses an untrusted database ------------------------------------------------------
chmod o+w "$DB"
make_bundle "$TRIXIE" "$TEST_TMP/untrusted" /app/mpi_hello
bundle_hook "$TEST_TMP/untrusted" createRuntime --db "$DB" hook
runc_run "$TEST_TMP/untrusted"
assert_contains "$RUN_OUT" "writable by non-root users; refusing to use the database" "a world-writable database is refused"
chmod o-w "$DB"
finish
