#!/usr/bin/env bash
# The product binary holds only what runs on a node: no test lab, no fault switch, no
# script lookup. Checks a built `sandnet` (default: the static release build that
# scripts/guest/build-check-image.sh makes) with nm and strings; exits 1 naming what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-$(find .build-static -path '*release/sandnet' -type f 2>/dev/null | head -n1)}"
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
    echo "check-product: no release sandnet binary (run scripts/setup.sh, or pass its path)" >&2
    exit 2
fi
found=0
# Swift mangles a module name as <length><name>: these are the lab's modules.
for module in GuestLab CNI sandnet_lab ProcessRunner CProcessRunner TestSupport KernelConformance sandnet_conformance; do
    n=$(nm "$binary" 2>/dev/null | grep -c "${#module}${module}[A-Z0-9_]" || true)
    if [ "$n" -gt 0 ]; then echo "check-product: $binary links module $module ($n symbols)" >&2; found=1; fi
done
texts=$(strings "$binary")
for text in SANDNET_FAULT_AFTER_STEP SANDNET_PAUSE_AFTER_STEP SANDNET_GUEST_SCRIPTS fault-attach fault-plug fault-watch build-image.sh; do
    if grep -qF -- "$text" <<<"$texts"; then echo "check-product: $binary contains \"$text\"" >&2; found=1; fi
done
if [ "$found" -ne 0 ]; then exit 1; fi
echo "check-product: $binary ($(du -h "$binary" | cut -f1)) links no lab module and holds no fault switch or script lookup"
