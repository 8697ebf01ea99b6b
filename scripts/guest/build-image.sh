#!/usr/bin/env bash
# Builds the sandnet test guest for one architecture from Debian packages: the Debian
# cloud kernel, busybox-static, the modules virtio-net over PCI needs, and scripts/guest/init.
#
#   scripts/guest/build-image.sh x86_64|aarch64      prints the image directory last
#
# Cache layout (shared with scripts/fetch-kernel-configs.sh), under ${SANDNET_CACHE:-/var/cache/sandnet}:
#   debian/<debarch>/debs/*.deb            downloaded packages
#   debian/<debarch>/<package>/            `dpkg-deb -x` of each package; .version holds its version
#   debian/<debarch>/.lock                 flock(1) held while a script changes debian/<debarch>
#   debian/.apt.lock                       flock(1) held around dpkg --add-architecture and apt-get update
#   guest/<arch>/vmlinuz, initrd.img       the image
#   guest/<arch>/inputs                    what it was built from (versions, checksums); rebuilt when it differs
#   guest/<arch>/SHA256SUMS                checksums of the image files, verified before reuse
# Idempotent: a second run with unchanged inputs only verifies the checksums.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
arch=${1:-}
case "$arch" in
    x86_64 | amd64) arch=x86_64 debarch=amd64 ;;
    aarch64 | arm64) arch=aarch64 debarch=arm64 ;;
    *) echo "usage: $0 x86_64|aarch64" >&2; exit 2 ;;
esac
cache=${SANDNET_CACHE:-/var/cache/sandnet}
pkgroot=$cache/debian/$debarch
out=$cache/guest/$arch
mkdir -p "$pkgroot/debs" "$out"

# One builder per architecture at a time (the kernel-config fetcher takes the same lock).
exec 9>"$pkgroot/.lock"
flock 9

log() { echo "build-image($arch): $*" >&2; }
. "$here/pack-image.sh"

# On an amd64 host, arm64 packages need the foreign architecture and its package lists.
native=$(dpkg --print-architecture)
suffix=""
if [ "$debarch" != "$native" ]; then
    suffix=":$debarch"
    if ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
        log "adding the $debarch package architecture (dpkg --add-architecture $debarch)"
        flock "$cache/debian/.apt.lock" dpkg --add-architecture "$debarch"
        flock "$cache/debian/.apt.lock" apt-get update -qq
    fi
fi

# The kernel the linux-image-cloud-<debarch> meta-package points at right now.
kernel_version() {
    apt-cache depends "linux-image-cloud-$debarch$suffix" 2>/dev/null |
        sed -n "s/^ *Depends: linux-image-\([0-9][^ :]*\)-cloud-$debarch.*/\1-cloud-$debarch/p" | head -1
}
kver=$(kernel_version)
if [ -z "$kver" ]; then
    log "apt does not know linux-image-cloud-$debarch$suffix yet: apt-get update"
    flock "$cache/debian/.apt.lock" apt-get update -qq
    kver=$(kernel_version)
fi
[ -n "$kver" ] || { log "cannot find the Debian cloud kernel for $debarch (apt-cache depends linux-image-cloud-$debarch$suffix)"; exit 1; }

# Downloads and unpacks PACKAGE into $pkgroot/PACKAGE unless that version is already there.
extract() {
    local pkg=$1 version dir=$pkgroot/$1 deb
    version=$(apt-cache policy "$pkg$suffix" | sed -n 's/^ *Candidate: //p')
    [ -n "$version" ] && [ "$version" != "(none)" ] || { log "apt has no candidate for $pkg$suffix"; exit 1; }
    if [ -f "$dir/.version" ] && [ "$(cat "$dir/.version")" = "$version" ]; then
        echo "$pkg=$version"; return
    fi
    deb=$(ls "$pkgroot/debs/${pkg}_"*"_$debarch.deb" 2>/dev/null | while read -r f; do
        [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && echo "$f"; done | head -1)
    if [ -z "$deb" ]; then
        log "downloading $pkg$suffix $version"
        # apt's sandbox user cannot write to the cache; the download is verified by apt either way.
        (cd "$pkgroot/debs" && apt-get download -qq "$pkg$suffix=$version" 2>&1 | grep -v "unsandboxed" >&2 || true)
        deb=$(ls "$pkgroot/debs/${pkg}_"*"_$debarch.deb" 2>/dev/null | while read -r f; do
            [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && echo "$f"; done | head -1)
        [ -n "$deb" ] || { log "could not download $pkg$suffix $version"; exit 1; }
    fi
    log "unpacking $(basename "$deb")"
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$deb" "$dir"
    echo "$version" >"$dir/.version"
    echo "$pkg=$version"
}

kpkg=linux-image-$kver
inputs=$(
    echo "arch=$arch"
    extract "$kpkg"
    extract busybox-static
    sha256sum "$here/init" "$here/json-flatten.awk" "$here/build-image.sh" "$here/pack-image.sh" | sed "s|$here/||"
)
kroot=$pkgroot/$kpkg
[ -f "$kroot/lib/modules/$kver/modules.dep" ] || depmod -b "$kroot" "$kver"

if [ -f "$out/inputs" ] && [ "$(cat "$out/inputs")" = "$inputs" ] && (cd "$out" && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
    log "up to date ($kver)"
    echo "$out"
    exit 0
fi

# Modules for virtio-net over PCI and for reading the guest description from fw_cfg, in
# load order with their dependencies (modprobe --show-depends reads modules.dep; built-in
# ones are reported as "builtin" and need nothing).
wanted=(virtio_pci virtio_net qemu_fw_cfg virtio_console)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,etc/sandnet,lib/modules/"$kver"}
: >"$stage/etc/sandnet/modules"
for m in "${wanted[@]}"; do
    if ! deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>&1); then
        log "the $kver kernel has no module $m, and it is not built in: $deps"
        exit 1
    fi
    while read -r verb path _; do
        [ "$verb" = insmod ] || continue
        rel=${path#"$kroot/lib/modules/$kver/"}
        grep -qx "$rel" "$stage/etc/sandnet/modules" && continue
        mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
        case "$rel" in
            *.ko) cp "$path" "$stage/lib/modules/$kver/$rel" ;;
            *.ko.xz) xz -dc "$path" >"$stage/lib/modules/$kver/${rel%.xz}"; rel=${rel%.xz} ;;
            *.ko.zst) zstd -qdc "$path" >"$stage/lib/modules/$kver/${rel%.zst}"; rel=${rel%.zst} ;;
            *) log "unexpected module file $rel"; exit 1 ;;
        esac
        echo "$rel" >>"$stage/etc/sandnet/modules"
    done <<<"$deps"
done
echo "$kver" >"$stage/etc/sandnet/kernel"

install -m 0755 "$here/init" "$stage/init"
install -m 0644 "$here/json-flatten.awk" "$stage/etc/sandnet/json-flatten.awk"
pack_image "$stage" 9
log "built $out ($kver, modules: $(tr '\n' ' ' <"$stage/etc/sandnet/modules"))"
echo "$out"
