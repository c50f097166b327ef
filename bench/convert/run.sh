#!/usr/bin/env bash
# Conversion throughput and peak memory: `quanta convert` of a checkpoint directory to each type,
# under /usr/bin/time -v, N runs each; prints one line per run (wall s, input GB/s, CPU s, peak RSS
# MB) and the median per type. On a loaded machine the CPU seconds say more than the wall time. The checkpoint: bench/convert/make_synthetic_llama.py /tmp/synth1b.
# usage: bench/convert/run.sh QUANTA_BIN CHECKPOINT_DIR [N=3] [TYPES="f16 q8_0 q4_k_m"]
set -euo pipefail
bin="$1"; ckpt="$2"; n="${3:-3}"; types="${4:-f16 q8_0 q4_k_m}"
in_bytes=$(cat "$ckpt"/*.safetensors | wc -c)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "input: $ckpt, $(awk -v b="$in_bytes" 'BEGIN{printf "%.3f", b/1e9}') GB; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in $types; do
    walls=()
    for i in $(seq "$n"); do
        /usr/bin/time -v "$bin" convert "$ckpt" -o "$out/m.qnt" --type "$t" --force -q 2> "$out/time.txt"
        wall=$(awk -F': ' '/Elapsed/{n=split($2,a,":"); s=0; for(k=1;k<=n;k++) s=s*60+a[k]; print s}' "$out/time.txt")
        rss=$(awk -F': ' '/Maximum resident/{printf "%.0f", $2/1024}' "$out/time.txt")
        cpu=$(awk -F': ' '/User time|System time/{s+=$2} END{printf "%.1f", s}' "$out/time.txt")
        size=$(stat -c %s "$out/m.qnt")
        walls+=("$wall")
        printf '%-7s run %d: %6.1f s wall  %5.3f GB/s input  %6.1f s CPU (user+sys)  peak RSS %5d MB  output %.3f GB  load %s\n' \
            "$t" "$i" "$wall" "$(awk -v b="$in_bytes" -v s="$wall" 'BEGIN{print b/1e9/s}')" "$cpu" "$rss" \
            "$(awk -v b="$size" 'BEGIN{print b/1e9}')" "$(cut -d' ' -f1 /proc/loadavg)"
        rm -f "$out/m.qnt"
    done
    med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    printf '%-7s median: %.1f s, %.3f GB/s input\n' "$t" "$med" "$(awk -v b="$in_bytes" -v s="$med" 'BEGIN{print b/1e9/s}')"
done
