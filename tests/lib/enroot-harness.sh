#!/usr/bin/env bash
# Reproduces enroot's documented hook contract, for testing hooks.d scripts where enroot itself
# cannot be installed (Debian 12 has no enroot package):
#
#   tests/lib/enroot-harness.sh HOOKS_DIR ROOTFS [KEY=VALUE...] -- CMD [ARGS...]
#
# As enroot's runtime.sh does for `enroot start`, in a private mount namespace (unshare -m,
# propagation private):
#   1. the container's root filesystem is ROOTFS under a writable overlay (enroot starts from the
#      user's own extracted copy; the overlay keeps ROOTFS itself as it was), at $RT/rootfs;
#   2. ENROOT_ENVIRON ($RT/environment) holds the rootfs' /etc/environment, then the KEY=VALUE
#      arguments; ENROOT_MOUNTS ($RT/fstab) starts empty; ENROOT_ROOTFS, ENROOT_PID and
#      ENROOT_RUNTIME_PATH are exported;
#   3. every HOOKS_DIR/*.sh runs in name order (run-parts), stdout discarded, stderr passed on;
#      the first non-zero exit aborts the start with that status (the container never runs);
#   4. the fstab lines are mounted, in order, inside the rootfs: SRC DST TYPE OPTIONS, where
#      TYPE none is a bind; x-create=file|dir makes a missing mount point; ro remounts read-only;
#      rbind, nosuid, nodev, noexec, private, mode=, size= are honoured; other x-* are ignored;
#   5. /proc, /dev (rbind) and /sys are mounted, and CMD runs chrooted in the rootfs with exactly
#      the environment of ENROOT_ENVIRON (a later line wins), as enroot-switchroot --envfile does.
# Exit status: the hook's on an abort, else CMD's. Not reproduced: the user namespace of rootless
# enroot (this runs as root), squashfs images, enroot's own mounts.d and environ.d.
set -euo pipefail
if [ "${1:-}" != --inside ]; then
    [ $# -ge 4 ] || { echo "usage: enroot-harness.sh HOOKS_DIR ROOTFS [KEY=VALUE...] -- CMD [ARGS...]" >&2; exit 2; }
    [ "$(id -u)" -eq 0 ] || { echo "enroot-harness.sh: must run as root (mount namespace, overlay)" >&2; exit 1; }
    # The scratch directory is removed from out here, once the namespace and its mounts are gone.
    RT=$(mktemp -d /tmp/enroot-harness.XXXXXX)
    rc=0
    unshare --mount --propagation private "$0" --inside "$RT" "$@" || rc=$?
    rm -rf --one-file-system "$RT"
    exit "$rc"
fi
RT=$2
hooks=$(realpath "$3")
lower=$(realpath "$4")
shift 4
mkdir -p "$RT"/{rootfs,upper,work}
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$RT/upper,workdir=$RT/work" "$RT/rootfs"
export ENROOT_RUNTIME_PATH=$RT
export ENROOT_ROOTFS=$RT/rootfs
export ENROOT_ENVIRON=$RT/environment
export ENROOT_MOUNTS=$RT/fstab
export ENROOT_PID=$$
: >"$ENROOT_MOUNTS"
if [ -f "$ENROOT_ROOTFS/etc/environment" ] && [ ! -L "$ENROOT_ROOTFS/etc/environment" ]; then
    grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$ENROOT_ROOTFS/etc/environment" >"$ENROOT_ENVIRON" || true
else
    : >"$ENROOT_ENVIRON"
fi
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "enroot-harness.sh: '$1' is not KEY=VALUE" >&2; exit 2; }
    printf '%s\n' "$1" >>"$ENROOT_ENVIRON"
    shift
done
[ "${1:-}" = -- ] || { echo "enroot-harness.sh: missing -- CMD" >&2; exit 2; }
shift

# 3. the hooks
for hook in "$hooks"/*.sh; do
    [ -f "$hook" ] || continue
    rc=0
    "$hook" >/dev/null || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "enroot-harness.sh: hook ${hook##*/} failed with exit status $rc; the container does not start" >&2
        exit "$rc"
    fi
done

# 4. the hooks' fstab
inside() { # DST: the host path of DST in the rootfs; refuses .. (a harness, not a resolver)
    case "/$1/" in */../*) echo "enroot-harness.sh: '$1' has a .. component" >&2; return 1 ;; esac
    printf '%s\n' "$ENROOT_ROOTFS/${1#/}"
}
while read -r src dst type opts rest; do
    case "$src" in ''|'#'*) continue ;; esac
    [ -n "$dst" ] && [ -n "$type" ] && [ -z "$rest" ] || { echo "enroot-harness.sh: bad fstab line: $src $dst $type $opts $rest" >&2; exit 1; }
    target=$(inside "$dst")
    create='' ro=no bind=''
    mopts=()
    IFS=, read -ra list <<<"${opts:-defaults}"
    for o in "${list[@]}"; do
        case $o in
            x-create=*) create=${o#x-create=} ;;
            x-*|defaults|private|slave|shared) ;;
            bind) bind=--bind ;;
            rbind) bind=--rbind ;;
            ro) ro=yes ;;
            rw) ;;
            *) mopts+=("$o") ;;
        esac
    done
    if [ ! -e "$target" ]; then
        case $create in
            file) mkdir -p "$(dirname "$target")"; : >"$target" ;;
            dir) mkdir -p "$target" ;;
        esac
    fi
    o=$(IFS=,; echo "${mopts[*]}")
    if [ "$type" = none ]; then
        mount ${bind:---bind} "$src" "$target"
        mount -o "remount,bind${o:+,$o}$([ "$ro" = yes ] && echo ,ro)" "$target"
    else
        mount -t "$type" -o "${o:-defaults}$([ "$ro" = yes ] && echo ,ro)" "$src" "$target"
    fi
done <"$ENROOT_MOUNTS"

# 5. the container
mount -t proc proc "$ENROOT_ROOTFS/proc"
mount --rbind /dev "$ENROOT_ROOTFS/dev"
mount --rbind /sys "$ENROOT_ROOTFS/sys"
declare -A env=()
while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] && env[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done <"$ENROOT_ENVIRON"
envs=()
for k in "${!env[@]}"; do envs+=("$k=${env[$k]}"); done
rc=0
# (the container's own env(1) sets it, so nothing of it applies to a host binary)
chroot "$ENROOT_ROOTFS" /usr/bin/env -i "${envs[@]}" "$@" || rc=$?
exit "$rc"
