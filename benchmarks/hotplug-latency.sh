#!/bin/sh
# Host-side + QMP hotplug latency of `sandnet plug` against a paused QEMU (-S, no guest):
# attach a pod with one veth and 5 spare ports, add 5 more veths, plug them one by one and
# print each plug's time as sandnet measures it (host side, getfd, netdev_add, device_add).
# Usage (root): benchmarks/hotplug-latency.sh SANDNET [MODEL] [ARCH]   (ARCH: x86_64 or arm64)
set -eu
sandnet=$1 model=${2:-tcfilter} arch=${3:-x86_64}
ns=sn-hplat-$$ state=/tmp/sn-hplat-$$ qmp=/tmp/sn-hplat-$$.sock
case $arch in x86_64) qemu=qemu-system-x86_64 machine=q35 ;; arm64) qemu=qemu-system-aarch64 machine=virt ;; esac
qpid=""
cleanup() {
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
    "$sandnet" detach --sandbox hplat --state-dir "$state" --force >/dev/null 2>&1 || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$state" "$qmp"
}
trap cleanup EXIT
veth() {
    ip -n "$ns" link add "e$1" type veth peer name "p$1"
    ip -n "$ns" link set "e$1" up
    ip -n "$ns" link set "p$1" up
    ip -n "$ns" addr add "198.51.100.$((10 + $1))/32" dev "e$1"
}
ip netns add "$ns"
veth 0
mkdir -m 700 "$state"
"$sandnet" attach --netns "$ns" --sandbox hplat --model "$model" --arch "$arch" --spare-ports 5 --state-dir "$state" --json \
    >"$state/attach.json"
# The root ports only (the boot NIC's descriptors died with the attach process).
ports=$(tr -d '\n ' <"$state/attach.json" | grep -o '"pcie-root-port[^"]*"' | tr -d '"' | sed 's/^/-device /' | tr '\n' ' ')
# shellcheck disable=SC2086
$qemu -M $machine -accel tcg -nodefaults -display none -S -m 64 -qmp "unix:$qmp,server=on,wait=off" $ports &
qpid=$!
for _ in $(seq 100); do [ -S "$qmp" ] && break; sleep 0.05; done
for i in 1 2 3 4 5; do
    veth "$i"
    # p_i is a veth too: plug e_i by name.
    "$sandnet" plug --sandbox hplat --qmp "$qmp" --state-dir "$state" --endpoint "e$i" --model "$model" --json |
        sed -n 's/.*"milliseconds" *: *\([0-9]*\).*/\1/p' | tr -d '\n'
    echo " ms (e$i, $model, $machine)"
done
