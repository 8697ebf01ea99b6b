#!/usr/bin/env bash
# Downloads the Debian cloud kernel packages (amd64, arm64) and extracts them, so the
# HostCheck tests can read real kernel configurations and module trees.
#
# Cache layout, shared with the guest image scripts (scripts/guest/):
#   ${SANDNET_CACHE:-/var/cache/sandnet}/debian/<arch>/debs/   downloaded .deb files
#   ${SANDNET_CACHE:-/var/cache/sandnet}/debian/<arch>/root/   their contents (dpkg-deb -x)
#   ${SANDNET_CACHE:-/var/cache/sandnet}/debian/<arch>/kernel-version   e.g. 6.1.0-56-cloud-amd64
# Idempotent (a finished arch is left alone) and safe to run concurrently with itself
# or the guest scripts: each arch is guarded by flock on debian/<arch>/.lock, and apt
# by debian/.apt.lock.
#
# Usage: scripts/fetch-kernel-configs.sh [amd64] [arm64]     (default: both)
set -euo pipefail

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
    if [ -s "$dir/kernel-version" ] && [ -f "$dir/root/boot/config-$(cat "$dir/kernel-version")" ] \
        && [ -f "$dir/root/lib/modules/$(cat "$dir/kernel-version")/modules.dep" ]; then
        echo "fetch-kernel-configs: $arch: cached $(cat "$dir/kernel-version")"
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
    local tmp="$dir/root.tmp.$$"
    rm -rf "$tmp"; mkdir -p "$tmp"
    # Keep anything the guest scripts already extracted into root/.
    [ -d "$dir/root" ] && cp -a "$dir/root/." "$tmp/"
    dpkg-deb -x "$dir/debs/${pkg}_"*.deb "$tmp"
    # The package ships no modules.alias/modules.dep (depmod makes them at install time).
    if command -v depmod >/dev/null 2>&1; then depmod -b "$tmp" "$abi-cloud-$arch"
    elif [ -x /usr/sbin/depmod ]; then /usr/sbin/depmod -b "$tmp" "$abi-cloud-$arch"; fi
    rm -rf "$dir/root.old"; [ -d "$dir/root" ] && mv "$dir/root" "$dir/root.old"
    mv "$tmp" "$dir/root"; rm -rf "$dir/root.old"
    echo "$abi-cloud-$arch" > "$dir/kernel-version.tmp" && mv "$dir/kernel-version.tmp" "$dir/kernel-version"
    echo "fetch-kernel-configs: $arch: $(cat "$dir/kernel-version") in $dir/root"
}

for a in "${arches[@]}"; do
    case "$a" in amd64|arm64) ( fetch_arch "$a" ) ;; *) echo "usage: $0 [amd64] [arm64]" >&2; exit 2 ;; esac
done
