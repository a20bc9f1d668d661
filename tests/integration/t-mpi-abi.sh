#!/usr/bin/env bash
# The MPI-5 standard ABI under real runc with the hook: two Debian unstable images (Open MPI 6 and
# MPICH 5, programs built against each one's standard mpi.h and linked with libmpi_abi.so.1), and as
# the site MPI the OTHER implementation's standard-ABI library with its closure, unpacked from the
# same suite's packages into a host directory of this test and registered with `bypass db register`.
# Every decision is checked against a forced run: the same host files bind-mounted by plain runc
# mounts, no bypass. An inject must print the same line; a refusal must really fail.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

OMPI=$(rootfs_for sid-openmpi) || { not_ok "build the sid-openmpi rootfs"; finish; exit 1; }
MPICH=$(rootfs_for sid) || { not_ok "build the sid rootfs"; finish; exit 1; }
LIBDIR=usr/lib/x86_64-linux-gnu

# host_mpi DIR LIBRARY-PACKAGE DEV-PACKAGE: the library package's closure and the -dev package (for
# the standard mpi.h, whose MPI_ABI_VERSION registration reads) unpacked into DIR, as a site would
# install its MPI off the default path.
host_mpi() {
    (
        set -e
        # shellcheck source=../lib/private-apt.sh
        source "$REPO/tests/lib/private-apt.sh"
        private_apt_init sid "${BYPASS_TEST_CACHE:-$REPO/tests/.cache}"
        private_apt_lock
        debs=$(private_apt_fetch "$2")
        debs+=$'\n'$(private_apt_fetch_only "$3")
        mkdir -p "$1"
        while IFS= read -r deb; do
            dpkg -x "$deb" "$1"
        done <<<"$debs"
    )
}

# register DB NAME LIBRARY HOSTDIR: a standard-ABI bundle of HOSTDIR's LIBRARY; its closure is
# found through libraryPath, as the site's environment module would set LD_LIBRARY_PATH.
register() {
    cat > "$TEST_TMP/$2.json" <<JSON
{"name": "$2", "kind": "mpi", "libraries": ["$4/$LIBDIR/$3"], "libraryPath": ["$4/$LIBDIR"]}
JSON
    bypass --db "$1" db register "$TEST_TMP/$2.json" >/dev/null
}

# forced DIR ROOTFS PROGRAM DB EXEC-FOR-PLAN: a plain runc bundle in DIR running PROGRAM with the
# files of `check --exec EXEC-FOR-PLAN`'s plan mounted by runc itself: replacements over the
# container's files, added libraries copied into one directory mounted at /home (empty in these
# images) and named by LD_LIBRARY_PATH. No hook.
forced() {
    local dir=$1 rootfs=$2 prog=$3 db=$4 plan_exec=$5 lib=$1-lib plan
    plan=$(bypass --db "$db" check --rootfs "$rootfs" --exec "$plan_exec" --json) || return 1
    make_bundle "$rootfs" "$dir" "$prog"
    rm -rf "$lib"
    mkdir -p "$lib"
    while IFS=$'\t' read -r source target; do
        cp -L "$source" "$lib/${target##*/}"
    done < <(jq -r '.plan.mounts[] | select(.kind == "add") | [.source, .target] | @tsv' <<<"$plan")
    _it_jq "$dir/config.json" --argjson p "$plan" --arg lib "$lib" '.mounts += ([$p.plan.mounts[]
        | select(.kind == "replace") | {destination: .target, type: "bind", source: .source, options: ["bind", "ro"]}]
        + [{destination: "/home", type: "bind", source: $lib, options: ["bind", "ro"]}])'
    bundle_env "$dir" LD_LIBRARY_PATH /home
}

# hooked DIR ROOTFS PROGRAM DB: a runc bundle running PROGRAM with bypass as its createRuntime hook.
hooked() {
    make_bundle "$2" "$1" "$3"
    bundle_hook "$1" createRuntime --db "$4" hook
}

first_line() { printf '%s\n' "$1" | sed -n 's/^library: //p' | head -1; }

HOST_MPICH=$TEST_TMP/site-mpich5
HOST_OMPI=$TEST_TMP/site-openmpi6
host_mpi "$HOST_MPICH" libmpich12 libmpich-dev || not_ok "unpack sid's MPICH 5 into the host directory"
host_mpi "$HOST_OMPI" libopenmpi40 libopenmpi-dev || not_ok "unpack sid's Open MPI 6 into the host directory"
DB_MPICH=$(new_db)
DB_OMPI=$(new_db)
register "$DB_MPICH" site-mpich5 libmpi_abi_mpich.so.1.0.0 "$HOST_MPICH" || not_ok "register MPICH 5's standard ABI"
register "$DB_OMPI" site-openmpi6 libmpi_abi_openmpi.so.1.0.0 "$HOST_OMPI" || not_ok "register Open MPI 6's standard ABI"

# --- registration: implementation and ABI version read from the files --------------------------
props=$(bypass --db "$DB_MPICH" db show site-mpich5 --json | jq -c .properties)
assert_eq "$(jq -r '."mpi.family"' <<<"$props")" mpi-abi "register: libmpi_abi.so.1 alone is the mpi-abi family"
assert_eq "$(jq -r '."mpi.abi.implementation"' <<<"$props")" mpich "register: MPICH 5's library is MPICH"
assert_contains "$(jq -r '."mpi.abi.implementationFrom"' <<<"$props")" "MPICH Version:" "register: ... from its banner string"
assert_eq "$(jq -r '."mpi.abi.version"' <<<"$props")" 1.0 "register: MPICH 5's standard ABI is 1.0"
assert_contains "$(jq -r '."mpi.abi.versionFrom"' <<<"$props")" "MPI_ABI_VERSION in $HOST_MPICH/$LIBDIR/mpi_abi_mpich/include/mpi.h" \
    "register: ... from MPI_ABI_VERSION in its standard mpi.h"
props=$(bypass --db "$DB_OMPI" db show site-openmpi6 --json | jq -c .properties)
assert_eq "$(jq -r '."mpi.abi.implementation"' <<<"$props")" openmpi "register: Open MPI 6's library is Open MPI"
assert_eq "$(jq -r '."mpi.abi.implementationFrom"' <<<"$props")" "DT_NEEDED libopen_mpi.so.40" "register: ... from its DT_NEEDED"
assert_contains "$(jq -r '."mpi.abi.versionFrom"' <<<"$props")" "openmpi/include/standard_abi/mpi.h" \
    "register: Open MPI's version from its standard_abi/mpi.h"
files=$(bypass --db "$DB_OMPI" db show site-openmpi6 --json | jq -r '.files[].path')
assert_contains "$files" "$HOST_OMPI/$LIBDIR/libopen_mpi.so.40" "register: the closure is found through libraryPath"

# run_case NAME ROOTFS PROGRAM DB: the program under the hook; sets HOOK_OUT/HOOK_RC.
run_case() {
    local mounts snap
    mounts=$(mounts_snapshot)
    snap=$(rootfs_snapshot "$2")
    hooked "$TEST_TMP/$1" "$2" "$3" "$4"
    runc_run "$TEST_TMP/$1"
    HOOK_OUT=$RUN_OUT
    HOOK_RC=$RUN_RC
    assert_no_new_mounts "$mounts" "$1: no mount left on the host"
    assert_rootfs_unchanged "$snap" "$2" "$1: only mount points left in the rootfs" "$2/opt" "$2/opt/bypass"
}

# --- Open MPI 6 image, MPICH 5 site library ----------------------------------------------------
make_bundle "$OMPI" "$TEST_TMP/ompi-plain" /app/abi_hello
runc_run "$TEST_TMP/ompi-plain"
OMPI_LINE=$(first_line "$RUN_OUT")
assert_contains "$OMPI_LINE" "Open MPI v6.0.0rc2" "openmpi image alone: its own Open MPI 6"

run_case ompi-hello "$OMPI" /app/abi_hello "$DB_MPICH"
assert_eq "$HOOK_RC" 0 "openmpi image + site MPICH: starts under the hook"
assert_eq "$(mpich_version "$HOOK_OUT")" 5.0.2 "openmpi image + site MPICH: the program runs on MPICH 5.0.2"
assert_contains "$HOOK_OUT" "abi: 1.0" "openmpi image + site MPICH: standard ABI 1.0"
forced "$TEST_TMP/ompi-hello-forced" "$OMPI" /app/abi_hello "$DB_MPICH" /app/abi_hello
runc_run "$TEST_TMP/ompi-hello-forced"
assert_eq "$RUN_RC/$(mpich_version "$RUN_OUT")" 0/5.0.2 "openmpi image + site MPICH forced by plain mounts: the same MPICH 5.0.2"

capture bypass --db "$DB_MPICH" check --rootfs "$OMPI" --exec /app/abi_hello --json
assert_contains "$(jq -r '.findings[] | select(.code | startswith("mpi-launcher")) | .message' <<<"$OUT")" "MPICH's hydra" \
    "openmpi image + site MPICH: the plan says the host library needs MPICH's PMI and hydra"

run_case ompi-pmpi "$OMPI" /app/abi_pmpi_file "$DB_MPICH"
assert_eq "$([ "$HOOK_RC" -ne 0 ] && echo refused)" refused "PMPI_File_close program + site MPICH: does not start"
assert_contains "$HOOK_OUT" "lacks PMPI_File_close that /app/abi_pmpi_file imports" "PMPI_File_close: the reason names the symbol"
assert_contains "$HOOK_OUT" "[missing-symbols]" "PMPI_File_close: code missing-symbols"
assert_not_contains "$HOOK_OUT" "wrapper:" "PMPI_File_close: the program never ran"
forced "$TEST_TMP/ompi-pmpi-forced" "$OMPI" /app/abi_pmpi_file "$DB_MPICH" /app/abi_hello
runc_run "$TEST_TMP/ompi-pmpi-forced"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" failed "PMPI_File_close forced onto MPICH 5: really fails"
assert_contains "$RUN_OUT" "undefined symbol: PMPI_File_close" "PMPI_File_close forced: for the reason bypass gave"
make_bundle "$OMPI" "$TEST_TMP/ompi-pmpi-plain" /app/abi_pmpi_file
runc_run "$TEST_TMP/ompi-pmpi-plain"
assert_contains "$RUN_OUT" "wrapper: MPI_File_close -> PMPI_File_close" "PMPI_File_close program runs on its own Open MPI"

run_case ompi-fortran "$OMPI" /app/abi_fortran "$DB_MPICH"
assert_eq "$([ "$HOOK_RC" -ne 0 ] && echo refused)" refused "Fortran consumer + site MPICH: does not start"
assert_contains "$HOOK_OUT" "needs libmpi_mpifh.so.40, the Fortran bindings of Open MPI" "Fortran: the reason names the library"
assert_contains "$HOOK_OUT" "defines no Fortran ABI" "Fortran: and says why"
assert_contains "$HOOK_OUT" "[mpi-fortran-abi]" "Fortran: code mpi-fortran-abi"
forced "$TEST_TMP/ompi-fortran-forced" "$OMPI" /app/abi_fortran "$DB_MPICH" /app/abi_hello
runc_run "$TEST_TMP/ompi-fortran-forced"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" failed "Fortran consumer forced onto MPICH 5: really fails"
# Two MPIs in one process: either the bindings report different libraries, or (as seen with these
# builds) Open MPI's Fortran binding reaches MPICH's MPI_Get_library_version, which overruns Open
# MPI's shorter buffer ("stack smashing detected").
assert_not_contains "$RUN_OUT" "fortran library: $(mpich_line="$(first_line "$RUN_OUT")"; echo "${mpich_line:-none}")" \
    "Fortran forced: the C and Fortran bindings never agree on one MPI"
make_bundle "$OMPI" "$TEST_TMP/ompi-fortran-plain" /app/abi_fortran
runc_run "$TEST_TMP/ompi-fortran-plain"
assert_eq "$RUN_RC" 0 "Fortran consumer runs on its own Open MPI"

# --- MPICH 5 image, Open MPI 6 site library ----------------------------------------------------
make_bundle "$MPICH" "$TEST_TMP/mpich-plain" /app/abi_hello
runc_run "$TEST_TMP/mpich-plain"
assert_eq "$(mpich_version "$RUN_OUT")" 5.0.2 "mpich image alone: its own MPICH 5.0.2"

run_case mpich-hello "$MPICH" /app/abi_hello "$DB_OMPI"
assert_eq "$HOOK_RC" 0 "mpich image + site Open MPI: starts under the hook"
assert_eq "$(first_line "$HOOK_OUT")" "$OMPI_LINE" "mpich image + site Open MPI: the program runs on Open MPI 6"
forced "$TEST_TMP/mpich-hello-forced" "$MPICH" /app/abi_hello "$DB_OMPI" /app/abi_hello
runc_run "$TEST_TMP/mpich-hello-forced"
assert_eq "$RUN_RC/$(first_line "$RUN_OUT")" "0/$OMPI_LINE" "mpich image + site Open MPI forced by plain mounts: the same Open MPI line"
capture bypass --db "$DB_OMPI" check --rootfs "$MPICH" --exec /app/abi_hello --json
assert_contains "$(jq -r '.findings[] | select(.code | startswith("mpi-launcher")) | .message' <<<"$OUT")" "PMIx" \
    "mpich image + site Open MPI: the plan says the host library needs PMIx and prterun"

run_case mpich-attr "$MPICH" /app/abi_attr_get "$DB_OMPI"
assert_eq "$([ "$HOOK_RC" -ne 0 ] && echo refused)" refused "MPI_Attr_get program + site Open MPI: does not start"
assert_contains "$HOOK_OUT" "lacks MPI_Attr_get that /app/abi_attr_get imports" "MPI_Attr_get: the reason names the symbol"
assert_contains "$HOOK_OUT" "[missing-symbols]" "MPI_Attr_get: code missing-symbols"
forced "$TEST_TMP/mpich-attr-forced" "$MPICH" /app/abi_attr_get "$DB_OMPI" /app/abi_hello
runc_run "$TEST_TMP/mpich-attr-forced"
assert_eq "$([ "$RUN_RC" -ne 0 ] && echo failed)" failed "MPI_Attr_get forced onto Open MPI 6: really fails"
assert_contains "$RUN_OUT" "undefined symbol: MPI_Attr_get" "MPI_Attr_get forced: for the reason bypass gave"
make_bundle "$MPICH" "$TEST_TMP/mpich-attr-plain" /app/abi_attr_get
runc_run "$TEST_TMP/mpich-attr-plain"
assert_contains "$RUN_OUT" "MPI_TAG_UB: set" "MPI_Attr_get program runs on its own MPICH"

run_case mpich-fortran "$MPICH" /app/abi_fortran "$DB_OMPI"
assert_contains "$HOOK_OUT" "needs libmpichfort.so.12, the Fortran bindings of MPICH" "MPICH Fortran consumer + site Open MPI: refused"
assert_contains "$HOOK_OUT" "[mpi-fortran-abi]" "MPICH Fortran consumer: code mpi-fortran-abi"
# Not forced here: MPICH's libmpichfort calls PMPI_Get_library_version by name, which the loader
# binds to whichever libmpi_abi.so.1 is loaded first, so this one call happens to work on Open MPI.
# The refusal rests on the Open MPI direction above, where the same mix really fails.

# --- the vendor ABI of the same images is left to the vendor rules ------------------------------
run_case mpich-vendor "$MPICH" /app/mpi_hello "$DB_OMPI"
assert_eq "$HOOK_RC/$(mpich_version "$HOOK_OUT")" 0/5.0.2 "an MPICH-ABI program (libmpich.so.12) is not given the standard-ABI bundle"
cat > "$TEST_TMP/both.json" <<JSON
{"name": "site-mpich5-both", "kind": "mpi", "libraries": ["$HOST_MPICH/$LIBDIR/libmpich.so.12", "$HOST_MPICH/$LIBDIR/libmpi_abi_mpich.so.1.0.0"],
 "libraryPath": ["$HOST_MPICH/$LIBDIR"]}
JSON
DB_BOTH=$(new_db)
bypass --db "$DB_BOTH" db register "$TEST_TMP/both.json" >/dev/null || not_ok "register an MPICH 5 with both ABIs"
assert_eq "$(bypass --db "$DB_BOTH" db show site-mpich5-both --json | jq -r '.properties."mpi.families"')" "mpich,mpi-abi" \
    "an MPICH 5 bundle with both libraries serves both families"
capture bypass --db "$DB_BOTH" check --rootfs "$MPICH" --exec /app/mpi_hello --json
assert_eq "$(jq -r '.verdict' <<<"$OUT")/$(jq -r '[.findings[].code] | index("abi-compatible") != null' <<<"$OUT")" inject/true \
    "MPICH-ABI program + MPICH 5 bundle: the vendor rules inject, as before"
assert_contains "$(jq -r '.findings[] | select(.code == "abi-compatible") | .message' <<<"$OUT")" "libmpich.so.12.6.2" \
    "MPICH-ABI program: decided on libmpich.so.12"
capture bypass --db "$DB_BOTH" check --rootfs "$OMPI" --exec /app/abi_hello --json
assert_eq "$(jq -r '.verdict' <<<"$OUT")" inject "standard-ABI program in the Open MPI image + MPICH 5 bundle with both: injected"
finish
