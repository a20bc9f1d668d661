#!/usr/bin/env bash
# bypass for enroot (and pyxis' `srun --container-image`): /etc/enroot/hooks.d/50-bypass.sh.
# packaging/slurm/install-slurm.sh --enroot-hooks-dir DIR installs it with the two paths below filled in.
#
# enroot runs its hooks before pivot, in the container's mount namespace, with
#   ENROOT_ROOTFS   the container's root filesystem (a path on the host side)
#   ENROOT_ENVIRON  a file of the container's environment, KEY=VALUE a line (a later line wins)
#   ENROOT_MOUNTS   an fstab file (SRC DST TYPE OPTIONS, DST inside the rootfs) that enroot mounts
#                   once the hooks are done
# and a hook's non-zero exit aborts the start; its stdout is discarded, its stderr is the user's.
# This hook asks bypass about $ENROOT_ROOTFS with the container's environment, then appends the
# plan's bind mounts to $ENROOT_MOUNTS (a tmpfs at /opt/bypass first when libraries are added, so
# their mount points are made there) and its variables to $ENROOT_ENVIRON (LD_LIBRARY_PATH
# prepended to the container's own). A refusal is bypass' one line on stderr and exit 3.
# The container's environment can say BYPASS_ENABLED=false (bypass does nothing),
# BYPASS_BUNDLES=a,b (exactly these bundles), BYPASS_MPI_MODE=mpi_replace|mpi_system|
# libfabric_inject: the annotations org.supercontainers.bypass.enabled, .bypass.bundles and
# org.supercontainers.mpi.portability.mode of the other fronts. Needs jq.
set -euo pipefail
bypass=@PREFIX@/bin/bypass
db=@DB@
me="bypass (enroot hook)"
fail() { # CODE MESSAGE
    echo "$me: $2" >&2
    exit "$1"
}
case "$bypass$db" in *@*) fail 1 "not configured: install it with packaging/slurm/install-slurm.sh --enroot-hooks-dir DIR" ;; esac
for v in ENROOT_ROOTFS ENROOT_ENVIRON ENROOT_MOUNTS; do
    [ -n "${!v:-}" ] || fail 2 "$v is not set: this runs as an enroot hook (hooks.d)"
done
[ -d "$ENROOT_ROOTFS" ] || fail 2 "ENROOT_ROOTFS $ENROOT_ROOTFS is not a directory"
jq=$(PATH=/usr/local/bin:/usr/bin:/bin command -v jq) || fail 1 "jq is not installed (apt-get install jq)"

# The container's environment: the last value of each name.
declare -A cenv=()
order=()
if [ -f "$ENROOT_ENVIRON" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        [ -n "${cenv[${BASH_REMATCH[1]}]+x}" ] || order+=("${BASH_REMATCH[1]}")
        cenv[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done <"$ENROOT_ENVIRON"
fi
args=()
for k in "${order[@]}"; do
    args+=(--env "$k=${cenv[$k]}")
done
[ -z "${cenv[BYPASS_ENABLED]:-}" ] || args+=(--annotation "org.supercontainers.bypass.enabled=${cenv[BYPASS_ENABLED]}")
[ -z "${cenv[BYPASS_BUNDLES]:-}" ] || args+=(--annotation "org.supercontainers.bypass.bundles=${cenv[BYPASS_BUNDLES]}")
[ -z "${cenv[BYPASS_MPI_MODE]:-}" ] || args+=(--annotation "org.supercontainers.mpi.portability.mode=${cenv[BYPASS_MPI_MODE]}")

# bypass decides, with a clean environment (nothing of the container's reaches the host side).
err=$(mktemp)
trap 'rm -f "$err"' EXIT
rc=0
plan=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/ "$bypass" --db "$db" --json check \
    --rootfs "$ENROOT_ROOTFS" "${args[@]}" 2>"$err") || rc=$?
if [ "$rc" -eq 3 ]; then
    line=$("$jq" -r 'first(.findings[] | select(.severity == "error"))
        | "bypass: refused: " + .message + (if .hint then "; " + .hint else "" end) + (if .code then " [" + .code + "]" else "" end)' <<<"$plan" 2>/dev/null) || line=
    echo "${line:-bypass: refused: $(head -1 "$err")}" >&2
    exit 3
elif [ "$rc" -ne 0 ]; then
    head -1 "$err" >&2
    exit "$rc"
fi
[ "$("$jq" -r .verdict <<<"$plan")" = inject ] || exit 0

# The plan as fstab lines and environment lines. enroot's fstab splits on blanks: a path with one
# cannot be written there.
fstab=$("$jq" -r '
    def opts($ro): "x-create=file,bind," + (if $ro then "ro" else "rw" end) + ",nosuid,nodev,private";
    (if .plan.libraryDir then "tmpfs /opt/bypass tmpfs x-create=dir,nosuid,nodev,mode=755,size=4m" else empty end),
    (.plan.mounts[] | "\(.source) \(.target) none \(opts(.readOnly))"),
    (.plan.devices[] | "\(.source) \(.target) none x-create=file,bind,rw,nosuid,noexec,private")' <<<"$plan")
while IFS= read -r l; do
    [ "$(wc -w <<<"$l")" -eq 4 ] || fail 2 "a path of the plan has a blank, which enroot's fstab cannot hold: $l"
done <<<"$fstab"
envs=()
while IFS=$'\t' read -r name value action; do
    [ -n "$name" ] || continue
    if [ "$action" = prepend ] && [ -n "${cenv[$name]:-}" ]; then
        value=$value:${cenv[$name]}
    fi
    envs+=("$name=$value")
done < <("$jq" -r '.plan.env[] | [.name, .value, .action] | @tsv' <<<"$plan")
printf '%s\n' "$fstab" >>"$ENROOT_MOUNTS"
[ ${#envs[@]} -eq 0 ] || printf '%s\n' "${envs[@]}" >>"$ENROOT_ENVIRON"
