#!/usr/bin/env bash
# Downloads the Debian cloud kernel packages (amd64, arm64) and extracts them. The HostCheck
# tests do not run it: they judge the kernels pinned in Tests/Fixtures/kernels (its
# README says how to refresh them from what this script extracts).
#
# Cache layout, the same as scripts/guest/build-image.sh's, under ${SANDNET_CACHE:-/var/cache/sandnet}:
#   debian/<arch>/debs/*.deb                 downloaded packages
#   debian/<arch>/<package>/                 `dpkg-deb -x` of each package; .version holds its version
#   debian/<arch>/kernel-version             the cloud kernel release, e.g. 6.1.0-56-cloud-amd64
# Idempotent (a finished arch is left alone) and safe to run concurrently with itself
# or the guest scripts: each arch is guarded by flock on debian/<arch>/.lock, and apt
# by debian/.apt.lock.
#
# Usage: scripts/fetch-kernel-configs.sh [amd64] [arm64]     (default: both)
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # depmod

cache="${SANDNET_CACHE:-/var/cache/sandnet}/debian"
arches=("$@")
((${#arches[@]})) || arches=(amd64 arm64)
mkdir -p "$cache"

apt_locked() { flock "$cache/.apt.lock" "$@"; }

# The kernel ABI the cloud meta-package points at, e.g. "6.1.0-56".
kernel_abi() {
    local meta="linux-image-cloud-$1"
    [ "$1" = amd64 ] || meta="$meta:$1"
    apt-cache depends "$meta" 2>/dev/null | sed -n 's/.*Depends: linux-image-\([0-9.]*-[0-9]*\)-cloud-.*/\1/p' | head -n1
}

fetch_arch() {
    local arch=$1 dir="$cache/$1"
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    local have; have=$(cat "$dir/kernel-version" 2>/dev/null || true)
    if [ -n "$have" ] && [ -f "$dir/linux-image-$have/boot/config-$have" ] \
        && [ -f "$dir/linux-image-$have/lib/modules/$have/modules.dep" ]; then
        echo "fetch-kernel-configs: $arch: cached $have"
        return
    fi
    if [ "$arch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        apt_locked dpkg --add-architecture "$arch"
        apt_locked apt-get update -qq
    fi
    local abi; abi=$(kernel_abi "$arch")
    if [ -z "$abi" ]; then
        apt_locked apt-get update -qq
        abi=$(kernel_abi "$arch")
    fi
    [ -n "$abi" ] || { echo "fetch-kernel-configs: no linux-image-cloud-$arch in the apt sources" >&2; exit 1; }
    local pkg="linux-image-$abi-cloud-$arch"
    # amd64's image package is the signed one; the unsigned one has the same config and modules.
    mkdir -p "$dir/debs"
    local spec="$pkg"; [ "$arch" = "$(dpkg --print-architecture)" ] || spec="$pkg:$arch"
    if ! ls "$dir/debs/${pkg}_"*.deb >/dev/null 2>&1; then
        (cd "$dir/debs" && apt-get download -qq -o APT::Sandbox::User=root "$spec")
    fi
    local deb; deb=$(ls "$dir/debs/${pkg}_"*.deb | head -1)
    local tree="$dir/$pkg"
    rm -rf "$tree"; mkdir -p "$tree"
    dpkg-deb -x "$deb" "$tree"
    # The package ships no modules.alias/modules.dep (depmod makes them at install time).
    depmod -b "$tree" "$abi-cloud-$arch"
    dpkg-deb -f "$deb" Version > "$tree/.version"
    echo "$abi-cloud-$arch" > "$dir/kernel-version.tmp" && mv "$dir/kernel-version.tmp" "$dir/kernel-version"
    echo "fetch-kernel-configs: $arch: $(cat "$dir/kernel-version") in $tree"
}

for a in "${arches[@]}"; do
    case "$a" in amd64|arm64) ( fetch_arch "$a" ) ;; *) echo "usage: $0 [amd64] [arm64]" >&2; exit 2 ;; esac
done
