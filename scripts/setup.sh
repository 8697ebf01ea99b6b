#!/usr/bin/env bash
# Installs what sandnet's build, demo and tests need on a fresh Debian machine (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(iproute2 qemu-system-x86 qemu-system-arm containernetworking-plugins busybox-static cpio libmnl-dev kmod zlib1g-dev python3-jsonschema python3-venv
    golang-go golang-github-vishvananda-netlink-dev golang-github-vishvananda-netns-dev linux-perf)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# kubernetes-validate from PyPI (pinned), for DeployManifestTests: validates deploy/ offline
# against the Kubernetes schemas the package bundles. Its own venv in the cache, so the
# system Python stays Debian's.
kv=/var/cache/sandnet/kubernetes-validate
kv_version=1.37.0
if ! "$kv/bin/kubernetes-validate" --version 2>/dev/null | grep -qF "$kv_version"; then
    echo "setup: installing kubernetes-validate $kv_version into $kv"
    rm -rf "$kv"
    /usr/bin/python3 -m venv "$kv"
    "$kv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$kv_version"
fi

# Test guests for the end-to-end tests and `sandnet-lab demo` (cached under /var/cache/sandnet).
scripts/guest/build-image.sh x86_64 >/dev/null
scripts/guest/build-image.sh aarch64 >/dev/null
# The seed-failure guest (HostCheckTests' SeedReproductionTests): builds the static sandnet
# in .build-static first (~3 minutes on 2 cores), so the test itself only boots it.
scripts/guest/build-check-image.sh >/dev/null
# The kernel lab guest (Tests/KernelLabTests): Debian's iproute2 and a static sandnet-conformance
# built in the same .build-static (only the lab's own modules are new).
scripts/guest/build-lab-image.sh >/dev/null
