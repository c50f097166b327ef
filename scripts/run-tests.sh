#!/usr/bin/env bash
# Runs every CTest test of BUILD_DIR, lists the reasons of skipped tests, and ends with one plain
# summary line ("ctest: N passed, N failed, N skipped"). Exit status: ctest's.
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR}
log="$build/ctest-output.log"
ctest --test-dir "$build" --output-on-failure --parallel 2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
grep -h "^QUANTA_SKIP:" "$build/Testing/Temporary/LastTest.log" 2>/dev/null | sort | uniq -c | sed 's/^/skipped: /'
total=$(grep -oE 'tests failed out of [0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
failed=$(grep -oE '[0-9]+ tests failed out of' "$log" | grep -oE '^[0-9]+' || echo 0)
skipped=$(grep -cE '^[[:space:]]+[0-9]+ - .*\(Skipped\)$' "$log" || true)
echo "ctest: $((total - failed - skipped)) passed, ${failed} failed, ${skipped} skipped"
exit "$status"
