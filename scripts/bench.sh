#!/usr/bin/env bash
# Builds the benchmark suite (release), the C floor and the Go peer, then runs everything in
# one go: per workload the sandnet, floor (libmnl), Go (vishvananda/netlink, as Kata uses it)
# and iproute2 medians, wall and CPU time, their ratios, the contention runs and the scale runs.
# Usage (as root): scripts/bench.sh [sandnet-bench options, e.g. --only w1 --runs 30 | --quick]
#        scripts/bench.sh --profile [--only w1,w2,w3]   perf profiles of sandnet's side instead,
#                                                       summaries to $SCRATCH/profile.md
# SANDNET_BENCH_SCRATCH: the scratch path (default .build-bench; gitignored).
# SANDNET_BENCH_BINARY: the sandnet binary the exec-to-exit rows run (default: the static
# build in SANDNET_STATIC_SCRATCH, default .build-static).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: run as root (the benchmark creates network namespaces): sudo $0" >&2
    exit 2
fi
scratch="${SANDNET_BENCH_SCRATCH:-.build-bench}"
mkdir -p "$scratch"
cc -O2 -Wall -pthread -o "$scratch/floor" benchmarks/floor/floor.c -lmnl

# The Go peer from Debian's packages only: GOPATH mode, no module proxy, no downloads.
peer=()
if command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/vishvananda/netlink ]; then
    GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="/usr/share/gocode:$PWD/$scratch/gopath" GOCACHE="$PWD/$scratch/gocache" \
        go build -o "$scratch/go-peer" ./benchmarks/go
    peer=(--go "$scratch/go-peer")
else
    echo "bench.sh: no Go peer, its column stays empty; to build it:" \
        "apt-get install golang-go golang-github-vishvananda-netlink-dev golang-github-vishvananda-netns-dev" >&2
fi

args=()
for a in "$@"; do
    if [ "$a" = "--profile" ]; then
        if ! perf version >/dev/null 2>&1; then
            echo "bench.sh: --profile needs perf: apt-get install linux-perf" >&2
            exit 2
        fi
        args+=(--profile "$scratch/profile.md")
    else
        args+=("$a")
    fi
done

swift build -c release --scratch-path "$scratch" 2>&1 | grep -E "error|Build" | tail -3
# The exec-to-exit rows run sandnet as shipped (deploy/Containerfile): one static binary.
# Built in the scratch path the guest images share (~3 minutes the first time).
static_scratch="${SANDNET_STATIC_SCRATCH:-.build-static}"
swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path "$static_scratch" --product sandnet 2>&1 \
    | grep -E "error|Build" | tail -3
export SANDNET_BENCH_BINARY="${SANDNET_BENCH_BINARY:-$(swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path "$static_scratch" --show-bin-path)/sandnet}"
exec "$(swift build -c release --scratch-path "$scratch" --show-bin-path)/sandnet-bench" --floor "$scratch/floor" "${peer[@]}" "${args[@]}"
