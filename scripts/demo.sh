#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs sandnet's main job: a QEMU VM sandbox gets its
# network from a CNI-built namespace. Extra arguments go to `sandnet-lab demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (the demo creates network namespaces and taps): sudo $0" >&2
    exit 2
fi

scripts/setup.sh
swift build --product sandnet-lab
exec .build/debug/sandnet-lab demo "$@"
