#!/usr/bin/env bash
# Builds the kernel lab guest (issue 13): the Debian cloud kernel x86_64 with the modules of
# every feature the host kernel may lack, Debian's own ip and tc (scripts/guest/iproute2.sh),
# and a static sandnet-conformance that runs the checks of Sources/KernelConformance
# (scripts/guest/lab-init). Tests/KernelLabTests boots it.
#
#   scripts/guest/build-lab-image.sh           prints the image directory last
#   SANDNET_OFFLINE=1 scripts/guest/build-lab-image.sh   from what is cached already, no apt
#
# Inputs: the kernel and busybox that scripts/guest/build-image.sh x86_64 unpacked, iproute2
# and its libraries (stage_iproute2 amd64), and sandnet-conformance built statically:
# $SANDNET_CONFORMANCE_BINARY if set, else built here (incrementally) with
#   swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path ${SANDNET_STATIC_SCRATCH:-.build-static}
# (the scratch path the seed guest's static sandnet uses: the two share every module below).
# Output, under ${SANDNET_CACHE:-/var/cache/sandnet}/guest/x86_64-lab/: vmlinuz, initrd.img,
# inputs (rebuilt when it differs), SHA256SUMS.
# Exit status: 0 built or up to date, 3 the packages cannot be had (offline, not cached), 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${SANDNET_CACHE:-/var/cache/sandnet}
pkgroot=$cache/debian/amd64
out=$cache/guest/x86_64-lab
log() { echo "build-lab-image: $*" >&2; }
. "$here/pack-image.sh"
. "$here/x86_64-kernel.sh"
. "$here/iproute2.sh"

# The kernel and busybox the x86_64 test guest unpacked (status 3: they cannot be had here).
unpacked_x86_64_kernel || exit $?

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,etc/sandnet,lib/modules/"$kver"}
# Debian's ip and tc (offline: from the cache only; a missing package is status 3).
iproute2=$(stage_iproute2 amd64 "$stage") || { log "cannot stage Debian's iproute2"; exit 3; }

if [ -n "${SANDNET_CONFORMANCE_BINARY:-}" ]; then
    binary=$SANDNET_CONFORMANCE_BINARY
else
    static=(swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path "${SANDNET_STATIC_SCRATCH:-$repo/.build-static}")
    log "building the static sandnet-conformance (${static[*]} --product sandnet-conformance)"
    buildlog=$(mktemp)
    if ! (cd "$repo" && "${static[@]}" --product sandnet-conformance >"$buildlog" 2>&1); then
        grep -E "error" "$buildlog" | head -20 >&2 || tail -20 "$buildlog" >&2
        rm -f "$buildlog"
        log "the static build failed"
        exit 1
    fi
    rm -f "$buildlog"
    binary=$(cd "$repo" && "${static[@]}" --show-bin-path)/sandnet-conformance
fi
[ -x "$binary" ] || { log "no sandnet-conformance at $binary"; exit 1; }
if ldd "$binary" >/dev/null 2>&1; then log "$binary is dynamically linked; the guest has only ip's libraries"; exit 1; fi
strip -o "$stage/bin/sandnet-conformance" "$binary"

# The modules of every feature the catalog checks, and what they need, in load order
# (modprobe --show-depends reads modules.dep), uncompressed.
wanted=(veth tun tap macvlan macvtap sch_ingress cls_u32 act_mirred dummy 8021q ipvlan cls_matchall cls_flower act_gact sch_htb ifb vhost_net)
: >"$stage/etc/sandnet/modules"
for m in "${wanted[@]}"; do
    deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>&1) || { log "$kver has no module $m: $deps"; exit 1; }
    while read -r verb path _; do
        [ "$verb" = insmod ] || continue
        rel=${path#"$kroot/lib/modules/$kver/"}
        case "$rel" in *.xz) dst=${rel%.xz} ;; *.zst) dst=${rel%.zst} ;; *) dst=$rel ;; esac
        grep -qx "$dst" "$stage/etc/sandnet/modules" && continue
        mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
        case "$rel" in
            *.ko) cp "$path" "$stage/lib/modules/$kver/$rel" ;;
            *.ko.xz) xz -dc "$path" >"$stage/lib/modules/$kver/$dst" ;;
            *.ko.zst) zstd -qdc "$path" >"$stage/lib/modules/$kver/$dst" ;;
            *) log "unexpected module file $rel"; exit 1 ;;
        esac
        echo "$dst" >>"$stage/etc/sandnet/modules"
    done <<<"$deps"
done
echo "$kver" >"$stage/etc/sandnet/kernel"
install -m 0755 "$here/lab-init" "$stage/init"

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
inputs=$(
    echo "arch=x86_64"
    grep -E '^(linux-image-|busybox-static=)' "$cache/guest/x86_64/inputs"
    echo "$iproute2"
    echo "sandnet-conformance=$(sha256sum <"$stage/bin/sandnet-conformance" | cut -d' ' -f1)"
    sha256sum "$here/lab-init" "$here/build-lab-image.sh" "$here/pack-image.sh" "$here/iproute2.sh" "$here/x86_64-kernel.sh" | sed "s|$here/||"
)
if [ -f "$out/inputs" ] && [ "$(cat "$out/inputs")" = "$inputs" ] && (cd "$out" && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
    log "up to date ($kver)"
    echo "$out"
    exit 0
fi
pack_image "$stage" 6
log "built $out ($kver; $(wc -l <"$stage/etc/sandnet/modules") modules; $iproute2)"
echo "$out"
