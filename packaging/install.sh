#!/usr/bin/env bash
# Installs bypass for root: the launcher, the jar, the native mount helper, the class-data archive
# made for this host's JVM, an empty site database and a hooks.d file for podman/CRI-O.
#
#   sudo packaging/install.sh [--prefix DIR] [--db DIR] [--hooks-dir DIR] [--always]
#
#   --prefix DIR     default /usr/local: DIR/bin/bypass, DIR/lib/bypass/
#   --db DIR         default /etc/bypass/db (created empty when missing; existing bundles are kept)
#   --hooks-dir DIR  default /usr/share/containers/oci/hooks.d (podman, CRI-O); "none" to skip
#   --precreate      install the precreate hooks.d file instead of the createRuntime one
#                    (rootless podman, cgroup v2: the edit goes into the config)
#   --java PATH      the JVM the hook runs on (default: java on PATH); with JDK 25 or later bypass
#                    starts from an AOT cache, else from an AppCDS archive, both made here for it
#   --always         run the hook for every container, not only those annotated
#                    org.supercontainers.bypass.enabled=true (a site choice: the hook then decides
#                    from the rootfs, and exits 0 fast when nothing applies)
#
# Everything installed is owned by root and writable only by root: the hook refuses a database or
# a helper that others could change.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
db=/etc/bypass/db
hooks_dir=/usr/share/containers/oci/hooks.d
always=no
hook_file=50-bypass.json
java_opt=
# --slurm: afterwards, packaging/slurm/install-slurm.sh with the same --prefix and --db (the
# srun --container wrapper and oci.conf; see its --help for more).
slurm=no
rest=()
for a in "$@"; do if [ "$a" = --slurm ]; then slurm=yes; else rest+=("$a"); fi; done
set -- ${rest[@]+"${rest[@]}"}
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --db) db=${2:?--db needs a directory}; shift 2 ;;
        --hooks-dir) hooks_dir=${2:?--hooks-dir needs a directory}; shift 2 ;;
        --always) always=yes; shift ;;
        --precreate) hook_file=50-bypass-precreate.json; shift ;;
        --java) java_opt=${2:?--java needs a path}; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root (the hook runs as root and must be root's)" >&2
    exit 1
fi
case $prefix in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac
case $db in /*) ;; *) echo "install.sh: --db must be absolute" >&2; exit 2 ;; esac

jar=$repo/target/bypass.jar
helper=$repo/target/native/bypass-mount-helper
if [ ! -f "$jar" ] || [ ! -x "$helper" ]; then
    echo "install.sh: building (mvn -B -q package -DskipTests)"
    (cd "$repo" && mvn -B -q package -DskipTests)
fi
java=$(readlink -f "${java_opt:-$(command -v java)}")
[ -x "$java" ] || { echo "install.sh: no java on PATH (install openjdk-17-jre-headless)" >&2; exit 1; }

umask 022
lib=$prefix/lib/bypass
install -d -o root -g root -m 0755 "$prefix/bin" "$lib"
install -o root -g root -m 0755 "$repo/hook/bypass" "$prefix/bin/bypass"
install -o root -g root -m 0644 "$jar" "$lib/bypass.jar"
install -o root -g root -m 0755 "$helper" "$lib/bypass-mount-helper"
for w in bypass-ch-run bypass-apptainer bypass-shifter-module; do
    install -o root -g root -m 0755 "$repo/packaging/$w" "$prefix/bin/$w"
done
printf '%s\n' "$java" > "$lib/java"
chown root:root "$lib/java"
chmod 0644 "$lib/java"
"$repo/packaging/make-cds.sh" "$java" "$lib/bypass.jar" "$lib"
for archive in "$lib/bypass.aot" "$lib/bypass.jsa"; do
    if [ -f "$archive" ]; then chown root:root "$archive"; chmod 0644 "$archive"; fi
done

install -d -o root -g root -m 0755 "$db" "$db/bundles"

# The hook mode installs both stages: createRuntime injects, poststop removes the mount points it made.
hook_files=$hook_file
if [ "$hook_file" = 50-bypass.json ]; then hook_files="50-bypass.json 50-bypass-poststop.json"; fi
if [ "$hooks_dir" != none ]; then
    install -d -o root -g root -m 0755 "$hooks_dir"
    rm -f "$hooks_dir/50-bypass.json" "$hooks_dir/50-bypass-precreate.json" "$hooks_dir/50-bypass-poststop.json"
    for f in $hook_files; do
        sed -e "s#@PREFIX@#$prefix#g" -e "s#@DB@#$db#g" "$repo/hook/hooks.d/$f" > "$hooks_dir/$f.tmp"
        if [ "$always" = yes ]; then
            jq '.when = {"always": true}' "$hooks_dir/$f.tmp" > "$hooks_dir/$f.tmp2"
            mv "$hooks_dir/$f.tmp2" "$hooks_dir/$f.tmp"
        fi
        chown root:root "$hooks_dir/$f.tmp"
        chmod 0644 "$hooks_dir/$f.tmp"
        mv "$hooks_dir/$f.tmp" "$hooks_dir/$f"
    done
fi
if [ "$hooks_dir" = none ]; then hooks_note="no hooks.d file"; else hooks_note="hooks.d: $(for f in $hook_files; do printf '%s ' "$hooks_dir/$f"; done)"; fi
echo "installed bypass in $prefix (database $db, $hooks_note)"
echo "next: bypass --db $db db register compat-db/examples/host-mpich.json"
if [ "$slurm" = yes ]; then
    "$repo/packaging/slurm/install-slurm.sh" --prefix "$prefix" --db "$db"
fi
