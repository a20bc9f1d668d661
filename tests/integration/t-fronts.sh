#!/usr/bin/env bash
# One decision path: the same container given to the hook (under real runc), precreate,
# patch-bundle, wrap and check gets the same verdict and the same finding codes, under the default
# site policy and under "abiCheck": "strict". Every front that starts a container writes an audit
# line, and the audit line's codes are the ones check prints. Under strict, precreate and
# patch-bundle refuse the Debian 13 container exactly as the hook does (host MPICH 12.2.2 against
# the container's 12.4.1).
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
BULLSEYE=$(rootfs_for bullseye)
NOMPI=$(rootfs_for trixie-nompi)
DB=$(new_db)
# The site's MPI without an abiCheck of its own: the site configuration's abiCheck decides (a
# bundle's mpi.abiCheck, more specific, would win over it).
jq 'del(."$schema") | del(.mpi.abiCheck)' "$REPO/compat-db/examples/host-mpich.json" > "$TEST_TMP/host-mpich.json"
bypass --db "$DB" db register "$TEST_TMP/host-mpich.json" >/dev/null || not_ok "register host MPICH"
AUDIT=$TEST_TMP/audit.log

site_config() { # POLICY: a root-owned site configuration with the audit log, and abiCheck POLICY unless "default"
    local file=$TEST_TMP/config-$1.json
    if [ "$1" = default ]; then
        jq -n --arg a "$AUDIT" '{audit: {file: $a}}' > "$file"
    else
        jq -n --arg a "$AUDIT" --arg p "$1" '{audit: {file: $a}, abiCheck: $p}' > "$file"
    fi
    chmod 0644 "$file"
    echo "$file"
}

# The verdict and codes of the audit line a front has just written: "VERDICT CODES".
last_audit() {
    local line
    line=$(tail -1 "$AUDIT" 2>/dev/null)
    printf '%s %s' "$(sed -n 's/.* verdict=\([^ ]*\) .*/\1/p' <<<"$line")" "$(sed -n 's/.* codes=\([^ ]*\) .*/\1/p' <<<"$line")"
}
audit_lines() { if [ -f "$AUDIT" ]; then wc -l < "$AUDIT"; else echo 0; fi; }

#  rootfs name | policy  | expected verdict under every front
table=(
    "trixie   default inject"
    "trixie   strict  refuse"
    "bullseye default refuse"
    "bullseye strict  refuse"
    "nompi    default none"
    "nompi    strict  none"
)
for row in "${table[@]}"; do
    read -r name policy expected <<<"$row"
    case $name in trixie) rootfs=$TRIXIE ;; bullseye) rootfs=$BULLSEYE ;; nompi) rootfs=$NOMPI ;; esac
    prog=/app/mpi_hello
    [ "$name" = nompi ] && prog=/app/hello
    cfg=$(site_config "$policy")
    t="$name/$policy"

    # check: the reference answer.
    capture bypass --db "$DB" --config "$cfg" check --rootfs "$rootfs" --exec "$prog" --json
    want="$(printf '%s' "$OUT" | jq -r .verdict) $(printf '%s' "$OUT" | jq -r '[.findings[].code] | if length == 0 then "-" else join(",") end')"
    assert_eq "${want%% *}" "$expected" "$t: check says $expected"

    # hook, under runc.
    make_bundle "$rootfs" "$TEST_TMP/$name-$policy-hook" "$prog"
    bundle_hook "$TEST_TMP/$name-$policy-hook" createRuntime --db "$DB" --config "$cfg" hook --stage createRuntime
    n=$(audit_lines)
    runc_run "$TEST_TMP/$name-$policy-hook"
    assert_eq "$(audit_lines)" "$((n + 1))" "$t: the hook writes one audit line"
    assert_eq "$(last_audit)" "$want" "$t: the hook decides as check does"
    case $expected in
        inject) assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "$t: under the hook the program runs on the host MPICH" ;;
        refuse) assert_contains "$RUN_OUT" "bypass: refused: " "$t: the hook refuses the start with the reason"
                [ "$RUN_RC" -ne 0 ] && ok "$t: the refused container did not start" || not_ok "$t: the refused container did not start" "$RUN_OUT" ;;
        none) assert_eq "$RUN_RC" 0 "$t: nothing to do, the container runs untouched" ;;
    esac

    # precreate: the runtime config on stdin.
    n=$(audit_lines)
    capture bash -c "'$BYPASS' --db '$DB' --config '$cfg' precreate < '$TEST_TMP/$name-$policy-hook/config.json'"
    assert_eq "$RC" 0 "$t: precreate exits 0 (a refusal travels in the config)"
    assert_eq "$(audit_lines)" "$((n + 1))" "$t: precreate writes one audit line"
    assert_eq "$(last_audit)" "$want" "$t: precreate decides as the hook does"
    if [ "$expected" = refuse ]; then
        assert_contains "$(printf '%s' "$OUT" | jq -c '.hooks.createRuntime')" '"refuse"' \
            "$t: precreate's config carries the refusal hook"
    fi

    # patch-bundle: the same edit in place.
    make_bundle "$rootfs" "$TEST_TMP/$name-$policy-patch" "$prog"
    n=$(audit_lines)
    capture bypass --db "$DB" --config "$cfg" patch-bundle "$TEST_TMP/$name-$policy-patch"
    case $expected in refuse) code=3 ;; *) code=0 ;; esac
    assert_eq "$RC" "$code" "$t: patch-bundle exits $code"
    assert_eq "$(audit_lines)" "$((n + 1))" "$t: patch-bundle writes one audit line"
    assert_eq "$(last_audit)" "$want" "$t: patch-bundle decides as the hook does"

    # wrap: an HPC runtime's syntax.
    n=$(audit_lines)
    capture bypass --db "$DB" --config "$cfg" wrap apptainer --rootfs "$rootfs" --exec "$prog"
    assert_eq "$RC" "$code" "$t: wrap exits $code"
    assert_eq "$(last_audit)" "$want" "$t: wrap decides as the hook does"
    if [ "$expected" = refuse ]; then
        refused_code=$(printf '%s' "$ERR" | sed -n 's/.*\[\([a-z0-9-]*\)\]$/\1/p')
        assert_contains ",${want#* }," ",$refused_code," "$t: wrap's refusal line ends with one of the decision's codes"
    fi
done

# The strict policy reaches the declarative fronts: the Debian 13 refusal names the ABI rule.
cfg=$(site_config strict)
make_bundle "$TRIXIE" "$TEST_TMP/strict-patch" /app/mpi_hello
capture bypass --db "$DB" --config "$cfg" patch-bundle "$TEST_TMP/strict-patch"
assert_contains "$ERR" "[abi-minor-mismatch]" "strict: patch-bundle refuses Debian 13 with abi-minor-mismatch"
capture bypass --db "$DB" --config "$cfg" check --rootfs "$TRIXIE" --exec /app/mpi_hello --abi-check symbols
assert_eq "$RC" 0 "check --abi-check overrides the site's policy for one query"
finish
