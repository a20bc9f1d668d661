#!/usr/bin/env bash
# Installs, from Debian's packages, what building and testing bypass needs on a Debian 12 machine:
# a JDK and Maven, gcc (the native helper, test fixtures, 32-bit fixtures with multilib), runc and
# podman, Debian's MPICH as the host MPI, jq, and a Slurm (munge, slurmctld, slurmd, srun) for the
# one-host test cluster of tests/integration/t-slurm.sh. Used by demo.sh and .ci/run.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root (apt-get install)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages=(openjdk-17-jdk-headless maven gcc make libc6-dev gcc-multilib binutils
    runc podman uidmap strace mpich libmpich-dev libfabric1 libfabric-dev charliecloud-runtime jq time libopenmpi3 ca-certificates
    debian-archive-keyring munge slurmctld slurmd slurm-client)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# apt-get, waiting (up to 10 minutes) while another apt or dpkg holds its lock instead of failing
# with exit 100: unattended-upgrades on a fresh machine, or a second script started beside this one.
apt_get() {
    local out waited=no
    for _ in $(seq 120); do
        if out=$(apt-get -o DPkg::Lock::Timeout=600 "$@" 2>&1); then
            return 0
        fi
        if grep -qE 'Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock' <<<"$out"; then
            [ "$waited" = yes ] || echo "install-deps.sh: another apt or dpkg holds the lock; waiting for it"
            waited=yes
            sleep 5
            continue
        fi
        printf '%s\n' "$out" >&2
        return 1
    done
    echo "install-deps.sh: the apt lock was still held after 10 minutes" >&2
    return 1
}
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps.sh: installing ${missing[*]} (apt, about a minute)"
    apt_get update -qq
    apt_get install -y -qq "${missing[@]}"
    echo "install-deps.sh: done"
fi
