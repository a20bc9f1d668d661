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
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps.sh: installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
