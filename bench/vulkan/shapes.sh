#!/usr/bin/env bash
# bench/vulkan/shapes.sh — A/B of the Vulkan kernel shapes (backends/vulkan/tuning.h) on one model:
# `quanta bench --backend vulkan` once per mat-vec shape (QUANTA_VK_MATVEC) and tile type
# (QUANTA_VK_F16), one markdown table row each. Made for the first run on a real GPU, where the
# default shapes (64x4 subgroupAdd, f16 tiles) are still unmeasured; on lavapipe it runs too, but
# its times are CPU emulation. A shape's pipelines compile on its first run (one of the R runs;
# the median hides it for R >= 3, llvmpipe's slow compiles dominate R = 1 there).
# Usage: bench/vulkan/shapes.sh <quanta binary> <model.qnt> [pp=512] [tg=64] [reps=3]
set -u
Q=${1:?usage: shapes.sh <quanta binary> <model.qnt> [pp] [tg] [reps]}
M=${2:?usage: shapes.sh <quanta binary> <model.qnt> [pp] [tg] [reps]}
PP=${3:-512}
TG=${4:-64}
R=${5:-3}
[ -x "$Q" ] || { echo "shapes.sh: '$Q' is not an executable quanta binary" >&2; exit 1; }
[ -f "$M" ] || { echo "shapes.sh: model '$M' not found" >&2; exit 1; }
"$Q" version 2>&1 | grep -A1 '^ *vulkan' | sed 's/^/# /'
echo "# $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), $M, pp$PP tg$TG, $R runs"
echo
echo "| QUANTA_VK_MATVEC | QUANTA_VK_F16 | pp$PP tok/s | tg$TG tok/s | note |"
echo "|---|---|---|---|---|"
run() {  # $1 matvec shape ('' = device default), $2 f16 ('' = default), $3 what to measure (pp|tg|both)
    local pp=$PP tg=$TG
    [ "$3" = tg ] && pp=0
    [ "$3" = pp ] && tg=0
    local log
    log=$(QUANTA_VK_MATVEC=$1 QUANTA_VK_F16=$2 timeout 300 "$Q" bench -m "$M" --backend vulkan -p "$pp" -n "$tg" -r "$R" -c $((PP + TG + 16)) 2>&1)
    local rc=$?
    local ppv tgv
    ppv=$(echo "$log" | awk -v k="pp$PP" '$1 == k {print $2}')
    tgv=$(echo "$log" | awk -v k="tg$TG" '$1 == k {print $2}')
    local note="rc $rc"
    [ $rc -ne 0 ] && note="rc $rc: $(echo "$log" | grep -m1 -i error | cut -c1-120)"
    echo "| ${1:-default} | ${2:-default} | ${ppv:--} | ${tgv:--} | $note |"
}
run "" "" both
# Decode: the mat-vec shapes (tg only).
for s in 32x1 32x4 64x2 64x4 64x8 128x4 64x4,shared; do run "$s" "" tg; done
# Prompts: the tile type (pp only).
for f in 0 1; do run "" "$f" pp; done
