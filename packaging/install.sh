#!/usr/bin/env bash
# Installs bypass for root: the launcher, the jar, the native mount helper, the class-data archive
# made for this host's JVM, an empty site database and a hooks.d file for podman/CRI-O.
#
#   packaging/install.sh [--prefix DIR] [--db DIR] [--config FILE] [--hooks-dir DIR] [--always]
#   packaging/install.sh --uninstall [--prefix DIR]
#
#   --prefix DIR     default /usr/local: DIR/bin/bypass, DIR/lib/bypass/
#   --db DIR         default /etc/bypass/db (created empty when missing; existing bundles are kept).
#                    Recorded for the launcher: the installed bypass and its hook use it by default
#   --config FILE    the site configuration the installed bypass uses (default /etc/bypass/config.json;
#                    a missing file means the defaults). Recorded like --db
#   --hooks-dir DIR  default /usr/share/containers/oci/hooks.d (podman, CRI-O); "none" to skip
#   --precreate      install the precreate hooks.d file instead of the createRuntime one
#                    (rootless podman, cgroup v2: the edit goes into the config)
#   --java PATH      the JVM the hook runs on (default: java on PATH); with JDK 25 or later bypass
#                    starts from an AOT cache, else from an AppCDS archive, both made here for it
#   --always         run the hook for every container, not only those annotated
#                    org.supercontainers.bypass.enabled=true (a site choice: the hook then decides
#                    from the rootfs, and exits 0 fast when nothing applies)
#   --uninstall      remove exactly what the install put there (listed in DIR/lib/bypass/install-manifest):
#                    its files, and the directories it created when they are empty again. A database
#                    that holds bundles registered since is kept, and said so.
#
# Everything installed is owned by root and writable only by root: the hook refuses a database or
# a helper that others could change.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
db=/etc/bypass/db
config=/etc/bypass/config.json
hooks_dir=/usr/share/containers/oci/hooks.d
always=no
hook_file=50-bypass.json
java_opt=
uninstall=no
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
        --config) config=${2:?--config needs a file}; shift 2 ;;
        --hooks-dir) hooks_dir=${2:?--hooks-dir needs a directory}; shift 2 ;;
        --always) always=yes; shift ;;
        --precreate) hook_file=50-bypass-precreate.json; shift ;;
        --java) java_opt=${2:?--java needs a path}; shift 2 ;;
        --uninstall) uninstall=yes; shift ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root (the hook runs as root and must be root's)" >&2
    exit 1
fi
for p in "$prefix" "$db" "$config"; do
    case $p in /*) ;; *) echo "install.sh: '$p': --prefix, --db and --config must be absolute" >&2; exit 2 ;; esac
done
lib=$prefix/lib/bypass
manifest=$lib/install-manifest

if [ "$uninstall" = yes ]; then
    if [ ! -f "$manifest" ]; then
        echo "install.sh: $manifest does not exist: nothing installed in $prefix by install.sh" >&2
        exit 2
    fi
    files=0 dirs=0
    # Newest first: files before the directories that hold them.
    while IFS=' ' read -r kind path; do
        case $kind in
            file) if [ -e "$path" ] || [ -L "$path" ]; then rm -f -- "$path"; files=$((files + 1)); fi ;;
            dir)
                if [ -d "$path" ]; then
                    if rmdir -- "$path" 2>/dev/null; then
                        dirs=$((dirs + 1))
                    else
                        echo "install.sh: kept $path: it holds files the install did not put there"
                    fi
                fi ;;
        esac
    done < <(tac "$manifest")
    echo "uninstalled bypass from $prefix: $files files, $dirs directories removed"
    exit 0
fi

jar=$repo/target/bypass.jar
helper=$repo/target/native/bypass-mount-helper
if [ ! -f "$jar" ] || [ ! -x "$helper" ]; then
    echo "install.sh: building (mvn -B -q package -DskipTests, about 1.5 minutes on 2 cores)"
    (cd "$repo" && mvn -B -q package -DskipTests)
fi
java=$(readlink -f "${java_opt:-$(command -v java)}")
[ -x "$java" ] || { echo "install.sh: no java on PATH (install openjdk-17-jre-headless)" >&2; exit 1; }

# What this install puts there, for --uninstall: kept across reinstalls, each path once.
new_manifest=$(mktemp)
trap 'rm -f "$new_manifest"' EXIT
if [ -f "$manifest" ]; then cp "$manifest" "$new_manifest"; fi
note() {
    grep -qxF -- "$1 $2" "$new_manifest" || printf '%s %s\n' "$1" "$2" >> "$new_manifest"
}
# install -d, noting every directory it creates (ancestors first).
make_dir() {
    local d=$1 missing=()
    while [ ! -e "$d" ]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
    install -d -o root -g root -m 0755 "$1"
    for d in "${missing[@]}"; do note dir "$d"; done
}
put() {
    local mode=$1 src=$2 dst=$3
    install -o root -g root -m "$mode" "$src" "$dst"
    note file "$dst"
}

umask 022
echo "install.sh: installing into $prefix"
make_dir "$prefix/bin"
make_dir "$lib"
put 0755 "$repo/hook/bypass" "$prefix/bin/bypass"
put 0644 "$jar" "$lib/bypass.jar"
put 0755 "$helper" "$lib/bypass-mount-helper"
for w in bypass-ch-run bypass-apptainer bypass-shifter-module; do
    put 0755 "$repo/packaging/$w" "$prefix/bin/$w"
done
for record in "java:$java" "db:$db" "config:$config"; do
    printf '%s\n' "${record#*:}" > "$lib/${record%%:*}.tmp"
    put 0644 "$lib/${record%%:*}.tmp" "$lib/${record%%:*}"
    rm -f "$lib/${record%%:*}.tmp"
done
echo "install.sh: making the class-data archive for $java (about 10 s)"
"$repo/packaging/make-cds.sh" "$java" "$lib/bypass.jar" "$lib" "$lib/bypass-mount-helper"
# make-cds.sh unpacked JNA's native part into $lib/jna: the directory first, so that --uninstall
# (newest first) removes the file before it.
if [ -d "$lib/jna" ]; then note dir "$lib/jna"; fi
for archive in "$lib/bypass.aot" "$lib/bypass.jsa" "$lib/bypass-admin.aot" "$lib/bypass-admin.jsa" "$lib/jna/libjnidispatch.so"; do
    if [ -f "$archive" ]; then chown root:root "$archive"; chmod 0644 "$archive"; note file "$archive"; fi
done

if [ ! -d "$db" ]; then
    make_dir "$db"
fi
if [ ! -d "$db/bundles" ]; then
    make_dir "$db/bundles"
fi

# The hook mode installs both stages: createRuntime injects, poststop removes the mount points it made.
hook_files=$hook_file
if [ "$hook_file" = 50-bypass.json ]; then hook_files="50-bypass.json 50-bypass-poststop.json"; fi
if [ "$hooks_dir" != none ]; then
    make_dir "$hooks_dir"
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
        note file "$hooks_dir/$f"
    done
fi
note file "$manifest"
install -o root -g root -m 0644 "$new_manifest" "$manifest"
if [ "$hooks_dir" = none ]; then hooks_note="no hooks.d file"; else hooks_note="hooks.d: $(for f in $hook_files; do printf '%s ' "$hooks_dir/$f"; done)"; fi
echo "installed bypass in $prefix (database $db, ${hooks_note% }; undo: packaging/install.sh --uninstall --prefix $prefix)"
echo "next: $prefix/bin/bypass db register compat-db/examples/host-mpich.json"
if [ "$slurm" = yes ]; then
    "$repo/packaging/slurm/install-slurm.sh" --prefix "$prefix" --db "$db"
fi
