#!/usr/bin/env bash
# Builds the benchmark suite (release) and the C floor, then runs everything in one go:
# per workload the sandnet, floor (libmnl) and iproute2 medians and their ratios.
# Usage (as root): scripts/bench.sh [sandnet-bench options, e.g. --links 500 --runs 30]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: run as root (the benchmark creates network namespaces): sudo $0" >&2
    exit 2
fi
mkdir -p .build-bench
cc -O2 -Wall -o .build-bench/floor benchmarks/floor/floor.c -lmnl
swift build -c release --scratch-path .build-bench 2>&1 | grep -E "error|Build" | tail -3
exec "$(swift build -c release --scratch-path .build-bench --show-bin-path)/sandnet-bench" --floor .build-bench/floor "$@"
