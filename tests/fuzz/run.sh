#!/usr/bin/env bash
# Runs each reader fuzzer for a bounded time from the committed seed corpora and fails on any finding.
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
# BUILD_DIR is a clang build configured with -DQUANTA_FUZZ=ON (see tests/fuzz/CMakeLists.txt) in
# which fuzz_qnt, fuzz_gguf and fuzz_safetensors are built. New inputs the fuzzer finds go to a
# temporary directory, never into the committed corpus; a crashing input is kept under
# BUILD_DIR/fuzz-artifacts/<target>/ and its path printed.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET" >&2
    exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0
for reader in qnt gguf safetensors; do
    exe="$build/tests/fuzz/fuzz_$reader"
    if [ ! -x "$exe" ]; then
        echo "fuzz: $exe is not built (ninja -C $build quanta_fuzzers)" >&2
        failed=1
        continue
    fi
    artifacts="$build/fuzz-artifacts/$reader"
    mkdir -p "$artifacts" "$work/$reader"
    log="$work/$reader.log"
    # -max_len covers the .qnt seeds (the data section starts at 4 KiB); -timeout catches hangs;
    # -rss_limit_mb catches allocations sized by untrusted numbers.
    "$exe" "$work/$reader" "$here/corpus/$reader" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "fuzz: fuzz_$reader FAILED (exit $rc); input kept in $artifacts/:" >&2
        grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -20 >&2
        failed=1
    else
        runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$")
        echo "fuzz: fuzz_$reader ok (${runs:-?} runs in ${seconds}s)"
    fi
done
exit $failed
