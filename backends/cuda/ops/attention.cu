// backends/cuda/ops/attention.cu — fused attention with online softmax, split over the KV cache.
//
// Prompts (16+ queries) with head_dim = hd_v = 64 / 128 / 256 and an F16 or Q8_0 cache go to the
// tensor-core prefill kernel instead (ops/flash_prefill.cu, flash_attention.h prefill_applies;
// QUANTA_CUDA_FLASH=0 keeps them here); when it splits the cache, its records go through phase 2
// below. Everything else, decode included, takes this kernel.
//
// Algorithm (no tensor cores). Phase 1: one block of kThreads threads per (head, query, split);
// split s covers keys [s * per_split, (s+1) * per_split) of the cache. The block walks its keys in
// tiles of kThreads. Scores (q . k over head_dim from the query in shared memory, times scale, then
// the soft-cap; masked keys -inf): groups of L lanes take one key each, lane c % L reading chunk c
// of the K row (16 bytes of F32 / F16, or one Q8_0 block), a group reduction, the tile's scores
// through shared memory; K rows that are not 16-byte aligned are scored one key per thread,
// element by element. Thread t then holds key j0 + t's score; the tile max and sum are block reductions folded into a running max m,
// sum l and a weighted V accumulator (online softmax: acc = acc * exp(m_old - m_new) + sum p_j v_j;
// thread t owns output dims t, t + kThreads, ...). A tile with no visible key changes nothing.
// Phase 2: one block per (head, query) combines the splits' (acc, m, l):
// out = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s; a query that sees no key gets zeros (as
// the CPU). Decode (one query, thousands of keys) gets many splits so every SM has work; a prompt
// gets one split per query and head once there are enough of those.
// Masking is the kpos contract (common.cuh key_visible): with kpos the slots may be in any order
// and every slot of the split is tested; without it slot j holds position j and only the visible
// range [pos - window + 1, pos] of the split is walked.
// K/V types: F32, F16, Q8_0 (the quantized KV cache); V decoded per element. GQA: head h reads kv head
// h / (n_head / n_head_kv). Head dims up to kMaxHeadDim (64/128/256 and odd sizes).
#include "backends/cuda/ops/common.cuh"
#include "backends/cuda/ops/flash_attention.h"

namespace quanta::backends::cuda {

namespace {

using core::Op;

constexpr int kThreads = 128;
constexpr int kMaxHeadDim = 512;
constexpr int kDimsPerThread = kMaxHeadDim / kThreads;
constexpr int64_t kMinKeysPerSplit = 256;
constexpr int64_t kMaxSplits = 64;

struct AttnArgs {
    int64_t hd, hd_v, n_head, group, n_kv, n_q, per_split, n_split;
    float scale, softcap;
    int64_t window;
    bool causal;
};

template <Type T>
__device__ __forceinline__ float kv_elem(const char * row, int64_t c) {
    if constexpr (T == Type::F32) {
        return reinterpret_cast<const float *>(row)[c];
    } else if constexpr (T == Type::F16) {
        return half_bits_to_float(reinterpret_cast<const uint16_t *>(row)[c]);
    } else {
        static_assert(T == Type::Q8_0);
        const quant::BlockQ8_0 & b = reinterpret_cast<const quant::BlockQ8_0 *>(row)[c / 32];
        return half_bits_to_float(b.d) * float(b.qs[c % 32]);
    }
}

// Vectorised scoring: a key row is read in 16-byte chunks (F32: 4 floats, F16: 8 halves) or whole
// Q8_0 blocks (32 values, 34 bytes, 16-bit loads: blocks are only 2-byte aligned), by a group of
// lanes (chunk c by lane c % L of the group), dotted with the query from shared memory.
template <Type T> struct ScoreChunk;
template <> struct ScoreChunk<Type::F32> {
    static constexpr int kElems = 4;
    __device__ static float dot(const char * row, int64_t c, const float * qsh) {
        const float4 kv = reinterpret_cast<const float4 *>(row)[c];
        const float4 qv = reinterpret_cast<const float4 *>(qsh)[c];
        return kv.x * qv.x + kv.y * qv.y + kv.z * qv.z + kv.w * qv.w;
    }
};
template <> struct ScoreChunk<Type::F16> {
    static constexpr int kElems = 8;
    __device__ static float dot(const char * row, int64_t c, const float * qsh) {
        const uint4 raw = reinterpret_cast<const uint4 *>(row)[c];
        const __half2 * hp = reinterpret_cast<const __half2 *>(&raw);
        const float4 q0 = reinterpret_cast<const float4 *>(qsh)[2 * c];
        const float4 q1 = reinterpret_cast<const float4 *>(qsh)[2 * c + 1];
        const float2 k0 = __half22float2(hp[0]), k1 = __half22float2(hp[1]);
        const float2 k2 = __half22float2(hp[2]), k3 = __half22float2(hp[3]);
        return k0.x * q0.x + k0.y * q0.y + k1.x * q0.z + k1.y * q0.w + k2.x * q1.x + k2.y * q1.y + k3.x * q1.z +
               k3.y * q1.w;
    }
};
template <> struct ScoreChunk<Type::Q8_0> {
    static constexpr int kElems = 32;
    __device__ static float dot(const char * row, int64_t c, const float * qsh) {
        const quant::BlockQ8_0 * b = reinterpret_cast<const quant::BlockQ8_0 *>(row) + c;
        const uint16_t * qs = reinterpret_cast<const uint16_t *>(b->qs);  // offset 2: 2-byte aligned
        const float * qc = qsh + c * 32;
        float sum = 0.0f;
#pragma unroll
        for (int e = 0; e < 16; ++e) {
            const uint16_t two = qs[e];
            sum += float(int8_t(two & 0xFF)) * qc[2 * e] + float(int8_t(two >> 8)) * qc[2 * e + 1];
        }
        return half_bits_to_float(b->d) * sum;
    }
};

// Lanes per key in vectorised scoring: the largest power of two <= the row's chunk count, at most 32.
__host__ __device__ inline int score_lanes(int64_t chunks) {
    int l = 1;
    while (l < 32 && 2 * l <= chunks) l *= 2;
    return l;
}

// part: [n_split][n_q][n_head] records of (hd_v accumulators, m, l). kVec: scores by lane groups
// with vector loads (ScoreChunk; the launcher checks alignment), else one key per thread, element by element.
template <Type T, bool kVec>
__global__ void k_attn_split(TDesc q, TDesc k, TDesc v, const int32_t * pos, const int32_t * kpos, float * part,
                             AttnArgs a) {
    extern __shared__ __align__(16) float qsh[];  // hd floats
    __shared__ float psh[kThreads];
    __shared__ float ssh[kThreads];  // kVec: the tile's scores
    __shared__ float red[32];
    const int64_t h = blockIdx.x, i = blockIdx.y, s = blockIdx.z;
    const int64_t hk = h / a.group;
    const int t = threadIdx.x;
    const float * qrow = reinterpret_cast<const float *>(q.p + h * q.nb[1] + i * q.nb[2]);
    for (int64_t c = t; c < a.hd; c += kThreads) qsh[c] = qrow[c];
    __syncthreads();

    const int64_t pq = pos[i];
    int64_t jb = s * a.per_split, je = jb + a.per_split < a.n_kv ? jb + a.per_split : a.n_kv;
    if (!kpos) {  // slot j holds position j: only [pq - window + 1, pq] (causal) can be visible
        if (a.causal && pq + 1 < je) je = pq + 1 < jb ? jb : pq + 1;
        if (a.window > 0 && pq - a.window + 1 > jb) jb = pq - a.window + 1;
    }

    float m = -INFINITY, l = 0.0f;
    float acc[kDimsPerThread];
    for (int r = 0; r < kDimsPerThread; ++r) acc[r] = 0.0f;
    for (int64_t j0 = jb; j0 < je; j0 += kThreads) {
        const int64_t j = j0 + t;
        float sc = -INFINITY;
        if constexpr (kVec) {
            // Groups of L lanes score one key each; every warp walks the same number of keys (4 warps
            // x 32 / L groups divides kThreads), so the group reductions below see full warps.
            const int64_t chunks = a.hd / ScoreChunk<T>::kElems;
            const int L = score_lanes(chunks), lane = t & 31, li = lane % L;
            const int per_warp = 32 / L, step = (kThreads / 32) * per_warp;
            for (int jj = (t >> 5) * per_warp + lane / L; jj < kThreads; jj += step) {
                const int64_t jk = j0 + jj;
                const bool vis = jk < je && key_visible(jk, pq, kpos, a.causal, a.window);
                float dot = 0.0f;
                if (vis) {
                    const char * krow = k.p + hk * k.nb[1] + jk * k.nb[2];
                    for (int64_t c = li; c < chunks; c += L) dot += ScoreChunk<T>::dot(krow, c, qsh);
                }
                for (int o = L / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xFFFFFFFFu, dot, o);
                if (li == 0) {
                    float x = -INFINITY;
                    if (vis) {
                        x = dot * a.scale;
                        if (a.softcap > 0.0f) x = a.softcap * tanhf(x / a.softcap);
                    }
                    ssh[jj] = x;
                }
            }
            __syncthreads();
            sc = ssh[t];  // rewritten only after block_max's barriers below
        } else if (j < je && key_visible(j, pq, kpos, a.causal, a.window)) {
            const char * krow = k.p + hk * k.nb[1] + j * k.nb[2];
            float dot = 0.0f;
            for (int64_t c = 0; c < a.hd; ++c) dot += qsh[c] * kv_elem<T>(krow, c);
            sc = dot * a.scale;
            if (a.softcap > 0.0f) sc = a.softcap * tanhf(sc / a.softcap);
        }
        const float tmax = block_max(sc, red);
        if (tmax == -INFINITY) continue;  // uniform: every thread got the same reduction
        const float m_new = fmaxf(m, tmax);
        const float corr = expf(m - m_new);  // 0 on the first visible tile (m = -inf)
        const float p = sc == -INFINITY ? 0.0f : expf(sc - m_new);
        psh[t] = p;
        l = l * corr + block_sum(p, red);  // block_sum syncs: psh is complete after it
        m = m_new;
        const int64_t jn = je - j0 < kThreads ? je - j0 : kThreads;
        for (int r = 0; r < kDimsPerThread; ++r) {
            const int64_t c = t + int64_t(r) * kThreads;
            if (c >= a.hd_v) break;
            float sum = 0.0f;
            for (int64_t jj = 0; jj < jn; ++jj) {
                const float pj = psh[jj];
                if (pj != 0.0f) sum += pj * kv_elem<T>(v.p + hk * v.nb[1] + (j0 + jj) * v.nb[2], c);
            }
            acc[r] = acc[r] * corr + sum;
        }
        __syncthreads();  // psh is rewritten by the next tile
    }
    float * rec = part + ((s * a.n_q + i) * a.n_head + h) * (a.hd_v + 2);
    for (int r = 0; r < kDimsPerThread; ++r) {
        const int64_t c = t + int64_t(r) * kThreads;
        if (c < a.hd_v) rec[c] = acc[r];
    }
    if (t == 0) {
        rec[a.hd_v] = m;
        rec[a.hd_v + 1] = l;
    }
}

__global__ void k_attn_combine(const float * part, TDesc d, AttnArgs a) {
    const int64_t h = blockIdx.x, i = blockIdx.y;
    const int64_t stride = a.n_q * a.n_head * (a.hd_v + 2);
    const float * rec0 = part + (i * a.n_head + h) * (a.hd_v + 2);
    float M = -INFINITY;
    for (int64_t s = 0; s < a.n_split; ++s) M = fmaxf(M, rec0[s * stride + a.hd_v]);
    float L = 0.0f;
    for (int64_t s = 0; s < a.n_split; ++s) {
        const float ms = rec0[s * stride + a.hd_v];
        if (ms != -INFINITY) L += expf(ms - M) * rec0[s * stride + a.hd_v + 1];
    }
    const float inv = L > 0.0f ? 1.0f / L : 0.0f;
    float * out = reinterpret_cast<float *>(d.p + h * d.nb[1] + i * d.nb[2]);
    for (int64_t c = threadIdx.x; c < a.hd_v; c += blockDim.x) {
        float sum = 0.0f;
        for (int64_t s = 0; s < a.n_split; ++s) {
            const float ms = rec0[s * stride + a.hd_v];
            if (ms != -INFINITY) sum += expf(ms - M) * rec0[s * stride + c];
        }
        out[c] = sum * inv;
    }
}

AttnArgs attn_args(const BoundNode & n, int sm_count) {
    const core::AttentionParams & p = n.node->params<core::AttentionParams>();
    AttnArgs a{};
    a.hd = n.src[0].ne[0];
    a.n_head = n.src[0].ne[1];
    a.n_q = n.src[0].ne[2];
    a.hd_v = n.src[2].ne[0];
    a.group = a.n_head / n.src[1].ne[1];
    a.n_kv = n.src[1].ne[2];
    a.scale = p.scale;
    a.softcap = p.softcap;
    a.window = p.window;
    a.causal = p.causal;
    // Enough (head, query, split) blocks for two waves of the SMs, each split >= kMinKeysPerSplit keys.
    const int64_t units = a.n_head * a.n_q;
    int64_t want = (2 * int64_t(sm_count) + units - 1) / units;
    const int64_t most = (a.n_kv + kMinKeysPerSplit - 1) / kMinKeysPerSplit;
    if (want > most) want = most;
    if (want > kMaxSplits) want = kMaxSplits;
    if (want < 1) want = 1;
    a.per_split = (a.n_kv + want - 1) / want;
    a.n_split = (a.n_kv + a.per_split - 1) / a.per_split;
    return a;
}

size_t s_attention(const BoundNode & n, int sm_count) {
    if (flash::prefill_applies(n)) {  // split records only when the prefill kernel splits the cache
        const flash::PrefillSplit sp = flash::prefill_split(n, sm_count);
        return sp.n_split > 1 ? size_t(sp.n_split * n.src[0].ne[2] * n.src[0].ne[1] * (n.src[2].ne[0] + 2)) * sizeof(float)
                              : 0;
    }
    const AttnArgs a = attn_args(n, sm_count);
    return size_t(a.n_split * a.n_q * a.n_head * (a.hd_v + 2)) * sizeof(float);
}

// Vectorised scoring needs whole chunks per K row and chunk-aligned rows: F32 / F16 rows 16-byte
// aligned with head_dim a multiple of 4 / 8, Q8_0 rows (2-byte aligned blocks) always. The query
// row is copied to shared memory, so its alignment does not matter.
template <Type T>
bool vec_scores(const BoundNode & n) {
    const BoundTensor & k = n.src[1];
    if constexpr (T == Type::Q8_0) {
        return k.ne[0] % 32 == 0;
    } else {
        const uintptr_t p = reinterpret_cast<uintptr_t>(dev_ptr(k));
        return k.ne[0] % ScoreChunk<T>::kElems == 0 && k.nb[0] == (T == Type::F32 ? 4 : 2) && p % 16 == 0 &&
               k.nb[1] % 16 == 0 && k.nb[2] % 16 == 0;
    }
}

template <Type T>
void l_attention(const BoundNode & n, const LaunchCtx & ctx) {
    if (flash::prefill_applies(n)) {
        const flash::PrefillSplit sp = flash::prefill_split(n, ctx.sm_count);
        float * part = reinterpret_cast<float *>(ctx.scratch);
        flash::launch_prefill(n, ctx, sp, part);
        if (sp.n_split > 1) {  // the same records as phase 1 below: phase 2 merges them
            AttnArgs a = attn_args(n, ctx.sm_count);
            a.n_split = sp.n_split;
            k_attn_combine<<<dim3(unsigned(a.n_head), unsigned(a.n_q)), kThreads, 0, ctx.stream>>>(part, tdesc(n.dst), a);
        }
        return;
    }
    const AttnArgs a = attn_args(n, ctx.sm_count);
    float * part = reinterpret_cast<float *>(ctx.scratch);
    const dim3 grid(unsigned(a.n_head), unsigned(a.n_q), unsigned(a.n_split));
    const auto kernel = vec_scores<T>(n) ? k_attn_split<T, true> : k_attn_split<T, false>;
    kernel<<<grid, kThreads, size_t(a.hd) * sizeof(float), ctx.stream>>>(
        tdesc(n.src[0]), tdesc(n.src[1]), tdesc(n.src[2]), reinterpret_cast<const int32_t *>(dev_ptr(n.src[3])),
        kpos_ptr(n, 4), part, a);
    k_attn_combine<<<dim3(unsigned(a.n_head), unsigned(a.n_q)), kThreads, 0, ctx.stream>>>(part, tdesc(n.dst), a);
}

// Head dims up to kMaxHeadDim; queries within the grid's y extent.
bool f_attention(const core::Node & node) {
    return node.src[0].ne[0] <= kMaxHeadDim && node.src[2].ne[0] <= kMaxHeadDim && node.src[0].ne[2] <= 65535;
}

}  // namespace

void register_attention(KernelTable & t) {
    t.add(Op::Attention, Type::F32, Type::F32, Type::F32, l_attention<Type::F32>, s_attention, f_attention);
    t.add(Op::Attention, Type::F32, Type::F32, Type::F16, l_attention<Type::F16>, s_attention, f_attention);
    t.add(Op::Attention, Type::F32, Type::F32, Type::Q8_0, l_attention<Type::Q8_0>, s_attention, f_attention);
}

}  // namespace quanta::backends::cuda
