#!/usr/bin/env bash
# Image shapes HPC sites really run (issue 11), each decided by bypass and checked against what
# really happens: the host library is forced in with plain bind mounts in config.json and the
# program is run. An inject must mean the program runs on the host MPICH 4.0.2 under the hook; a
# refuse must mean the forced run fails, and the refusal names the consumer and the symbol.
#   script      /run.sh (#!/bin/bash ... exec /app/mpi_new_call): the MPI-4.1 call the host lacks
#   bash -c     a Spack-style view (/opt/view/lib -> /opt/software/...) chosen by a search path the
#               command itself sets, next to Debian's own copy in /usr/lib: every copy is replaced
#   RUNPATH     the same view reached through the program's DT_RUNPATH
#   weak        MPIX_Stream_create referenced weakly and called only when defined
#   BIND_NOW    the container's own libmpichfort (bound at load) with a bundle of libmpich alone
# The containers run with the createRuntime and poststop hooks, and the image is left as it was.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
_it_tmp
chmod 755 "$TEST_TMP"
HOSTLIB=/usr/lib/x86_64-linux-gnu
DB=$(new_db)
bypass --db "$DB" db register "$REPO/compat-db/examples/host-mpich.json" >/dev/null || not_ok "register host-mpich"
DBC=$(new_db)
printf '{"name": "host-mpich-c", "kind": "mpi", "version": "4.0.2", "libraries": ["%s/libmpich.so.12"], "mpi": {"family": "mpich"}}\n' \
    "$HOSTLIB" > "$TEST_TMP/host-mpich-c.json"
bypass --db "$DBC" db register "$TEST_TMP/host-mpich-c.json" >/dev/null || not_ok "register host-mpich-c"

# The image: Debian 13 with MPICH 4.2.1, plus the shapes' files (hard links: the cache stays as it is).
IMG=$TEST_TMP/img
cp -al "$TRIXIE" "$IMG"
printf '#!/bin/bash\n# A site run script.\necho "starting the solver"\nexec /app/mpi_new_call "$@"\n' > "$IMG/run.sh"
printf '#!/bin/bash\nexec /app/mpi_hello "$@"\n' > "$IMG/run-ok.sh"
chmod 755 "$IMG/run.sh" "$IMG/run-ok.sh"
view=/opt/software/linux-debian13-x86_64/gcc-14/mpich-4.2.1-abcdefg
mkdir -p "$IMG$view/lib" "$IMG/opt/view/lib"
cp "$IMG$HOSTLIB/libmpich.so.12.4.1" "$IMG$view/lib/libmpich.so.12.4.1"
ln -s libmpich.so.12.4.1 "$IMG$view/lib/libmpich.so.12"
ln -s libmpich.so.12.4.1 "$IMG$view/lib/libmpi.so.12"
ln -s "$view/lib/libmpich.so.12" "$IMG/opt/view/lib/libmpich.so.12"
ln -s "$view/lib/libmpi.so.12" "$IMG/opt/view/lib/libmpi.so.12"
# Programs built here against the host's MPICH headers; they need nothing newer than glibc 2.36.
cat > "$TEST_TMP/weak.c" <<'EOF'
/* References MPIX_Stream_create (MPICH 4.1) weakly and calls it only when it is defined. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
extern int MPIX_Stream_create(MPI_Info info, void *stream) __attribute__((weak));
extern int MPIX_Stream_free(void *stream) __attribute__((weak));
int main(int argc, char **argv)
{
	char version[MPI_MAX_LIBRARY_VERSION_STRING];
	int len = 0;
	MPI_Get_library_version(version, &len);
	char *nl = strchr(version, '\n');
	if (nl)
		*nl = '\0';
	printf("library: %s\n", version);
	MPI_Init(&argc, &argv);
	printf("streams: %s\n", MPIX_Stream_create && MPIX_Stream_free ? "available" : "not available");
	MPI_Finalize();
	return 0;
}
EOF
gcc -O1 -o "$IMG/app/weak" "$TEST_TMP/weak.c" -I/usr/include/x86_64-linux-gnu/mpich -L"$HOSTLIB" -l:libmpich.so.12 \
    || not_ok "build weak"
gcc -O1 -o "$IMG/app/rp_hello" "$REPO/tests/programs/mpi_hello.c" -I/usr/include/x86_64-linux-gnu/mpich \
    -L"$HOSTLIB" -l:libmpich.so.12 -Wl,--enable-new-dtags -Wl,-rpath,/opt/view/lib || not_ok "build rp_hello"
gcc -O1 -o "$IMG/app/fort_hello" "$REPO/tests/programs/mpi_hello.c" -I/usr/include/x86_64-linux-gnu/mpich \
    -L"$HOSTLIB" -Wl,--no-as-needed -l:libmpichfort.so.12 -l:libmpich.so.12 || not_ok "build fort_hello"
readelf -d "$IMG/app/fort_hello" | grep -q "libmpichfort.so.12" || not_ok "fort_hello needs libmpichfort"
SNAP=$(rootfs_snapshot "$IMG")

# One case: the verdict of `check` (through the hook's own request: args and env), the run under
# the hooks, and the forced run with the given host files bind-mounted over the given targets.
run_hooked() { # NAME DB ARGS...   (the image: $HOOKED_IMG, else $IMG)
    local name=$1 db=$2
    shift 2
    make_bundle "${HOOKED_IMG:-$IMG}" "$TEST_TMP/b-$name" "$@"
    bundle_hook "$TEST_TMP/b-$name" createRuntime --db "$db" hook
    bundle_hook "$TEST_TMP/b-$name" poststop --db "$db" hook --stage poststop
    runc_run "$TEST_TMP/b-$name"
}
run_forced() { # NAME SOURCE:TARGET[,SOURCE:TARGET...] ARGS...   (the image: $FORCED_IMG, else $IMG)
    local name=$1 binds=$2 pair
    shift 2
    make_bundle "${FORCED_IMG:-$IMG}" "$TEST_TMP/f-$name" "$@"
    IFS=, read -r -a pairs <<< "$binds"
    for pair in "${pairs[@]}"; do
        _it_jq "$TEST_TMP/f-$name/config.json" --arg s "${pair%%:*}" --arg t "${pair#*:}" \
            '.mounts += [{"destination": $t, "type": "bind", "source": $s, "options": ["bind", "ro"]}]'
    done
    runc_run "$TEST_TMP/f-$name"
}
mpich=$HOSTLIB/libmpich.so.12.2.2
usrcopy=$HOSTLIB/libmpich.so.12.4.1

# --- script entrypoint that execs an MPI-4.1 caller --------------------------------------------
capture bypass --db "$DB" check --rootfs "$IMG" --exec /run.sh
assert_eq "$RC" 3 "script: check refuses"
assert_contains "$OUT" "missing-symbols" "script: with missing-symbols"
assert_contains "$OUT" "MPI_Comm_attach_buffer" "script: naming the symbol"
assert_contains "$OUT" "/app/mpi_new_call" "script: naming the consumer the script runs"
run_hooked script "$DB" /run.sh
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo refused)" "refused" "script: the hook refuses the start"
assert_contains "$RUN_OUT" "[missing-symbols]" "script: runc shows the reason"
run_forced script "$mpich:$usrcopy" /run.sh
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "script: forced onto the host library, it really fails"
assert_contains "$RUN_OUT" "MPI_Comm_attach_buffer" "script: the forced run dies on that very symbol"
run_hooked script-ok "$DB" /run-ok.sh
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.0.2" "script running an MPI-3 program: runs on the host MPICH 4.0.2"

# --- Spack-style view chosen by the command's own search path ------------------------------------
shc="LD_LIBRARY_PATH=/opt/view/lib exec /app/mpi_hello"
run_forced view-one "$mpich:$usrcopy" /bin/bash -c "$shc"
assert_eq "$(mpich_version "$RUN_OUT")" "4.2.1" "view: replacing only Debian's copy leaves the program on the view's 4.2.1"
capture bypass --db "$DB" check --rootfs "$IMG" --exec /app/mpi_hello --json
assert_contains "$(printf '%s' "$OUT" | jq -r '.plan.mounts[].target')" "$view/lib/libmpich.so.12.4.1" \
    "view: the plan replaces the view's copy too"
run_hooked view "$DB" /bin/bash -c "$shc"
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.0.2" "view via sh -c: runs on the host MPICH 4.0.2"
run_forced view "$mpich:$usrcopy,$mpich:$view/lib/libmpich.so.12.4.1" /bin/bash -c "$shc"
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.0.2" "view via sh -c: forced onto every copy, the same"

# --- the same view through RUNPATH ---------------------------------------------------------------
run_hooked runpath "$DB" /app/rp_hello
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.0.2" "view via RUNPATH: runs on the host MPICH 4.0.2"
run_forced runpath "$mpich:$view/lib/libmpich.so.12.4.1" /app/rp_hello
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.0.2" "view via RUNPATH: forced, the same"

# --- a weak MPIX reference -------------------------------------------------------------------------
nm -D "$IMG/app/weak" | grep -q " w MPIX_Stream_create" || not_ok "weak: the reference is weak (nm shows w)"
capture bypass --db "$DB" check --rootfs "$IMG" --exec /app/weak
assert_eq "$RC" 0 "weak: check injects"
assert_not_contains "$OUT" "missing-symbols" "weak: a weak reference is never missing"
run_hooked weak "$DB" /app/weak
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.0.2" "weak: runs on the host MPICH 4.0.2"
assert_contains "$RUN_OUT" "streams: not available" "weak: and takes the path without streams"
run_forced weak "$mpich:$usrcopy" /app/weak
assert_contains "$RUN_OUT" "streams: not available" "weak: forced, the same"

# --- the container's BIND_NOW libmpichfort with a bundle of libmpich alone ---------------------------
readelf -d "$IMG$HOSTLIB/libmpichfort.so.12" | grep -q "BIND_NOW" || not_ok "bind-now: the image's libmpichfort is BIND_NOW"
capture bypass --db "$DBC" check --rootfs "$IMG" --exec /app/fort_hello
assert_eq "$RC" 3 "bind-now: check refuses"
assert_contains "$OUT" "libmpichfort.so.12.4.1 (bound at load" "bind-now: naming the container's own libmpichfort, bound at load"
assert_contains "$OUT" "host-mpich-c lacks" "bind-now: and the bundle"
run_forced bind-now "$mpich:$usrcopy" /app/fort_hello
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "bind-now: forced onto the host libmpich, it fails at start"
assert_contains "$RUN_OUT" "libmpichfort.so.12" "bind-now: the loader names libmpichfort"
# With the whole bundle (libmpichfort replaced too) the same program runs.
run_hooked fort-full "$DB" /app/fort_hello
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.0.2" "bind-now with libmpichfort in the bundle: runs on the host MPICH"

# --- a bundle of libmpichfort alone: the container's own libmpich stays and serves it ---------------
DBF=$(new_db)
printf '{"name": "host-mpichfort", "kind": "mpi", "version": "4.0.2", "libraries": ["%s/libmpichfort.so.12"], "mpi": {"family": "mpich"}}\n' \
    "$HOSTLIB" > "$TEST_TMP/host-mpichfort.json"
bypass --db "$DBF" db register "$TEST_TMP/host-mpichfort.json" >/dev/null || not_ok "register host-mpichfort"
capture bypass --db "$DBF" check --rootfs "$IMG" --exec /app/fort_hello
assert_eq "$RC" 0 "fort only: decided by symbols, injected"
assert_contains "$OUT" "mpi-bundle-partial" "fort only: saying the container's own libmpich stays"
run_hooked fort-only "$DBF" /app/fort_hello
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.2.1" "fort only: runs, on the container's own libmpich 4.2.1"
run_hooked fort-only-mounts "$DBF" /bin/bash -c \
    'while read -r l; do case $l in *libmpichfort*) echo "mount: $l" ;; esac; done < /proc/self/mountinfo'
assert_contains "$RUN_OUT" "libmpichfort.so.12.4.1" "fort only: the host libmpichfort is mounted over the container's"
run_forced fort-only "$HOSTLIB/libmpichfort.so.12.2.2:$HOSTLIB/libmpichfort.so.12.4.1" /app/fort_hello
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" "0/4.2.1" "fort only: forced, the same"

# --- the report says which consumers were checked and why ------------------------------------------
capture bypass --db "$DB" check --rootfs "$IMG" --exec /run-ok.sh --json
assert_eq "$(printf '%s' "$OUT" | jq -r '.container.consumers.scope')" "script" "report: the scope of a script"
assert_contains "$(printf '%s' "$OUT" | jq -r '.container.consumers.checked[].why')" "/app/mpi_hello" "report: why each consumer"

assert_rootfs_unchanged_except "$SNAP" "every container of the image left it as it was"

# --- an interpreter: python3 with mpi4py (Open MPI 5.0) against the host's Open MPI 4.1 -----------
PY=$(rootfs_for trixie-mpi4py)
DBO=$(new_db)
bypass --db "$DBO" db register "$REPO/compat-db/examples/host-openmpi.json" >/dev/null || not_ok "register host-openmpi"
PYIMG=$TEST_TMP/py
cp -al "$PY" "$PYIMG"
pyprog=(python3 -c "from mpi4py import MPI; print('library:', MPI.Get_library_version().splitlines()[0])")
make_bundle "$PYIMG" "$TEST_TMP/b-py-own" "${pyprog[@]}"
runc_run "$TEST_TMP/b-py-own"
assert_contains "$RUN_OUT" "library: Open MPI v5" "mpi4py: on its own, the image's Open MPI 5"
capture bypass --db "$DBO" check --rootfs "$PYIMG" --exec python3
assert_eq "$RC" 3 "mpi4py: check refuses"
assert_contains "$OUT" "every MPI consumer in the image is checked" "mpi4py: an interpreter makes the image count"
assert_contains "$OUT" "mpi4py/MPI.cpython" "mpi4py: the refusal names the extension module"
assert_contains "$OUT" "missing-symbols" "mpi4py: for missing symbols"
HOOKED_IMG=$PYIMG run_hooked py "$DBO" "${pyprog[@]}"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo refused)" "refused" "mpi4py: the hook refuses the start"
# The truth: the plan bypass would make under the loosest check (the same bundle registered with
# "abiCheck": "major"), forced in with plain bind mounts.
DBM=$(new_db)
jq '.mpi.abiCheck = "major"' "$REPO/compat-db/examples/host-openmpi.json" > "$TEST_TMP/host-openmpi-major.json"
bypass --db "$DBM" db register "$TEST_TMP/host-openmpi-major.json" >/dev/null || not_ok "register host-openmpi (major)"
capture bypass --db "$DBM" check --rootfs "$PYIMG" --exec python3 --json
assert_eq "$(printf '%s' "$OUT" | jq -r .verdict)" "inject" "mpi4py: under the major check alone bypass would inject"
forced=$(printf '%s' "$OUT" | jq -r '.plan.mounts[] | "\(.source):\(.target)"' | paste -sd,)
FORCED_IMG=$PYIMG run_forced py "$forced" "${pyprog[@]}"
bundle_env "$TEST_TMP/f-py" LD_LIBRARY_PATH /opt/bypass/lib
runc_run "$TEST_TMP/f-py"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" "failed" "mpi4py: forced onto the host Open MPI 4.1, the import really fails"
assert_contains "$RUN_OUT" "undefined symbol" "mpi4py: on an undefined symbol"
finish
