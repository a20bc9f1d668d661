#!/usr/bin/env bash
# packaging/install.sh for a site: the --db it was given is the installed bypass' and its hook's
# default; the hook's JVM is clean under real runc (JVM option variables and BYPASS_* in the
# runtime's environment are not picked up); --uninstall removes exactly what the install put there.
set -uo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_root

TRIXIE=$(rootfs_for trixie)
ROOT=$TEST_TMP/root
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc"
echo "not bypass'" > "$ROOT/usr/local/bin/other-tool"
PREFIX=$ROOT/usr/local DB=$ROOT/etc/bypass/db HOOKS=$ROOT/hooks.d
tree() { (cd "$ROOT" && find . -printf '%p %y %m %s\n' | sort); }
before=$(tree)

capture "$REPO/packaging/install.sh" --prefix "$PREFIX" --db "$DB" --hooks-dir "$HOOKS"
assert_eq "$RC" 0 "install.sh into a scratch root"
assert_contains "$OUT" "installed bypass in $PREFIX (database $DB" "install.sh names the database"
assert_eq "$(cat "$PREFIX/lib/bypass/db")" "$DB" "the install records its --db for the launcher"

# The installed bypass uses the recorded database without --db, and says which one.
capture env -u BYPASS_DB "$PREFIX/bin/bypass" db list
assert_eq "$OUT" "database $DB: 0 bundles" "the installed bypass uses the install's database by default"
capture env -u BYPASS_DB "$PREFIX/bin/bypass" db register "$REPO/compat-db/examples/host-mpich.json"
assert_contains "$OUT" "; database $DB" "db register names the database it wrote"
assert_eq "$(ls "$DB/bundles")" "host-mpich.json" "registered into the install's database"
capture env BYPASS_DB="$TEST_TMP/elsewhere" "$PREFIX/bin/bypass" db list
assert_eq "$RC" 2 "an admin command still honours BYPASS_DB (here: missing, exit 2)"
assert_contains "$ERR" "$TEST_TMP/elsewhere: the database does not exist" "the missing database is named"
[ -e "$TEST_TMP/elsewhere" ] && not_ok "db list created no database" || ok "db list created no database"

# --- A clean JVM under real runc ---------------------------------------------------------------
# Each variable breaks the run if honoured: shown here by honouring it on purpose.
JAVA=$(cat "$PREFIX/lib/bypass/java")
printf '{"onError": "fail", broken' > "$TEST_TMP/bad-config.json"
for v in "JAVA_TOOL_OPTIONS=-Xmx1k" "_JAVA_OPTIONS=-XX:+NoSuchBypassOption" "JDK_JAVA_OPTIONS=-XX:+NoSuchBypassOption"; do
    capture env "$v" "$JAVA" -version
    [ "$RC" -ne 0 ] && ok "control: the JVM honours $v and fails" || not_ok "control: the JVM honours $v and fails" "$ERR"
done
capture env BYPASS_CONFIG="$TEST_TMP/bad-config.json" "$PREFIX/bin/bypass" check --rootfs "$TRIXIE"
assert_eq "$RC" 2 "control: an admin command honours BYPASS_CONFIG (a broken one: exit 2)"
capture env BYPASS_JAVA=/bin/false "$BYPASS" --version
assert_eq "$RC/$OUT" "1/" "control: the source launcher honours BYPASS_JAVA for admin commands"

hostile=("JAVA_TOOL_OPTIONS=-Xmx1k" "_JAVA_OPTIONS=-XX:+NoSuchBypassOption" "JDK_JAVA_OPTIONS=-XX:+NoSuchBypassOption"
    "CLASSPATH=$TEST_TMP/nonexistent.jar" "BYPASS_DB=$TEST_TMP/no-such-db" "BYPASS_CONFIG=$TEST_TMP/bad-config.json"
    "BYPASS_JAVA=/bin/false" "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
env_json=$(jq -n '$ARGS.positional' --args -- "${hostile[@]}")
for layout in installed source; do
    dir=$TEST_TMP/hook-$layout
    make_bundle "$TRIXIE" "$dir" /app/mpi_hello
    if [ "$layout" = installed ]; then
        # The installed hook as hooks.d runs it, without --db: the install's record decides.
        jq --arg p "$PREFIX/bin/bypass" --argjson e "$env_json" \
            '.hooks.createRuntime = [{"path": $p, "args": ["bypass", "hook", "--stage", "createRuntime"], "env": $e}]' \
            "$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
    else
        jq --arg p "$BYPASS" --arg db "$DB" --argjson e "$env_json" \
            '.hooks.createRuntime = [{"path": $p, "args": ["bypass", "--db", $db, "hook"], "env": $e}]' \
            "$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
    fi
    runc_run "$dir"
    assert_eq "$RUN_RC" 0 "$layout hook with JVM and BYPASS_* variables in its environment: the container runs"
    assert_eq "$(mpich_version "$RUN_OUT")" "4.0.2" "$layout hook: the host MPICH was injected from the install's database"
    assert_not_contains "$RUN_OUT" "Picked up" "$layout hook: the JVM picked up no option variable"
done
# The launcher itself, stderr in view: no "Picked up" line, and the hook decides from the install's database.
state=$TEST_TMP/state.json
printf '{"ociVersion":"1.0.2","id":"c","status":"creating","pid":0,"bundle":"%s"}\n' "$TEST_TMP/hook-installed" > "$state"
jq '.annotations["org.supercontainers.bypass.enabled"] = "false"' "$TEST_TMP/hook-installed/config.json" > "$TEST_TMP/c.json"
mkdir -p "$TEST_TMP/optout" && mv "$TEST_TMP/c.json" "$TEST_TMP/optout/config.json"
printf '{"ociVersion":"1.0.2","id":"c","status":"creating","pid":0,"bundle":"%s"}\n' "$TEST_TMP/optout" > "$state"
capture env "${hostile[@]}" "$PREFIX/bin/bypass" hook --state "$state"
assert_eq "$RC" 0 "the installed launcher as a hook, every variable set: exit 0"
assert_not_contains "$ERR" "Picked up" "the launcher's JVM prints no 'Picked up' line"
assert_eq "$ERR" "" "the hook is silent"

# --- Uninstall: exactly what the install put there ---------------------------------------------
capture "$REPO/packaging/install.sh" --uninstall --prefix "$PREFIX"
assert_eq "$RC" 0 "install.sh --uninstall"
assert_contains "$OUT" "kept $DB/bundles: it holds files the install did not put there" \
    "uninstall keeps a database that holds registered bundles, and says so"
assert_eq "$(ls "$DB/bundles")" "host-mpich.json" "the registered bundle is kept"
rm -rf "$ROOT/etc/bypass"
assert_eq "$(tree)" "$before" "after uninstall (and the admin's bundle removed) the tree is as before the install"
assert_eq "$(cat "$ROOT/usr/local/bin/other-tool")" "not bypass'" "a file the install did not put there stays"

# Install and uninstall with nothing registered: everything goes.
capture "$REPO/packaging/install.sh" --prefix "$PREFIX" --db "$DB" --hooks-dir "$HOOKS" --precreate
assert_eq "$RC" 0 "second install (precreate hooks.d file)"
[ -f "$HOOKS/50-bypass-precreate.json" ] && ok "the precreate hooks.d file is installed" || not_ok "the precreate hooks.d file is installed"
capture "$REPO/packaging/install.sh" --uninstall --prefix "$PREFIX"
assert_eq "$(tree)" "$before" "install then uninstall leaves the tree exactly as it was"
capture "$REPO/packaging/install.sh" --uninstall --prefix "$PREFIX"
assert_eq "$RC" 2 "uninstall of nothing installed: exit 2"
finish
