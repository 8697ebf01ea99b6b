#!/usr/bin/env bash
# Builds the guest that reproduces the seed failure of issue 5 in a real kernel: the Debian
# cloud kernel with nfnetlink.ko and xfrm_user.ko on disk but neither loaded nor loadable on
# demand, and a statically linked sandnet that checks the host twice (scripts/guest/check-init).
#
#   scripts/guest/build-check-image.sh        prints the image directory last
#   SANDNET_OFFLINE=1 scripts/guest/build-check-image.sh   the same from what is unpacked already, no apt
#
# Inputs: the kernel and busybox that scripts/guest/build-image.sh x86_64 unpacked (it is run
# first, so the two guests always share one kernel), and a static, stripped sandnet:
# $SANDNET_STATIC_BINARY if set, else built here (incrementally) with
#   swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static
# Output, under ${SANDNET_CACHE:-/var/cache/sandnet}/guest/x86_64-check/:
#   vmlinuz, initrd.img     the image
#   inputs                  kernel, busybox, sandnet sha256, script checksums; rebuilt when it differs
#   SHA256SUMS              checksums of the image files, verified before reuse
# Exit status: 0 built or up to date, 3 the kernel or busybox package cannot be had, 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${SANDNET_CACHE:-/var/cache/sandnet}
pkgroot=$cache/debian/amd64
out=$cache/guest/x86_64-check
log() { echo "build-check-image: $*" >&2; }
. "$here/pack-image.sh"
. "$here/x86_64-kernel.sh"

# The kernel and busybox the x86_64 test guest unpacked (status 3: they cannot be had here).
unpacked_x86_64_kernel || exit $?

# The static sandnet. An incremental build is a no-op when nothing changed, and keeps the
# guest from testing stale code.
if [ -n "${SANDNET_STATIC_BINARY:-}" ]; then
    binary=$SANDNET_STATIC_BINARY
else
    static=(swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path "$repo/.build-static")
    log "building the static sandnet (${static[*]} --product sandnet)"
    buildlog=$(mktemp)
    if ! (cd "$repo" && "${static[@]}" --product sandnet >"$buildlog" 2>&1); then
        grep -E "error" "$buildlog" | head -20 >&2 || tail -20 "$buildlog" >&2
        rm -f "$buildlog"
        log "the static build failed"
        exit 1
    fi
    rm -f "$buildlog"
    binary=$(cd "$repo" && "${static[@]}" --show-bin-path)/sandnet
fi
[ -x "$binary" ] || { log "no sandnet binary at $binary (the static build failed?)"; exit 1; }
if ldd "$binary" >/dev/null 2>&1; then log "$binary is dynamically linked; the guest has no libraries"; exit 1; fi

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
stripped=$out/sandnet.stripped
strip -o "$stripped.new" "$binary"
"$stripped.new" --help >/dev/null || { log "the stripped sandnet does not run"; exit 1; }
mv "$stripped.new" "$stripped"

inputs=$(
    echo "arch=x86_64"
    grep -E '^(linux-image-|busybox-static=)' "$cache/guest/x86_64/inputs"
    echo "sandnet=$(sha256sum <"$stripped" | cut -d' ' -f1)"
    sha256sum "$here/check-init" "$here/build-check-image.sh" "$here/pack-image.sh" "$here/x86_64-kernel.sh" | sed "s|$here/||"
)
if [ -f "$out/inputs" ] && [ "$(cat "$out/inputs")" = "$inputs" ] && (cd "$out" && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
    log "up to date ($kver)"
    echo "$out"
    exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,boot,etc/sandnet,lib/modules/"$kver"}

# Copies MODULE and what modules.dep says it needs into the stage, uncompressed, and appends
# them in load order to LIST (modprobe --show-depends resolves the order).
stage_modules() {
    local list=$1 m deps verb path rel
    shift
    for m in "$@"; do
        deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>&1) || { log "$kver has no module $m: $deps"; exit 1; }
        while read -r verb path _; do
            [ "$verb" = insmod ] || continue
            rel=${path#"$kroot/lib/modules/$kver/"}
            mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
            case "$rel" in
                *.ko) cp "$path" "$stage/lib/modules/$kver/$rel" ;;
                *.ko.xz) xz -dc "$path" >"$stage/lib/modules/$kver/${rel%.xz}"; rel=${rel%.xz} ;;
                *.ko.zst) zstd -qdc "$path" >"$stage/lib/modules/$kver/${rel%.zst}"; rel=${rel%.zst} ;;
                *) log "unexpected module file $rel"; exit 1 ;;
            esac
            grep -qx "$rel" "$stage/etc/sandnet/$list" 2>/dev/null || echo "$rel" >>"$stage/etc/sandnet/$list"
        done <<<"$deps"
    done
}
# Loaded at boot, so that the first check fails on the netlink families alone: everything
# else the tcfilter and macvtap models need (Debian builds all of it as modules).
stage_modules preload veth tun tap macvlan macvtap sch_ingress cls_u32 act_mirred vhost_net vhost_vsock
# On disk only, until the init loads them for the second check.
stage_modules seed nfnetlink xfrm_user
if grep -E '/(nfnetlink|xfrm_user)\.ko$' "$stage/etc/sandnet/preload"; then
    log "a preloaded module needs nfnetlink or xfrm_user: the first check would not show the seed failure"
    exit 1
fi
# The module tree as an installed system has it, but listing only the staged modules:
# modules.alias then names nfnetlink for net-pf-16-proto-12, as on the host in the field.
cp "$kroot/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$stage/lib/modules/$kver/"
depmod -b "$stage" "$kver"
# sandnet check reads the kernel's configuration from /boot, as on an installed Debian system.
cp "$kroot/boot/config-$kver" "$stage/boot/"
echo "$kver" >"$stage/etc/sandnet/kernel"

install -m 0755 "$stripped" "$stage/bin/sandnet"
install -m 0755 "$here/check-init" "$stage/init"
pack_image "$stage" 6
log "built $out ($kver; preloaded: $(wc -l <"$stage/etc/sandnet/preload") modules; on disk only: $(tr '\n' ' ' <"$stage/etc/sandnet/seed"))"
echo "$out"
