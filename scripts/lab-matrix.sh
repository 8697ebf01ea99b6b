#!/usr/bin/env bash
# Prints the kernel lab's feature x kernel matrix that Tests/KernelLabTests wrote (the end of
# scripts/test.sh), or says why there is none.
#   scripts/lab-matrix.sh [FILE]    default: $SANDNET_LAB_MATRIX or /tmp/sandnet-kernel-lab-matrix.md
set -euo pipefail
file=${1:-${SANDNET_LAB_MATRIX:-/tmp/sandnet-kernel-lab-matrix.md}}
if [ -s "$file" ]; then
    echo
    cat "$file"
else
    echo "lab-matrix: no matrix at $file: the kernel lab did not run (KernelLabTests skipped or failed; see its output)" >&2
fi
