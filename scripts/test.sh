#!/usr/bin/env bash
# Sets up a fresh Debian machine (packages, guest images) and runs every test:
# the codec fuzzer for a bounded time, then the whole Swift test suite as root (the
# process-wide leak checks in a second run of their own).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: run as root (the integration tests create network namespaces): sudo $0" >&2
    exit 2
fi

# Formatting first: it takes seconds and says exactly which line (fix: swift format format -i -r Sources Tests ...).
swift format lint --strict -r Sources Tests benchmarks examples fuzz Package.swift

scripts/setup.sh
# setup.sh made the static release `sandnet` (for the seed-failure guest): it must hold no lab.
scripts/check-product.sh

if [ -x scripts/fuzz.sh ]; then
    scripts/fuzz.sh "${SANDNET_FUZZ_SECONDS:-60}"
fi

swift build --build-tests
# sandnet-cni runs on nodes too (docs/cni.md): the same rule.
scripts/check-product.sh .build/debug/sandnet-cni
status=0
# Everything but the leak checks, in parallel as Swift Testing runs them.
swift test --skip-build --skip LeakChecks || status=$?
# Suites named *LeakChecks count this process's descriptors and threads exactly: they run
# in a process of their own, one test at a time (they skip anywhere else).
SANDNET_LEAK_CHECKS=isolated swift test --skip-build --no-parallel --filter LeakChecks || status=$?
exit "$status"
