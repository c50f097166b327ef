// backends/cuda/ops/flash_prefill.cu — attention for prompts on tensor cores (flash attention 2
// style), selected by ops/attention.cu for 16+ queries, head_dim = hd_v = 64 / 128 / 256 and an
// F16 or Q8_0 KV cache (flash_attention.h prefill_applies); everything else keeps the split-KV
// kernel there.
//
// Algorithm. One block of 4 warps per (tile of 64 rows, kv head), a row being one (query, head)
// pair of the heads that share the kv head (GQA: row R = query R / group, head hk * group +
// R % group), so a K / V tile loaded once serves every head of the group; warp w owns rows
// 16 w .. 16 w + 15 of the tile, so every softmax row lives in one warp (4 lanes per row). The Q
// tile goes to shared memory once, as f16. Key tiles of BK = 64 keys (32 for head_dim 256) stream
// through one K and one V buffer in shared memory, interleaved so a load always overlaps compute:
//   wait K(t) | start V(t) | S = Q K(t)^T, mask, online softmax | find the next live tile t' |
//   wait V(t) | start K(t') | O += P V(t)
// (F16 cache: cp.async, 16 bytes per instruction, zero fill for dead keys; Q8_0 cache: decoded
// d * q into the f16 tile by the loading threads, one 32-key block per thread.) S = Q K^T and
// O += P V are mma.sync m16n8k16 with f32 accumulators; P goes from S's accumulator fragments
// straight into P V's A fragments (flash_attention.h), V's B fragments come by ldmatrix.trans.
// Per score: times the row's power-of-two factor (below), soft-cap c * tanh(s / c), then the mask
// (key_visible of decoders.h: causal, sliding window, the kpos contract exactly; keys past n_kv):
// masked scores are -inf. Online softmax per row: running max m and sum l in registers (l summed
// per lane, reduced over the row's 4 lanes at the end), O rescaled by exp(m_old - m_new) when the
// max grows; finally O / l, and a row that saw no key gets zeros (as the CPU).
// Skipped without reading K or V: key tiles with no key any query of the tile can see (without kpos
// a closed-form slot range from the tile's smallest and largest query position; with kpos each
// tile's kpos values are read and tested). Inside a live tile a key no query of the tile can see
// (empty slot, future or out-of-window position) is staged as zeros, so unwritten cache memory
// (possibly NaN) never meets a zero probability.
// GQA: head h reads kv head h / (n_head / n_head_kv), and shares the block with the group's heads.
// Few blocks (a short prompt over a long cache): the key tiles are split over blockIdx.z
// (flash_attention.h prefill_split), each split writes its unnormalised O with its m and l, and
// attention.cu's phase-2 kernel of the decode path merges them.
//
// Precision: f16 operands, not bf16. An F16 cache is then exact in shared memory (bf16 would round
// every key and value to 8 bits), P in [0, 1] keeps 11 bits, and the Q8_0 cache's d * q rounds by
// at most 2^-11 relative. f16's range (65504) is the risk: queries are stored as q * scale * 2^-e
// with a per-row e (flash_attention.h q_exponent) that is 0 for every row below 2^14 and keeps
// larger rows in range, multiplied back after the product; keys and values are in range when they
// fit the F16 cache (a Q8_0 block's d * q is at most the block's largest |k|). Sums are f32.
// The op tests hold this path to 4e-3 of the largest output against the CPU (F16), 3e-2 with a
// Q8_0 cache (where the CPU quantizes the query to Q8_0).
//
// Written without a GPU at hand: compiled for sm_80, never run yet (tests/backends/cuda
// test_cuda_ops.cpp has the cases; bench/gpu-check.sh runs them).
#include <atomic>
#include <cstdlib>

#include "backends/cuda/ops/common.cuh"
#include "backends/cuda/ops/flash_attention.h"
#include "backends/cuda/ops/flash_mma.cuh"

namespace quanta::backends::cuda::flash {

namespace {

constexpr int kMaxDevices = 64;

struct PrefillArgs {
    int64_t n_q, n_kv, group, n_head;
    float scale, softcap;
    int64_t window;
    bool causal;
    int64_t tiles_per_split;  // blockIdx.z = split s walks key tiles [s * tiles_per_split, + tiles_per_split)
    float * part;             // nullptr: write the output; else (O, m, l) records per split (attention.cu)
};

// Stages key tile `tile` of K or V (rows hk of src) into dst[BK][ST] as f16. Slots that are past
// n_kv or not live for the query tile are zero-filled without being read. kp_sh holds the tile's
// key positions when kpos is given. F16: queued as cp.async (commit + wait by the caller); Q8_0:
// decoded and stored now.
template <int HD, Type KV>
__device__ __forceinline__ void stage_tile(const TDesc & src, int64_t hk, int64_t tile, __half * dst,
                                           const int32_t * kp_sh, bool has_kpos, int64_t pmin, int64_t pmax,
                                           const PrefillArgs & a) {
    constexpr int BK = key_tile(HD), ST = smem_stride(HD);
    const int tid = threadIdx.x;
    const int64_t j0 = tile * BK;
    const char * base = src.p + hk * src.nb[1];
    if constexpr (KV == Type::F16) {
        constexpr int kChunks = HD / 8;  // 16-byte pieces per row
        for (int idx = tid; idx < BK * kChunks; idx += kWarps * 32) {
            const int r = idx / kChunks, c = idx % kChunks;
            const int64_t j = j0 + r;
            const int64_t kp = has_kpos ? int64_t(kp_sh[r]) : j;
            const bool live = j < a.n_kv && key_live(kp, pmin, pmax, a.causal, a.window);
            const char * g = base + (live ? j : 0) * src.nb[2] + c * 16;
            cp_async_16(dst + r * ST + c * 8, g, live);
        }
        cp_async_commit();
    } else {
        static_assert(KV == Type::Q8_0);
        constexpr int kBlocks = HD / 32;  // Q8_0 blocks per row
        for (int idx = tid; idx < BK * kBlocks; idx += kWarps * 32) {
            const int r = idx / kBlocks, b = idx % kBlocks;
            const int64_t j = j0 + r;
            const int64_t kp = has_kpos ? int64_t(kp_sh[r]) : j;
            const bool live = j < a.n_kv && key_live(kp, pmin, pmax, a.causal, a.window);
            uint32_t * out = reinterpret_cast<uint32_t *>(dst + r * ST + b * 32);
            if (live) {
                const quant::BlockQ8_0 * blk = reinterpret_cast<const quant::BlockQ8_0 *>(base + j * src.nb[2]) + b;
                const float d = half_bits_to_float(blk->d);
#pragma unroll
                for (int e = 0; e < 32; e += 2)
                    out[e / 2] = pack_half2(d * float(blk->qs[e]), d * float(blk->qs[e + 1]));
            } else {
#pragma unroll
                for (int e = 0; e < 16; ++e) out[e] = 0u;
            }
        }
    }
}

template <int HD, Type KV>
__global__ void __launch_bounds__(kWarps * 32)
    k_flash_prefill(TDesc q, TDesc k, TDesc v, const int32_t * pos, const int32_t * kpos, TDesc d, PrefillArgs a) {
    constexpr int BK = key_tile(HD), ST = smem_stride(HD);
    constexpr int kTilesS = BK / 8;    // S = 16 rows x BK keys per warp: BK / 8 C tiles
    constexpr int kTilesO = HD / 8;    // O = 16 rows x HD dims per warp
    constexpr int kChunksP = BK / 16;  // P V: BK / 16 k-steps of 16 keys
    extern __shared__ __align__(16) unsigned char smem[];
    __half * qs = reinterpret_cast<__half *>(smem);                       // [kQueryTile][ST]
    __half * ks = qs + kQueryTile * ST;                                   // [BK][ST]
    __half * vs = ks + BK * ST;                                           // [BK][ST]
    int32_t * pos_sh = reinterpret_cast<int32_t *>(vs + BK * ST);         // [kQueryTile]
    float * qmul_sh = reinterpret_cast<float *>(pos_sh + kQueryTile);     // [kQueryTile] 2^e per row
    int32_t * kp_sh = reinterpret_cast<int32_t *>(qmul_sh + kQueryTile);  // [BK] kpos of the tile

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2;  // the lane's C-fragment row (flash_attention.h frag_c_row)
    // Rows R0 .. R0 + 63 of kv head hk's (query, head) pairs (flash_attention.h row_query / row_head).
    const int64_t R0 = int64_t(blockIdx.x) * kQueryTile, hk = blockIdx.y, n_pairs = a.n_q * a.group;
    const int n_rows = n_pairs - R0 < kQueryTile ? int(n_pairs - R0) : kQueryTile;
    const bool has_kpos = kpos != nullptr;

    // ---- the query tile: positions, and rows as f16 (q * scale * 2^-e), zeros past n_q ----------
    if (tid < kQueryTile) pos_sh[tid] = tid < n_rows ? pos[row_query(R0 + tid, a.group)] : 0;
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        const int row = warp * kRowsPerWarp + rr;
        __half * dst = qs + row * ST;
        if (row < n_rows) {
            const int64_t R = R0 + row;
            const float * src = reinterpret_cast<const float *>(q.p + row_head(R, a.group, hk) * q.nb[1] +
                                                                row_query(R, a.group) * q.nb[2]);
            float amax = 0.0f;
            for (int c = lane; c < HD; c += 32) amax = fmaxf(amax, fabsf(src[c]));
            const int e = q_exponent(warp_max(amax) * a.scale);
            const float f = ldexpf(a.scale, -e);
            for (int c = lane; c < HD; c += 32) dst[c] = __float2half_rn(src[c] * f);
            if (lane == 0) qmul_sh[row] = ldexpf(1.0f, e);
        } else {
            for (int c = lane; c < HD; c += 32) dst[c] = __float2half_rn(0.0f);
            if (lane == 0) qmul_sh[row] = 1.0f;
        }
    }
    __syncthreads();
    int64_t pmin = pos_sh[0], pmax = pos_sh[0];
    for (int r = 1; r < n_rows; ++r) {
        pmin = pos_sh[r] < pmin ? pos_sh[r] : pmin;
        pmax = pos_sh[r] > pmax ? pos_sh[r] : pmax;
    }
    // This lane's two rows of S and O: g and g + 8 of the warp's 16 (C fragment rows).
    const int row0 = warp * kRowsPerWarp + g, row1 = row0 + 8;
    const int64_t pq0 = pos_sh[row0], pq1 = pos_sh[row1];
    const float qm0 = qmul_sh[row0], qm1 = qmul_sh[row1];

    // ---- live key tiles -----------------------------------------------------------------------
    const int64_t n_tiles = (a.n_kv + BK - 1) / BK;
    const int64_t s0 = int64_t(blockIdx.z) * a.tiles_per_split;  // this split's key tiles [s0, s1)
    const int64_t s1 = s0 + a.tiles_per_split < n_tiles ? s0 + a.tiles_per_split : n_tiles;
    int64_t tile = 0, tile_end = n_tiles;
    if (!has_kpos) live_tiles(pmin, pmax, a.n_kv, a.causal, a.window, BK, tile, tile_end);
    tile = tile > s0 ? tile : s0;
    tile_end = tile_end < s1 ? tile_end : s1;
    if (tile > tile_end) tile = tile_end;
    // The first live tile at or after `from` (tile_end if none). With kpos it reads each candidate
    // tile's kpos into kp_sh (left holding the returned tile's); block-uniform, every thread calls it.
    auto next_live = [&](int64_t from) -> int64_t {
        if (!has_kpos) return from < tile_end ? from : tile_end;
        for (int64_t tl = from; tl < tile_end; ++tl) {
            __syncthreads();  // kp_sh may still be read for the previous tile's mask
            bool any = false;
            if (tid < BK) {
                const int64_t j = tl * BK + tid;
                const int32_t kp = j < a.n_kv ? kpos[j] : -1;
                kp_sh[tid] = kp;
                any = key_live(kp, pmin, pmax, a.causal, a.window);
            }
            if (__syncthreads_or(any)) return tl;
        }
        return tile_end;
    };

    float o[kTilesO][4];
#pragma unroll
    for (int n = 0; n < kTilesO; ++n)
#pragma unroll
        for (int r = 0; r < 4; ++r) o[n][r] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;  // l: this lane's part of the row sum

    tile = next_live(tile);
    if (tile < tile_end) stage_tile<HD, KV>(k, hk, tile, ks, kp_sh, has_kpos, pmin, pmax, a);
    while (tile < tile_end) {
        cp_async_wait<0>();
        __syncthreads();  // K(tile) is in ks for every thread; every warp is done reading vs
        stage_tile<HD, KV>(v, hk, tile, vs, kp_sh, has_kpos, pmin, pmax, a);

        // S = Q K^T: A = the warp's 16 query rows (row-major in qs), B = K^T (key rows in ks).
        float s[kTilesS][4];
#pragma unroll
        for (int n = 0; n < kTilesS; ++n)
#pragma unroll
            for (int r = 0; r < 4; ++r) s[n][r] = 0.0f;
#pragma unroll
        for (int kc = 0; kc < HD; kc += 16) {
            uint32_t af[4];
            const __half * qa = qs + (warp * kRowsPerWarp + frag_a_row(lane, 0)) * ST + kc;
            af[0] = half_pair(qa, frag_a_col(lane, 0));           // a0 a1: row g,     cols 2t, 2t+1
            af[1] = half_pair(qa + 8 * ST, frag_a_col(lane, 2));  // a2 a3: row g + 8
            af[2] = half_pair(qa, frag_a_col(lane, 4));           // a4 a5: row g,     cols 2t+8, 2t+9
            af[3] = half_pair(qa + 8 * ST, frag_a_col(lane, 6));  // a6 a7: row g + 8
#pragma unroll
            for (int n = 0; n < kTilesS; ++n) {
                uint32_t bf[2];
                const __half * kb = ks + (8 * n + frag_b_n(lane, 0)) * ST + kc;  // key 8n + g
                bf[0] = half_pair(kb, frag_b_k(lane, 0));                        // b0 b1: dims 2t, 2t+1
                bf[1] = half_pair(kb, frag_b_k(lane, 2));                        // b2 b3: dims 2t+8, 2t+9
                mma_f16_16816(s[n], af, bf);
            }
        }

        // Scale back, soft-cap, mask; the tile's max per row over the row's 4 lanes.
        const int64_t j0 = tile * BK;
        float mt0 = -INFINITY, mt1 = -INFINITY;
#pragma unroll
        for (int n = 0; n < kTilesS; ++n) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int col = 8 * n + frag_c_col(lane, r);
                const bool lo = r < 2;  // row g (else g + 8)
                float x = s[n][r] * (lo ? qm0 : qm1);
                if (a.softcap > 0.0f) x = a.softcap * tanhf(x / a.softcap);
                const int64_t j = j0 + col;
                const int64_t kp = has_kpos ? int64_t(kp_sh[col]) : j;
                const int64_t pq = lo ? pq0 : pq1;
                const bool vis =
                    j < a.n_kv && kp >= 0 && (!a.causal || kp <= pq) && (a.window <= 0 || pq - kp < a.window);
                x = vis ? x : -INFINITY;
                s[n][r] = x;
                if (lo)
                    mt0 = fmaxf(mt0, x);
                else
                    mt1 = fmaxf(mt1, x);
            }
        }
        mt0 = fmaxf(mt0, __shfl_xor_sync(0xFFFFFFFFu, mt0, 1));
        mt0 = fmaxf(mt0, __shfl_xor_sync(0xFFFFFFFFu, mt0, 2));
        mt1 = fmaxf(mt1, __shfl_xor_sync(0xFFFFFFFFu, mt1, 1));
        mt1 = fmaxf(mt1, __shfl_xor_sync(0xFFFFFFFFu, mt1, 2));
        const float mn0 = fmaxf(m0, mt0), mn1 = fmaxf(m1, mt1);
        // exp(m_old - m_new): 0 on a row's first visible tile (m_old = -inf; O and l are 0 then),
        // 1 while a row has seen nothing (both -inf).
        const float c0 = mn0 == -INFINITY ? 1.0f : expf(m0 - mn0);
        const float c1 = mn1 == -INFINITY ? 1.0f : expf(m1 - mn1);
        m0 = mn0;
        m1 = mn1;
        l0 *= c0;
        l1 *= c1;
#pragma unroll
        for (int n = 0; n < kTilesO; ++n) {
            o[n][0] *= c0;
            o[n][1] *= c0;
            o[n][2] *= c1;
            o[n][3] *= c1;
        }
        // P = exp(s - m) as f16, laid out as P V's A fragments: k-step c takes S tiles 2c, 2c + 1.
        // l sums the rounded values, so the weights applied to V sum to l exactly.
        uint32_t pa[kChunksP][4];
#pragma unroll
        for (int c = 0; c < kChunksP; ++c) {
#pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
                const float * sn = s[2 * c + hf];
                const float p0 = sn[0] == -INFINITY ? 0.0f : expf(sn[0] - m0);
                const float p1 = sn[1] == -INFINITY ? 0.0f : expf(sn[1] - m0);
                const float p2 = sn[2] == -INFINITY ? 0.0f : expf(sn[2] - m1);
                const float p3 = sn[3] == -INFINITY ? 0.0f : expf(sn[3] - m1);
                const uint32_t lo = pack_half2(p0, p1), hi = pack_half2(p2, p3);
                const float2 rl = __half22float2(*reinterpret_cast<const __half2 *>(&lo));
                const float2 rh = __half22float2(*reinterpret_cast<const __half2 *>(&hi));
                l0 += rl.x + rl.y;
                l1 += rh.x + rh.y;
                pa[c][2 * hf] = lo;      // a0 a1 (hf 0) / a4 a5 (hf 1): row g
                pa[c][2 * hf + 1] = hi;  // a2 a3 / a6 a7: row g + 8
            }
        }

        const int64_t next = next_live(tile + 1);
        cp_async_wait<0>();
        __syncthreads();  // V(tile) is in vs; every warp is done reading ks
        if (next < tile_end) stage_tile<HD, KV>(k, hk, next, ks, kp_sh, has_kpos, pmin, pmax, a);

            // O += P V: B fragments of V (key rows in vs) by ldmatrix.trans, 16 dims per instruction.
#pragma unroll
        for (int c = 0; c < kChunksP; ++c) {
#pragma unroll
            for (int dp = 0; dp < HD; dp += 16) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, vs + (16 * c + ldsm_v_key(lane)) * ST + dp + ldsm_v_dim(lane));
                mma_f16_16816(o[dp / 8], pa[c], b);          // dims dp .. dp + 7
                mma_f16_16816(o[dp / 8 + 1], pa[c], b + 2);  // dims dp + 8 .. dp + 15
            }
        }
        tile = next;
    }

    // ---- O / l, reduced over the row's 4 lanes; zeros for a row that saw no key ----------------
    l0 += __shfl_xor_sync(0xFFFFFFFFu, l0, 1);
    l0 += __shfl_xor_sync(0xFFFFFFFFu, l0, 2);
    l1 += __shfl_xor_sync(0xFFFFFFFFu, l1, 1);
    l1 += __shfl_xor_sync(0xFFFFFFFFu, l1, 2);
    float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
    float *out0 = nullptr, *out1 = nullptr;
    if (a.part) {
        // A split's record, as attention.cu's combine kernel reads it: O unnormalised, then m, l.
        constexpr int64_t kRec = HD + 2;
        auto record = [&](int64_t R) {  // [split][query][head]
            const int64_t i = row_query(R, a.group), h = row_head(R, a.group, hk);
            return a.part + ((int64_t(blockIdx.z) * a.n_q + i) * a.n_head + h) * kRec;
        };
        if (row0 < n_rows) out0 = record(R0 + row0);
        if (row1 < n_rows) out1 = record(R0 + row1);
        if ((lane & 3) == 0) {
            if (out0) {
                out0[HD] = m0;
                out0[HD + 1] = l0;
            }
            if (out1) {
                out1[HD] = m1;
                out1[HD + 1] = l1;
            }
        }
        inv0 = 1.0f;
        inv1 = 1.0f;
    } else {
        auto out_row = [&](int64_t R) {
            return reinterpret_cast<float *>(d.p + row_head(R, a.group, hk) * d.nb[1] +
                                             row_query(R, a.group) * d.nb[2]);
        };
        if (row0 < n_rows) out0 = out_row(R0 + row0);
        if (row1 < n_rows) out1 = out_row(R0 + row1);
    }
#pragma unroll
    for (int n = 0; n < kTilesO; ++n) {
        const int col = 8 * n + frag_c_col(lane, 0);
        if (out0) {
            out0[col] = o[n][0] * inv0;
            out0[col + 1] = o[n][1] * inv0;
        }
        if (out1) {
            out1[col] = o[n][2] * inv1;
            out1[col + 1] = o[n][3] * inv1;
        }
    }
}

bool enabled() {
    static const bool on = [] {
        const char * v = std::getenv("QUANTA_CUDA_FLASH");
        return !(v && v[0] == '0' && v[1] == '\0');
    }();
    return on;
}

bool aligned(const BoundTensor & t, int64_t bytes) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(dev_ptr(t));
    return p % uintptr_t(bytes) == 0 && t.nb[1] % bytes == 0 && t.nb[2] % bytes == 0;
}

template <int HD, Type KV>
void launch(const BoundNode & n, const LaunchCtx & ctx, PrefillSplit sp, float * part) {
    const core::AttentionParams & p = n.node->params<core::AttentionParams>();
    PrefillArgs a{};
    a.n_q = n.src[0].ne[2];
    a.n_kv = n.src[1].ne[2];
    a.group = n.src[0].ne[1] / n.src[1].ne[1];
    a.n_head = n.src[0].ne[1];
    a.tiles_per_split = sp.tiles_per_split;
    a.part = sp.n_split > 1 ? part : nullptr;
    a.scale = p.scale;
    a.softcap = p.softcap;
    a.window = p.window;
    a.causal = p.causal;
    const size_t bytes = smem_bytes(HD);
    // Past the default 48 KiB for head_dim 128 / 256 the kernel must opt in, once per device (the
    // first, uncaptured run of a graph does it, so no attribute call happens inside a capture).
    static std::atomic<bool> raised[kMaxDevices];
    int dev = 0;
    const bool known = cudaGetDevice(&dev) == cudaSuccess && dev >= 0 && dev < kMaxDevices;
    if (!known || !raised[dev].load()) {
        const cudaError_t err =
            cudaFuncSetAttribute(k_flash_prefill<HD, KV>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
        if (known && err == cudaSuccess) raised[dev].store(true);
    }
    const dim3 grid(unsigned((a.n_q * a.group + kQueryTile - 1) / kQueryTile), unsigned(n.src[1].ne[1]),
                    unsigned(sp.n_split));
    k_flash_prefill<HD, KV><<<grid, kWarps * 32, bytes, ctx.stream>>>(
        tdesc(n.src[0]), tdesc(n.src[1]), tdesc(n.src[2]), reinterpret_cast<const int32_t *>(dev_ptr(n.src[3])),
        kpos_ptr(n, 4), tdesc(n.dst), a);
}

template <Type KV>
void launch_hd(const BoundNode & n, const LaunchCtx & ctx, PrefillSplit sp, float * part) {
    switch (n.src[0].ne[0]) {
        case 64:
            launch<64, KV>(n, ctx, sp, part);
            break;
        case 128:
            launch<128, KV>(n, ctx, sp, part);
            break;
        default:
            launch<256, KV>(n, ctx, sp, part);
            break;
    }
}

}  // namespace

bool prefill_applies(const BoundNode & n) {
    const BoundTensor & q = n.src[0];
    const BoundTensor & k = n.src[1];
    const BoundTensor & v = n.src[2];
    if (!enabled() || !prefill_shape_fits(q.ne[0], v.ne[0], q.ne[2], k.type) || v.type != k.type) return false;
    if (q.ne[2] * q.ne[1] > int64_t(kQueryTile) * 0x7FFFFFFF || k.ne[1] > 65535) return false;
    if (q.nb[0] != 4 || n.dst.nb[0] != 4 || q.nb[1] % 4 != 0 || q.nb[2] % 4 != 0) return false;
    const int64_t kv_align = k.type == Type::F16 ? 16 : 2;
    if (k.type == Type::F16 && (k.nb[0] != 2 || v.nb[0] != 2)) return false;
    return aligned(k, kv_align) && aligned(v, kv_align);
}

PrefillSplit prefill_split(const BoundNode & n, int sm_count) {
    return prefill_split(n.src[0].ne[0], n.src[0].ne[2], n.src[0].ne[1], n.src[1].ne[1], n.src[1].ne[2], sm_count);
}

void launch_prefill(const BoundNode & n, const LaunchCtx & ctx, PrefillSplit sp, float * part) {
    if (n.src[1].type == Type::F16)
        launch_hd<Type::F16>(n, ctx, sp, part);
    else
        launch_hd<Type::Q8_0>(n, ctx, sp, part);
}

}  // namespace quanta::backends::cuda::flash
