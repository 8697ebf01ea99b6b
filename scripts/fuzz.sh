#!/usr/bin/env bash
# Builds the netlink decoder fuzzer (libFuzzer, -sanitize=fuzzer,address) and runs it
# for a bounded time. Usage: scripts/fuzz.sh [seconds] (default 60).
# Exit status is non-zero when the fuzzer finds a crash; the input is in fuzz-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=fuzz-out
mkdir -p "$out/corpus" .build/fuzz

binary=.build/fuzz/fuzz-decode
core=(Sources/SandnetCore/*.swift)
sources=(Sources/NetlinkCodec/*.swift fuzz/FuzzDecode.swift)
# Rebuild only when a source is newer than the binary.
if [ ! -x "$binary" ] || [ -n "$(find "${core[@]}" "${sources[@]}" -newer "$binary" | head -1)" ]; then
    echo "fuzz.sh: building $binary"
    # SandnetCore (the address types the codec decodes into) is its own module, as in the package.
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name SandnetCore \
        -emit-module -emit-module-path .build/fuzz/SandnetCore.swiftmodule \
        -emit-library -static -o .build/fuzz/libSandnetCore.a "${core[@]}" \
        2> >(grep -v "Cannot export local symbol '__asan" >&2)
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name NetlinkFuzz \
        -I .build/fuzz -L .build/fuzz -lSandnetCore \
        "${sources[@]}" -o "$binary" 2> >(grep -v "Cannot export local symbol '__asan" >&2)
fi

# Swift's own crash reporter is slow under ASan and hides libFuzzer's report; a trap
# still ends the run through libFuzzer's deadly-signal handler.
export SWIFT_BACKTRACE=enable=no
# New inputs go to fuzz-out/corpus; fuzz/corpus (the committed seeds) is only read.
set +e
"$binary" "$out/corpus" fuzz/corpus \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -dict=fuzz/netlink.dict -artifact_prefix="$out/" -print_final_stats=1 2>&1 | grep -vE "^(INFO|#[0-9]+\s+(NEW|REDUCE|pulse))" 
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: the fuzzer found a crash (exit $status); reproduce with: $binary $out/crash-*" >&2
    exit "$status"
fi
echo "fuzz.sh: no crash in ${seconds}s"
