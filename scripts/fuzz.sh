#!/usr/bin/env bash
# Builds the libFuzzer targets of the file readers with clang (their own build tree, so the main
# build stays on g++) and runs each for a bounded time (tests/fuzz/run.sh). CTest runs this as the
# `fuzz`-labelled test; `make fuzz` runs it alone.
#   scripts/fuzz.sh FUZZ_BUILD_DIR SECONDS_PER_TARGET
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: $0 FUZZ_BUILD_DIR SECONDS_PER_TARGET}
seconds=${2:?usage: $0 FUZZ_BUILD_DIR SECONDS_PER_TARGET}
if ! command -v clang++ >/dev/null; then
  echo "QUANTA_SKIP: clang++ is not installed (make deps installs it); the readers were not fuzzed"
  exit 0
fi
generator=$(command -v ninja >/dev/null && echo "-G Ninja" || true)
# shellcheck disable=SC2086
cmake -S "$src" -B "$build" $generator -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DQUANTA_FUZZ=ON -DQUANTA_TESTS=OFF -DQUANTA_CUDA=OFF -DQUANTA_VULKAN=OFF >/dev/null
cmake --build "$build" --parallel --target quanta_fuzzers >/dev/null
bash "$src/tests/fuzz/run.sh" "$build" "$seconds"
