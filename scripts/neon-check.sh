#!/usr/bin/env bash
# scripts/neon-check.sh [BUILD_DIR] — builds quant/ and tests/quant for aarch64 with Debian's cross
# compiler and runs them under qemu-user, so the NEON kernels are checked against the scalar
# reference on any x86-64 machine (a CTest test labelled unit;slow runs this).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-neon}")

for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
    if ! command -v "$tool" >/dev/null; then
        echo "QUANTA_SKIP: $tool is not installed (apt-get install g++-aarch64-linux-gnu qemu-user, or make deps)"
        exit 0
    fi
done

# Catch2 v2 is a single header: expose only it to the cross compiler, not the host's /usr/include.
mkdir -p "$build/catch2-include"
ln -sfn /usr/include/catch2 "$build/catch2-include/catch2"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$root/tests/cross" -B "$build" "${generator[@]}" \
    -DCMAKE_TOOLCHAIN_FILE="$root/tests/cross/aarch64.cmake" \
    -DQUANTA_CATCH2_INCLUDE="$build/catch2-include" >/dev/null
cmake --build "$build" --parallel

export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
# The dispatcher test fails on aarch64 unless NEON was chosen; every SIMD test compares to scalar.
# A test case skipped inside stays visible but does not turn this whole check into "skipped" (CTest
# matches QUANTA_SKIP: in the output; only a missing tool above may skip the check).
qemu-aarch64 "$build/test_quant_cross" 2>&1 | sed 's/QUANTA_SKIP:/skipped inside the NEON run:/'

