#!/usr/bin/env bash
# Installs bypass' batch-system integration: the RunTimeRun wrapper and an oci.conf next to
# slurm.conf, so that `srun --container=BUNDLE` lets bypass decide before each container starts,
# and, with --enroot-hooks-dir, the enroot hook (pyxis' `srun --container-image`).
#
#   sudo packaging/slurm/install-slurm.sh [--prefix DIR] [--db DIR] [--runtime runc|crun|PATH]
#                                         [--slurm-conf-dir DIR] [--enroot-hooks-dir DIR] [--force]
#
#   --prefix DIR          default /usr/local (bypass itself: packaging/install.sh --prefix DIR);
#                         the wrapper goes to DIR/bin/bypass-slurm-run
#   --db DIR              default /etc/bypass/db
#   --runtime R           the OCI runtime the wrapper execs: runc (default), crun, or a path
#   --slurm-conf-dir DIR  where slurm.conf is (default: the directory of $SLURM_CONF, else
#                         /etc/slurm); "none" installs only the wrapper
#   --enroot-hooks-dir D  also install packaging/enroot/50-bypass.sh as D/50-bypass.sh (enroot's
#                         /etc/enroot/hooks.d); default: not installed
#   --force               replace an oci.conf that bypass did not write (kept as oci.conf.bypass-old)
#
# An oci.conf bypass did not write is not replaced without --force: a site may have its own.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
prefix=/usr/local
db=/etc/bypass/db
runtime=runc
conf_dir=
enroot_dir=
force=no
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --db) db=${2:?--db needs a directory}; shift 2 ;;
        --runtime) runtime=${2:?--runtime needs runc, crun or a path}; shift 2 ;;
        --slurm-conf-dir) conf_dir=${2:?--slurm-conf-dir needs a directory}; shift 2 ;;
        --enroot-hooks-dir) enroot_dir=${2:?--enroot-hooks-dir needs a directory}; shift 2 ;;
        --force) force=yes; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "install-slurm.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case $prefix in /*) ;; *) echo "install-slurm.sh: --prefix must be absolute" >&2; exit 2 ;; esac
case $db in /*) ;; *) echo "install-slurm.sh: --db must be absolute" >&2; exit 2 ;; esac
case $runtime in
    runc|crun|/*) ;;
    *) echo "install-slurm.sh: --runtime '$runtime': use runc, crun or an absolute path" >&2; exit 2 ;;
esac
for v in "$prefix" "$db" "$runtime"; do
    if [[ "$v" =~ [[:space:]\"\#\&\\] ]]; then
        echo "install-slurm.sh: '$v' has a blank, quote, '#', '&' or backslash, which oci.conf cannot hold" >&2
        exit 2
    fi
done
if [ -z "$conf_dir" ]; then
    if [ -n "${SLURM_CONF:-}" ]; then conf_dir=$(dirname "$SLURM_CONF"); else conf_dir=/etc/slurm; fi
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-slurm.sh: must run as root (slurmstepd runs what oci.conf names)" >&2
    exit 1
fi
command -v jq >/dev/null || echo "install-slurm.sh: warning: jq is not installed; the wrapper needs it (apt-get install jq)" >&2

umask 022
install -d -o root -g root -m 0755 "$prefix/bin"
install -o root -g root -m 0755 "$repo/packaging/slurm/bypass-slurm-run" "$prefix/bin/bypass-slurm-run"
if [ -n "$enroot_dir" ]; then
    install -d -o root -g root -m 0755 "$enroot_dir"
    sed -e "s#@PREFIX@#$prefix#g" -e "s#@DB@#$db#g" "$repo/packaging/enroot/50-bypass.sh" > "$enroot_dir/50-bypass.sh.tmp"
    chown root:root "$enroot_dir/50-bypass.sh.tmp"
    chmod 0755 "$enroot_dir/50-bypass.sh.tmp"
    mv -f "$enroot_dir/50-bypass.sh.tmp" "$enroot_dir/50-bypass.sh"
    echo "installed the enroot hook $enroot_dir/50-bypass.sh"
fi
if [ "$conf_dir" = none ]; then
    echo "installed $prefix/bin/bypass-slurm-run (no oci.conf written)"
    exit 0
fi
[ -d "$conf_dir" ] || { echo "install-slurm.sh: $conf_dir does not exist (--slurm-conf-dir)" >&2; exit 2; }
target=$conf_dir/oci.conf
marker="packaging/slurm/install-slurm.sh fills in"
if [ -e "$target" ] && ! grep -qF "$marker" "$target"; then
    if [ "$force" != yes ]; then
        echo "install-slurm.sh: $target exists and was not written by bypass; use --force to replace it (kept as oci.conf.bypass-old)" >&2
        exit 2
    fi
    cp -p "$target" "$target.bypass-old"
fi
sed -e "s#@PREFIX@#$prefix#g" -e "s#@DB@#$db#g" -e "s#@RUNTIME@#$runtime#g" \
    "$repo/packaging/slurm/oci.conf" > "$target.tmp"
chown root:root "$target.tmp"
chmod 0644 "$target.tmp"
mv -f "$target.tmp" "$target"
echo "installed $prefix/bin/bypass-slurm-run and $target (runtime $runtime, database $db); restart slurmd"
