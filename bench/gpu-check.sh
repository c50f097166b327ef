#!/usr/bin/env bash
# bench/gpu-check.sh — the CUDA backend's whole check on a GPU machine, in under 8 minutes (H100).
#
# Before (on the Debian dev machine, with network): bench/gpu/prepare.sh  (fetches .debs into the
# ignored bench/gpu/debs). Then from the session, with the `device` tool:
#     run(command="bash bench/gpu-check.sh", carry=["bench/gpu/debs"], timeout_s=560)
# Steps, each bounded by `timeout` and skipped (aloud) when the time budget is spent:
#   1. unpack the .debs into a private prefix (dpkg -x, never into /); configure CMake against it
#      for this GPU's architecture only (nvidia-smi's compute capability); build the CUDA tests,
#      the Vulkan tests when a Vulkan loader + glslc are there, quanta and synth_model (-j nproc)
#   2. the cuda (and vulkan) CTest labels; a test that SKIPs on a GPU machine is reported as such
#   3. compute-sanitizer memcheck over the CUDA op tests (not the whole-model test: too slow there)
#   4. the device's read bandwidth (PyTorch: a 4 GiB sum, best of 5)
#   5. per model (Llama-3-8B shape, Gemma-2-27B shape; QT4, Q4_K, Q4_0, in priority order): write a
#      random-weight .qnt ON THIS MACHINE (bench/gpu/synth_model), `quanta bench --backend cuda`
#      pp512 and tg64 (for the 8B shape also `--backend vulkan` when its tests were built, the
#      Vulkan-vs-CUDA comparison of #11), delete the file (disk), then the PyTorch bf16 baseline
#   6. a short table, last
# Everything is logged to $OUT (the device tool brings $OUT back) or /tmp/quanta-gpu-check.
# Self-test of the script on a machine without a GPU (what was run before committing it):
#   QUANTA_GPU_CHECK_SELFTEST=1 QUANTA_GPU_CHECK_BUILD=build-cuda QUANTA_GPU_CHECK_BACKEND=cpu \
#   QUANTA_GPU_CHECK_MODELS="tiny:QT4 tiny-gemma2:Q4_K" QUANTA_TORCH_DEVICE=cpu bash bench/gpu-check.sh
# (reuses a configured build instead of steps 1-3, benches on the CPU, tiny shapes.)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=${OUT:-/tmp/quanta-gpu-check}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
T0=$(date +%s)
BUDGET=${QUANTA_GPU_BUDGET_S:-450}   # stop starting new steps after this many seconds
elapsed() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( BUDGET - $(elapsed) )); }
say() { echo "[gpu-check $(elapsed)s] $*"; }
TABLE=$OUT/table.txt
: > "$TABLE"
row() { printf '%-11s %-6s %10s %9s %9s %7s   %s\n' "$@" >> "$TABLE"; }
row "model" "type" "pp512 t/s" "TFLOP/s" "tg t/s" "%BW" "note"

# ---- 0. the machine -------------------------------------------------------------------------
SELFTEST=${QUANTA_GPU_CHECK_SELFTEST:-}
BACKEND=${QUANTA_GPU_CHECK_BACKEND:-cuda}
gpu_name() { nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1 || echo "no GPU (self-test)"; }
if ! nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader; then
    [ -z "$SELFTEST" ] && { say "no nvidia-smi: not a GPU machine"; exit 1; }
    say "self-test without a GPU"
fi
ARCH=${QUANTA_CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -1 | tr -d ' .')}
ARCH=${ARCH:-80}
JOBS=$(nproc)
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
say "arch sm_$ARCH, $JOBS cores, nvcc $($NVCC --version | tail -1)"

# ---- 1. prefix + build ----------------------------------------------------------------------
B=${QUANTA_GPU_CHECK_BUILD:-}
if [ -n "$B" ]; then
    say "reusing the build in $B (steps 1-3 skipped)"
else
B=build-gpu
P=/tmp/quanta-prefix
rm -rf "$P" && mkdir -p "$P"
n_debs=0
for f in bench/gpu/debs/*.deb; do
    [ -e "$f" ] || break
    if command -v dpkg > /dev/null; then dpkg -x "$f" "$P"
    else (cd "$P" && ar x "$ROOT/$f" && tar -xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary); fi && n_debs=$((n_debs + 1))
done
if [ "$n_debs" -eq 0 ]; then say "bench/gpu/debs is empty: run bench/gpu/prepare.sh here first and carry bench/gpu/debs"; exit 1; fi
LIBDIR=$P/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_SYSROOT_DIR=$P PKG_CONFIG_LIBDIR=$LIBDIR/pkgconfig:$P/usr/share/pkgconfig
export PATH=$PATH:$P/usr/bin
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
vk_args=(-DQUANTA_VULKAN=OFF)
if [ -x "$P/usr/bin/glslc" ] && [ -e "$LIBDIR/libvulkan.so" ]; then
    vk_args=(-DQUANTA_VULKAN=ON -DVulkan_INCLUDE_DIR="$P/usr/include" -DVulkan_LIBRARY="$LIBDIR/libvulkan.so"
             -DVulkan_GLSLC_EXECUTABLE="$P/usr/bin/glslc")
fi
say "unpacked $n_debs packages into $P; configuring"
timeout 120 cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$NVCC" \
    -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_PREFIX_PATH="$P/usr" -DPKG_CONFIG_EXECUTABLE="$P/usr/bin/pkgconf" \
    "${vk_args[@]}" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; say "configure failed"; exit 1; }
grep "quanta:" "$OUT/configure.log"
targets=(quanta synth_model test_backends_cuda test_quant)
grep -q "Vulkan=ON" "$OUT/configure.log" && targets+=(test_backends_vulkan)
tb=$(date +%s)
timeout 300 ninja -C $B -j"$JOBS" "${targets[@]}" > "$OUT/build.log" 2>&1 || { grep -E "error|FAILED" -A3 "$OUT/build.log" | head -40; say "build failed"; exit 1; }
say "built ${targets[*]} in $(( $(date +%s) - tb ))s"

# ---- 2. tests -------------------------------------------------------------------------------
for label in cuda vulkan; do
    [ "$label" = vulkan ] && [ ! -x $B/tests/test_backends_vulkan ] && { say "vulkan tests not built (no loader/glslc)"; continue; }
    (cd $B && timeout 150 ctest -L $label --output-on-failure > "$OUT/ctest-$label.log" 2>&1)
    rc=$?
    summary=$(grep -E "tests passed|tests failed" "$OUT/ctest-$label.log" | tail -1)
    skipped=$(grep -c "(Skipped)" "$OUT/ctest-$label.log")
    say "ctest -L $label: rc $rc, $summary, $skipped skipped"
    grep -E "Failed|\*\*\*|Skipped" "$OUT/ctest-$label.log" | head -20
    [ "$skipped" -gt 0 ] && grep -m3 "QUANTA_SKIP" "$OUT/ctest-$label.log"
    row "ctest" "$label" "-" "-" "-" "-" "rc $rc: $summary, $skipped skipped"
done

# ---- 2b. the host CPU's SIMD kernels: GPU hosts usually have AVX-512 (VNNI), which the 2-core
# development VM lacks, so this is where the AVX-512 kernels are held to the scalar reference.
say "host CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); AVX-512 flags: $(grep -m1 -o -w 'avx512f\|avx512bw\|avx512vl\|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"
timeout 90 $B/tests/test_quant "[simd]" > "$OUT/simd.log" 2>&1
rc=$?
say "test_quant [simd]: rc $rc, $(grep -m1 'cpu_isa_level' "$OUT/simd.log"), $(tail -2 "$OUT/simd.log" | head -1)"
row "cpu-simd" "-" "-" "-" "-" "-" "rc $rc $(grep -m1 -o 'cpu_isa_level = [a-z0-9]*' "$OUT/simd.log")"

# ---- 3. compute-sanitizer -------------------------------------------------------------------
if command -v compute-sanitizer > /dev/null && [ "$(left)" -gt 250 ]; then
    timeout 90 compute-sanitizer --tool memcheck --error-exitcode 7 $B/tests/test_backends_cuda '~*whole-model*' \
        > "$OUT/sanitizer.log" 2>&1
    rc=$?
    say "compute-sanitizer memcheck: rc $rc ($(grep -E 'ERROR SUMMARY' "$OUT/sanitizer.log" | tail -1))"
    row "sanitizer" "memchk" "-" "-" "-" "-" "rc $rc $(grep -E 'ERROR SUMMARY' "$OUT/sanitizer.log" | tail -1)"
else
    say "compute-sanitizer skipped (missing, or $(left)s left)"
fi
fi  # steps 1-3

# ---- 4. bandwidth ---------------------------------------------------------------------------
BW=$(timeout 60 python3 - <<'EOF'
import time, torch
x = torch.empty(1 << 30, dtype=torch.float32, device="cuda").fill_(1.0)  # 4 GiB
best = 1e9
for _ in range(6):
    torch.cuda.synchronize(); t = time.perf_counter(); x.sum(); torch.cuda.synchronize()
    best = min(best, time.perf_counter() - t)
print(f"{x.numel() * 4 / best / 1e9:.0f}")
EOF
)
BW=${BW:-0}
say "device read bandwidth ${BW} GB/s (PyTorch sum over 4 GiB, best of 6)"

# ---- 5. models ------------------------------------------------------------------------------
# tmpfs when it has room for the largest file (27B Q4_0 ~16 GB): writing there is memory speed.
MODELS=/tmp/quanta-models
shm_free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
[ "${shm_free:-0}" -gt $((20 * 1024 * 1024)) ] && MODELS=/dev/shm/quanta-models
mkdir -p $MODELS
say "synthetic models go to $MODELS"
declare -A done_torch
for job in ${QUANTA_GPU_CHECK_MODELS:-llama3-8b:Q4_K llama3-8b:QT4 gemma2-27b:QT4 gemma2-27b:Q4_K llama3-8b:Q4_0 gemma2-27b:Q4_0 gemma2-27b:QT3}; do
    shape=${job%%:*}
    type=${job##*:}
    need=60; [ "$shape" = gemma2-27b ] && need=100
    if [ "$(left)" -lt "$need" ]; then say "skip $shape $type: $(left)s left"; row "$shape" "$type" "-" "-" "-" "-" "skipped: time budget"; continue; fi
    f=$MODELS/$shape-$type.qnt
    info=$(timeout 150 $B/bin/synth_model "$shape" "$type" "$f" 2> "$OUT/synth.log") || { cat "$OUT/synth.log"; row "$shape" "$type" "-" "-" "-" "-" "synth failed"; continue; }
    say "synth $shape $type: $(tail -1 "$OUT/synth.log") $info"
    params=$(echo "$info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["matmul_params"])')
    log=$OUT/bench-$shape-$type.log
    bw_arg=(); [ "$BW" != 0 ] && bw_arg=(--bandwidth "$BW")
    timeout 150 $B/bin/quanta bench -m "$f" --backend "$BACKEND" -p 512 -n 64 -r 3 -c 1024 "${bw_arg[@]}" > "$log" 2>&1
    rc=$?
    cat "$log"
    pp=$(awk '/^pp512/ {print $2}' "$log"); tg=$(awk '/^tg64/ {print $2}' "$log")
    pct=$(grep -o '= [0-9.]*% of' "$log" | tr -dc '0-9.')
    tflops=$(python3 -c "print(f'{2*$params*float(\"${pp:-0}\")/1e12:.1f}')")
    row "$shape" "$type" "${pp:--}" "$tflops" "${tg:--}" "${pct:--}" "rc $rc"
    # A/B of the decode mat-vec kernels (#10, matvec.cuh vs the simple one) on this file, if time is left.
    [ "$job" = llama3-8b:QT4 ] && [ "$(left)" -gt 90 ] && for mv in simple vec; do QUANTA_CUDA_MATVEC=$mv timeout 60 $B/bin/quanta bench -m "$f" --backend "$BACKEND" -p 0 -n 64 -r 3 -c 128 "${bw_arg[@]}" > "$OUT/ab-$mv.log" 2>&1; r=$?
        row "$shape" "$type" "-" "-" "$(awk '/^tg64/ {print $2}' "$OUT/ab-$mv.log")" "$(grep -o '= [0-9.]*% of' "$OUT/ab-$mv.log" | tr -dc '0-9.')" "QUANTA_CUDA_MATVEC=$mv rc $r"; done
    # A/B of the prompt kernels (#10): without the repacked pipelined mul_mat, and without flash prefill.
    [ "$job" = llama3-8b:QT4 ] && [ "$(left)" -gt 120 ] && for knob in QUANTA_CUDA_REPACK QUANTA_CUDA_FLASH; do
        env "$knob=0" timeout 60 $B/bin/quanta bench -m "$f" --backend "$BACKEND" -p 512 -n 0 -r 3 -c 1024 > "$OUT/ab-$knob.log" 2>&1; r=$?
        kpp=$(awk '/^pp512/ {print $2}' "$OUT/ab-$knob.log")
        row "$shape" "$type" "${kpp:--}" "$(python3 -c "print(f'{2*$params*float(\"${kpp:-0}\")/1e12:.1f}')")" "-" "-" "$knob=0 rc $r"; done
    # Vulkan next to CUDA on the same file (#11: decode >= 70%, prompt >= 50% of CUDA), 8B shape only.
    if [ "$BACKEND" = cuda ] && [ "$shape" = llama3-8b ] && [ -x $B/tests/test_backends_vulkan ] && [ "$(left)" -gt 120 ]; then
        timeout 120 $B/bin/quanta bench -m "$f" --backend vulkan -p 512 -n 64 -r 3 -c 1024 "${bw_arg[@]}" > "$OUT/vk-$shape-$type.log" 2>&1
        r=$?
        vpp=$(awk '/^pp512/ {print $2}' "$OUT/vk-$shape-$type.log"); vtg=$(awk '/^tg64/ {print $2}' "$OUT/vk-$shape-$type.log")
        row "$shape" "$type" "${vpp:--}" "-" "${vtg:--}" "$(grep -o '= [0-9.]*% of' "$OUT/vk-$shape-$type.log" | tr -dc '0-9.')" "--backend vulkan rc $r"
    fi
    rm -f "$f"
    if [ -z "${done_torch[$shape]:-}" ] && [ "$(left)" -gt 40 ]; then
        done_torch[$shape]=1
        tj=$(timeout 90 python3 bench/gpu/torch_baseline.py "$shape" 2> "$OUT/torch-$shape.log" | tail -1)
        say "torch bf16 $shape: $tj"
        if [ -n "$tj" ]; then
            read -r tpp ttf ttg tpct < <(echo "$tj" | python3 -c "import json,sys; j=json.load(sys.stdin); bw=float('$BW') or 1; print(f\"{j['pp512_tok_s']:.0f} {j['pp512_tflops']:.1f} {j['tg_tok_s']:.1f} {100*j['tg_tok_s']*j['weight_bytes']/bw/1e9:.0f}\")")
            row "$shape" "bf16" "$tpp" "$ttf" "$ttg" "$tpct" "PyTorch skeleton (torch_baseline.py)"
        fi
    fi
done

# ---- 6. table -------------------------------------------------------------------------------
echo
echo "== quanta --backend $BACKEND on $(gpu_name), read bandwidth ${BW} GB/s, $(elapsed)s total"
cat "$TABLE"
