// backends/cuda/ops/flash_attention.h — host+device index math of the tensor-core prefill attention
// kernel (ops/flash_prefill.cu): tile sizes, the shapes that take it, which key slots a query tile
// can see (so fully masked key tiles are skipped unread), the per-row power-of-two query scaling
// that keeps f16 operands in range, and the mma.sync m16n8k16 / ldmatrix fragment coordinates the
// kernel addresses shared memory with. Plain C++ under the C++ compiler, so
// tests/backends/cuda/host/test_cuda_flash.cpp checks all of it in every build, GPU or not.
//
// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16", .f16/.bf16; the same as mma.cuh
// documents): lane = 4 g + t (g = lane >> 2, t = lane & 3).
//   A (16 x 16, row-major), 8 halves a0..a7 in 4 registers: a_i = A[g + 8 ((i >> 1) & 1)][2 t + (i & 1) + 8 (i >> 2)]
//   B (16 x 8, "col"),      4 halves b0..b3 in 2 registers: b_i = B[2 t + (i & 1) + 8 (i >> 1)][g]
//   C (16 x 8, f32),        4 floats c0..c3:                c_i = C[g + 8 (i >> 1)][2 t + (i & 1)]
// Two C tiles side by side (columns 0..7 and 8..15) hold exactly the A fragment of the 16 x 16
// matrix they form: a_i = C-tile (i >> 2) element (i & 3). The kernel uses this to feed the
// probabilities P (computed in S's C layout) straight into P V as A without touching shared memory.
// ldmatrix.m8n8.x4.trans: lane l gives the address of row (l & 7) of 8 x 8 matrix (l >> 3); lane
// 4 g + t receives, in register m, matrix m's elements [2 t][g] and [2 t + 1][g].
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "quant/fp.h"
#include "quant/types.h"

namespace quanta::core {
struct BoundNode;
}

namespace quanta::backends::cuda {
struct LaunchCtx;
}

namespace quanta::backends::cuda::flash {

constexpr int kWarps = 4;                          // warps per block
constexpr int kRowsPerWarp = 16;                   // query rows per warp (one m16 tile)
constexpr int kQueryTile = kWarps * kRowsPerWarp;  // query rows per block
constexpr int64_t kMinQueries = 16;                // fewer queries (decode) stay on the split-KV path

// Keys per shared-memory tile: 64, or 32 for head_dim 256 so Q + K + V tiles stay under the 99 KiB
// a block may use on sm_86 / sm_89.
QUANTA_HD constexpr int key_tile(int hd) {
    return hd >= 256 ? 32 : 64;
}
// Halves per shared-memory row: +8 (16 bytes) staggers the banks; rows stay 16-byte aligned.
QUANTA_HD constexpr int smem_stride(int hd) {
    return hd + 8;
}
// Dynamic shared memory of one block: Q, K, V tiles (f16), query positions, query row factors,
// key-tile positions.
constexpr size_t smem_bytes(int hd) {
    return size_t(kQueryTile + 2 * key_tile(hd)) * size_t(smem_stride(hd)) * 2 + size_t(kQueryTile) * 4 +
           size_t(kQueryTile) * 4 + size_t(key_tile(hd)) * 4;
}

// Shapes and types the prefill kernel takes (strides and alignment are checked at launch).
inline bool prefill_shape_fits(int64_t hd, int64_t hd_v, int64_t n_q, Type kv) {
    return hd == hd_v && (hd == 64 || hd == 128 || hd == 256) && n_q >= kMinQueries &&
           (kv == Type::F16 || kv == Type::Q8_0);
}

// GQA rows: a block serves one kv head and 64 consecutive "rows" of the n_q x group (query, head)
// pairs of that kv head, row R = query R / group, head hk * group + R % group, so the heads sharing
// a kv head share every K / V tile load (group 1: rows are queries).
QUANTA_HD inline int64_t row_query(int64_t R, int64_t group) {
    return R / group;
}
QUANTA_HD inline int64_t row_head(int64_t R, int64_t group, int64_t hk) {
    return hk * group + R % group;
}

// Split over the KV cache, as the decode kernel does, when (query tiles x heads) blocks would leave
// SMs idle (a short prompt over a long cache): enough splits for two blocks per SM, each at least
// kMinSplitKeys keys (whole key tiles), at most kMaxSplits. Split s walks key tiles
// [s * tiles_per_split, (s + 1) * tiles_per_split); n_split = 1 writes the output directly, more
// write (O, m, l) records that attention.cu's combine kernel merges.
constexpr int64_t kMinSplitKeys = 256;
constexpr int64_t kMaxSplits = 64;
struct PrefillSplit {
    int64_t tiles_per_split, n_split;
};
inline PrefillSplit prefill_split(int64_t hd, int64_t n_q, int64_t n_head, int64_t n_head_kv, int64_t n_kv,
                                  int sm_count) {
    const int64_t bk = key_tile(int(hd));
    const int64_t n_tiles = (n_kv + bk - 1) / bk;
    const int64_t blocks = (n_q * (n_head / n_head_kv) + kQueryTile - 1) / kQueryTile * n_head_kv;
    int64_t want = (2 * int64_t(sm_count) + blocks - 1) / blocks;
    const int64_t most = n_tiles / ((kMinSplitKeys + bk - 1) / bk);  // splits of >= kMinSplitKeys keys
    if (want > most) want = most;
    if (want > kMaxSplits) want = kMaxSplits;
    if (want < 1) want = 1;
    PrefillSplit sp;
    sp.tiles_per_split = n_tiles < 1 ? 1 : (n_tiles + want - 1) / want;
    sp.n_split = n_tiles < 1 ? 1 : (n_tiles + sp.tiles_per_split - 1) / sp.tiles_per_split;
    return sp;
}

// Can key position kp be visible to ANY query with a position in [pmin, pmax]? (key_visible of
// decoders.h, relaxed over the range: true whenever some pq in [pmin, pmax] sees kp, so a key for
// which it is false is invisible to every query of the tile and is neither read nor scored.)
QUANTA_HD inline bool key_live(int64_t kp, int64_t pmin, int64_t pmax, bool causal, int64_t window) {
    return kp >= 0 && (!causal || kp <= pmax) && (window <= 0 || pmin - kp < window);
}

// Without kpos (slot j holds position j): the slots [jlo, jhi) are exactly those with
// key_live(j, ...) among [0, n_kv); jlo >= jhi when there are none.
QUANTA_HD inline void live_slot_range(int64_t pmin, int64_t pmax, int64_t n_kv, bool causal, int64_t window,
                                      int64_t & jlo, int64_t & jhi) {
    jlo = 0;
    jhi = n_kv;
    if (causal && pmax + 1 < jhi) jhi = pmax + 1;
    if (window > 0 && pmin - window + 1 > jlo) jlo = pmin - window + 1;
}

// Without kpos: the key tiles [t0, t1) of bk slots each (tile t = slots [t bk, t bk + bk)) that hold
// at least one live slot, t0 >= t1 when none; every other tile is skipped unread.
QUANTA_HD inline void live_tiles(int64_t pmin, int64_t pmax, int64_t n_kv, bool causal, int64_t window, int64_t bk,
                                 int64_t & t0, int64_t & t1) {
    int64_t jlo, jhi;
    live_slot_range(pmin, pmax, n_kv, causal, window, jlo, jhi);
    t0 = jlo < jhi ? jlo / bk : 0;
    t1 = jlo < jhi ? (jhi + bk - 1) / bk : 0;
}

// Query rows go to f16 (11-bit mantissa, max 65504) pre-multiplied by the softmax scale and by
// 2^-e, e = q_exponent(max |q * scale| of the row), and the row's scores are multiplied back by 2^e
// (exact: powers of two). e = 0 for every row below 2^14, so ordinary rows are not scaled at all;
// a row with entries past f16's range keeps its relative precision instead of becoming inf.
// Non-finite input: e = 0 (the inf / NaN goes through as it would on the CPU).
QUANTA_HD inline int q_exponent(float amax_scaled) {
    if (!(amax_scaled < INFINITY)) return 0;
    int x = 0;
    (void)frexpf(amax_scaled, &x);  // amax_scaled < 2^x
    return x > 14 ? x - 14 : 0;     // amax_scaled * 2^-e < 2^14
}

// ---- fragment coordinates (see the header comment) --------------------------------------------

QUANTA_HD constexpr int frag_a_row(int lane, int i) {
    return (lane >> 2) + 8 * ((i >> 1) & 1);
}
QUANTA_HD constexpr int frag_a_col(int lane, int i) {
    return 2 * (lane & 3) + (i & 1) + 8 * (i >> 2);
}
QUANTA_HD constexpr int frag_b_k(int lane, int i) {
    return 2 * (lane & 3) + (i & 1) + 8 * (i >> 1);
}
QUANTA_HD constexpr int frag_b_n(int lane, int /*i*/) {
    return lane >> 2;
}
QUANTA_HD constexpr int frag_c_row(int lane, int i) {
    return (lane >> 2) + 8 * (i >> 1);
}
QUANTA_HD constexpr int frag_c_col(int lane, int i) {
    return 2 * (lane & 3) + (i & 1);
}

// P V's B operand from the V tile (rows = keys, columns = dims) by one ldmatrix.x4.trans: lane l
// addresses key row ldsm_v_key(l) and dim column ldsm_v_dim(l) of the 16 keys x 16 dims it loads.
// Matrices: 0 = keys 0..7 dims 0..7, 1 = keys 8..15 dims 0..7, 2 = keys 0..7 dims 8..15,
// 3 = keys 8..15 dims 8..15; so registers {0, 1} are the B fragment of dims 0..7 and {2, 3} that of
// dims 8..15 (b_i in register i >> 1 of the pair).
QUANTA_HD constexpr int ldsm_v_key(int lane) {
    return (lane & 7) + 8 * ((lane >> 3) & 1);
}
QUANTA_HD constexpr int ldsm_v_dim(int lane) {
    return 8 * (lane >> 4);
}
// What .trans delivers: lane's register `reg`, half `h` (0 = low) holds matrix reg's element
// [2 t + h][g], i.e. key ldsm_out_key(lane, reg, h) and dim ldsm_out_dim(lane, reg) of the 16 x 16.
QUANTA_HD constexpr int ldsm_out_key(int lane, int reg, int h) {
    return 2 * (lane & 3) + h + 8 * (reg & 1);
}
QUANTA_HD constexpr int ldsm_out_dim(int lane, int reg) {
    return (lane >> 2) + 8 * (reg >> 1);
}

// ---- the kernel's entry points (ops/flash_prefill.cu), called by ops/attention.cu ----------------

// True when the attention node takes the prefill kernel: prefill_shape_fits, packed f32 query and
// output rows, K / V rows 16-byte aligned (F16, for cp.async) or 2-byte aligned (Q8_0 blocks), and
// QUANTA_CUDA_FLASH is not "0" (which keeps every attention on the split-KV kernel, to A/B them).
bool prefill_applies(const core::BoundNode & n);
// The node's split (prefill_split of its shapes).
PrefillSplit prefill_split(const core::BoundNode & n, int sm_count);
// Launches it on ctx.stream. Precondition: prefill_applies(n). With sp.n_split > 1 it writes
// [n_split][n_q][n_head] records of (hd accumulators, m, l) to `part` instead of the output, for
// attention.cu's combine kernel; with 1 it writes the output and `part` is unused.
void launch_prefill(const core::BoundNode & n, const LaunchCtx & ctx, PrefillSplit sp, float * part);

}  // namespace quanta::backends::cuda::flash
