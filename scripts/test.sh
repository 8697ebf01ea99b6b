#!/usr/bin/env bash
# Sets up a fresh Debian machine (packages, guest images) and runs every test:
# the codec fuzzer for a bounded time, then the whole Swift test suite as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: run as root (the integration tests create network namespaces): sudo $0" >&2
    exit 2
fi

scripts/setup.sh

if [ -x scripts/fuzz.sh ]; then
    scripts/fuzz.sh "${SANDNET_FUZZ_SECONDS:-60}"
fi

swift build --build-tests
swift test
