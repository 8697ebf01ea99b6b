#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/Package.swift (swift build --sanitize fuzzer
# --sanitize address) and runs each for its share of a bounded time.
# Usage: scripts/fuzz.sh [seconds] [target...]   (default 60 s over all targets)
# Targets: codec rtnetlink tc journal guest channel (fuzz/README.md says what each one covers).
# Exit status is non-zero when any target finds a crash; inputs are in fuzz-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
known=(codec rtnetlink tc journal guest channel)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${known[@]}")
for t in "${targets[@]}"; do
    # A misspelt target would otherwise be reported as a crash (its binary does not exist).
    if [[ " ${known[*]} " != *" ${t#fuzz-} "* ]]; then
        echo "fuzz.sh: no target '$t'; the targets are: ${known[*]}" >&2
        exit 2
    fi
done
targets=("${targets[@]#fuzz-}") # fuzz-journal and journal name the same target
out=fuzz-out
build="${SANDNET_FUZZ_BUILD:-.build-fuzz}"

# SwiftPM rebuilds only what changed (Sources/ of the main package included); a no-op
# build takes seconds. Swift traps on out-of-bounds and overflow by itself; ASan adds
# the memory errors of unsafe pointer code. Not `--sanitize fuzzer --sanitize address`:
# that passes swiftc two -sanitize= flags, the last one wins and the Swift code loses its
# coverage instrumentation (libFuzzer then says "Is the code instrumented for coverage?").
echo "fuzz.sh: building the fuzz targets in $build"
(cd fuzz && swift build -c release --scratch-path "../$build" \
    --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer,address \
    2> >(grep -v "Cannot export local symbol '__asan" >&2) | { grep -vE "^\[[0-9]+/[0-9]+\]|^Building|^Build complete" || true; })
bin="$build/release"

# Swift's own crash reporter is slow under ASan and hides libFuzzer's report; a trap
# still ends the run through libFuzzer's deadly-signal handler. Leak checking is off:
# Foundation's FileManager.contents(atPath:) leaks a 4 KiB buffer reading an empty file,
# which is not sandnet's to fix; memory errors and traps are what the targets look for.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"   # also LSan's check at exit
share=$(( seconds / ${#targets[@]} )); [ "$share" -ge 1 ] || share=1
failed=()
for t in "${targets[@]}"; do
    case "$t" in
        journal|guest|channel) seeds=(fuzz/corpus-$t); dict=() ;;
        *) seeds=(fuzz/corpus); dict=(-dict=fuzz/netlink.dict) ;;
    esac
    # New inputs go to fuzz-out/T/corpus; the committed seeds are only read.
    mkdir -p "$out/$t/corpus"
    echo "fuzz.sh: $t for ${share}s"
    set +e
    "$bin/fuzz-$t" "$out/$t/corpus" "${seeds[@]}" "${dict[@]}" \
        -max_total_time="$share" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
        -artifact_prefix="$out/$t-" -print_final_stats=1 2>&1 \
        | grep -vE "^(INFO|#[0-9]+\s+(NEW|REDUCE|pulse))|^\"|^###### |^Dictionary:"
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        echo "fuzz.sh: $t found a crash (exit $status); reproduce with: $bin/fuzz-$t $out/$t-crash-*" >&2
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: no crash in ${seconds}s over ${targets[*]}"
