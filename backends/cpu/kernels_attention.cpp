// backends/cpu/kernels_attention.cpp — fused attention, flash-style: for each (query, head) the
// visible keys of the cache are streamed in blocks of up to kBlock consecutive visible slots
// (KeyRuns: with the optional kpos source, slots hold arbitrary positions, e.g. a ring buffer); a block's scores are computed,
// soft-capped, and folded into a running max / sum / weighted-V accumulator (online softmax), so
// no [n_kv, n_q, n_head] score matrix is ever stored and masked keys are never read.
// K/V may be F32, F16 or Q8_0 (the quantized KV cache); for Q8_0 the query row is quantized to Q8_0
// once, exactly as the unfused reference's mul_mat does. GQA: head h reads kv head
// h / (n_head / n_head_kv); work is split over (query, kv head) units so the heads of one group
// read (and decode) each K/V row once.
// The unfused composition (GraphBuilder::attention_reference) is the reference in the op tests.
#include <cmath>
#include <cstring>
#include <limits>

#include "backends/cpu/kernels.h"
#include "backends/cpu/row_codec.h"
#include "backends/cpu/vec.h"
#include "quant/dispatch.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace quanta::backends::cpu {

namespace {

using core::Op;

constexpr int64_t kBlock = 64;

size_t align64(size_t x) { return (x + 63) / 64 * 64; }

// acc[g] += sum_j p[g][j] * v_j over one key block, 32 output dims at a time, so each group's
// accumulator chunk stays in four AVX2 registers across the block instead of being loaded and
// stored once per key. Portable fallback: the same loop order in scalar code.
void pv_accumulate_scalar(const float * const * vrows, const float * p, int64_t stride_p, int64_t jn, int64_t group,
                          float * acc, int64_t hd_v) {
    for (int64_t g = 0; g < group; ++g) {
        for (int64_t j = 0; j < jn; ++j) {
            const float pj = p[g * stride_p + j];
            for (int64_t c = 0; c < hd_v; ++c) acc[g * hd_v + c] += pj * vrows[j][c];
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void pv_accumulate_avx2(const float * const * vrows, const float * p,
                                                              int64_t stride_p, int64_t jn, int64_t group, float * acc,
                                                              int64_t hd_v) {
    if (hd_v % 32 != 0) {
        pv_accumulate_scalar(vrows, p, stride_p, jn, group, acc, hd_v);
        return;
    }
    for (int64_t c0 = 0; c0 < hd_v; c0 += 32) {
        for (int64_t g = 0; g < group; ++g) {
            float * dst = acc + g * hd_v + c0;
            __m256 a0 = _mm256_loadu_ps(dst), a1 = _mm256_loadu_ps(dst + 8);
            __m256 a2 = _mm256_loadu_ps(dst + 16), a3 = _mm256_loadu_ps(dst + 24);
            const float * pg = p + g * stride_p;
            for (int64_t j = 0; j < jn; ++j) {
                const __m256 pj = _mm256_set1_ps(pg[j]);
                const float * vr = vrows[j] + c0;
                a0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr), a0);
                a1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 8), a1);
                a2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 16), a2);
                a3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 24), a3);
            }
            _mm256_storeu_ps(dst, a0);
            _mm256_storeu_ps(dst + 8, a1);
            _mm256_storeu_ps(dst + 16, a2);
            _mm256_storeu_ps(dst + 24, a3);
        }
    }
}
#endif

// scores[g * stride + j] = k_j . q_g for an F32 or F16 block of jn keys (rows kstride bytes apart):
// each key row is loaded (and widened) once for all heads of the group, four heads per pass.
void qk_group_scalar(const char * k0, int64_t kstride, bool f16, const float * const * q, int64_t group, int64_t jn,
                     int64_t hd, float * scores, int64_t stride) {
    const VecOps & vo = vec();
    for (int64_t j = 0; j < jn; ++j) {
        const char * kr = k0 + j * kstride;
        for (int64_t g = 0; g < group; ++g) {
            scores[g * stride + j] = f16 ? vo.dot_f16_f32(reinterpret_cast<const uint16_t *>(kr), q[g], hd)
                                         : vo.dot_f32(reinterpret_cast<const float *>(kr), q[g], hd);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c"))) inline float hsum8(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma,f16c"))) void qk_group_avx2(const char * k0, int64_t kstride, bool f16,
                                                              const float * const * q, int64_t group, int64_t jn,
                                                              int64_t hd, float * scores, int64_t stride) {
    if (hd % 8 != 0) {
        qk_group_scalar(k0, kstride, f16, q, group, jn, hd, scores, stride);
        return;
    }
    for (int64_t j = 0; j < jn; ++j) {
        const char * kr = k0 + j * kstride;
        for (int64_t g0 = 0; g0 < group; g0 += 4) {
            const int64_t gn = std::min<int64_t>(4, group - g0);
            __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int64_t c = 0; c < hd; c += 8) {
                const __m256 kv = f16 ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(kr + 2 * c)))
                                      : _mm256_loadu_ps(reinterpret_cast<const float *>(kr) + c);
                for (int64_t g = 0; g < gn; ++g) a[g] = _mm256_fmadd_ps(kv, _mm256_loadu_ps(q[g0 + g] + c), a[g]);
            }
            for (int64_t g = 0; g < gn; ++g) scores[(g0 + g) * stride + j] = hsum8(a[g]);
        }
    }
}
#endif

using QkFn = void (*)(const char *, int64_t, bool, const float * const *, int64_t, int64_t, int64_t, float *, int64_t);

QkFn qk_group() {
#if defined(__x86_64__)
    static const QkFn fn = quant::cpu_isa_level() != quant::Isa::Scalar ? qk_group_avx2 : qk_group_scalar;
#else
    static const QkFn fn = qk_group_scalar;
#endif
    return fn;
}

using PvFn = void (*)(const float * const *, const float *, int64_t, int64_t, int64_t, float *, int64_t);

PvFn pv_accumulate() {
#if defined(__x86_64__)
    static const PvFn fn = quant::cpu_isa_level() != quant::Isa::Scalar ? pv_accumulate_avx2 : pv_accumulate_scalar;
#else
    static const PvFn fn = pv_accumulate_scalar;
#endif
    return fn;
}

// Per-thread scratch for one (query, kv head) unit of G = n_head / n_head_kv query heads:
// G accumulators [hd_v], G quantized query rows, G x kBlock scores, one decoded V row.
struct Scratch {
    size_t acc, qrow, scores, vtmp, total;
};

Scratch layout(const BoundNode & n) {
    const int64_t hd = n.src[0].ne[0], hd_v = n.src[2].ne[0], group = n.src[0].ne[1] / n.src[1].ne[1];
    Scratch s;
    s.acc = 0;
    s.qrow = s.acc + align64(size_t(group * hd_v) * sizeof(float));
    s.scores = s.qrow + size_t(group) * align64(core::type_row_bytes(Type::Q8_0, (hd + 31) / 32 * 32));
    s.vtmp = s.scores + align64(size_t(group * kBlock) * sizeof(float));
    s.total = s.vtmp + align64(size_t(kBlock * hd_v) * sizeof(float));
    return s;
}

size_t w_attention(const BoundNode & n, int nth) { return size_t(nth) * layout(n).total; }

void k_attention(const BoundNode & n, const KernelCtx & ctx) {
    const core::AttentionParams & p = n.node->params<core::AttentionParams>();
    const BoundTensor & q = n.src[0];
    const BoundTensor & k = n.src[1];
    const BoundTensor & v = n.src[2];
    const int32_t * pos = n.src[3].host<int32_t>();
    const int32_t * kpos = n.node->n_src > 4 ? n.src[4].host<int32_t>() : nullptr;
    const BoundTensor & d = n.dst;
    const int64_t hd = q.ne[0], hd_v = v.ne[0], n_head_kv = k.ne[1], n_kv = k.ne[2];
    const int64_t group = q.ne[1] / n_head_kv;
    const RowCodec & kc = *row_codec(k.type);
    const RowCodec & vc = *row_codec(v.type);
    const VecOps & vo = vec();
    const PvFn pv = pv_accumulate();
    const QkFn qk = qk_group();
    const bool k_float = k.type == Type::F32 || k.type == Type::F16;

    const Scratch sl = layout(n);
    char * scratch = ctx.work + size_t(ctx.ith) * sl.total;
    float * acc = reinterpret_cast<float *>(scratch + sl.acc);
    float * scores = reinterpret_cast<float *>(scratch + sl.scores);
    float * vtmp = reinterpret_cast<float *>(scratch + sl.vtmp);
    const size_t q8_bytes = align64(core::type_row_bytes(Type::Q8_0, (hd + 31) / 32 * 32));
    constexpr int64_t kMaxGroup = 64;
    const void * qdot[kMaxGroup];
    float m[kMaxGroup], l[kMaxGroup];
    QUANTA_CHECK(group <= kMaxGroup);

    // Units are (query, kv head): the G query heads sharing a kv head read each K/V row once.
    int64_t u0, u1;
    split_range(n_head_kv * q.ne[2], ctx.ith, ctx.nth, u0, u1);
    for (int64_t u = u0; u < u1; ++u) {
        const int64_t hk = u % n_head_kv, i = u / n_head_kv;
        for (int64_t g = 0; g < group; ++g) {
            const float * qrow = reinterpret_cast<const float *>(q.host<char>() + (hk * group + g) * q.nb[1] + i * q.nb[2]);
            qdot[g] = qrow;
            if (kc.dot_with != Type::F32) {
                char * qq = scratch + sl.qrow + size_t(g) * q8_bytes;
                kc.quantize_dot_with(qrow, qq, hd, nullptr);
                qdot[g] = qq;
            }
            m[g] = -std::numeric_limits<float>::infinity();
            l[g] = 0.0f;
        }
        std::memset(acc, 0, size_t(group * hd_v) * sizeof(float));
        KeyRuns runs(kpos, n_kv, pos[i], p.causal, p.window);
        int64_t j0, j1;
        while (runs.next(kBlock, j0, j1)) {
            const int64_t jn = j1 - j0;
            const char * kblock = k.host<char>() + hk * k.nb[1] + j0 * k.nb[2];
            if (k_float) {
                qk(kblock, k.nb[2], k.type == Type::F16, reinterpret_cast<const float * const *>(qdot), group, jn, hd,
                   scores, kBlock);
            } else {
                for (int64_t jj = 0; jj < jn; ++jj) {
                    for (int64_t g = 0; g < group; ++g) scores[g * kBlock + jj] = kc.dot(kblock + jj * k.nb[2], qdot[g], hd);
                }
            }
            for (int64_t g = 0; g < group; ++g) {
                for (int64_t jj = 0; jj < jn; ++jj) {
                    float s = scores[g * kBlock + jj] * p.scale;
                    if (p.softcap > 0.0f) s = p.softcap * std::tanh(s / p.softcap);
                    scores[g * kBlock + jj] = s;
                }
            }
            for (int64_t g = 0; g < group; ++g) {
                float bmax = -std::numeric_limits<float>::infinity();
                for (int64_t jj = 0; jj < jn; ++jj) bmax = std::max(bmax, scores[g * kBlock + jj]);
                if (bmax > m[g]) {
                    const float corr = std::exp(m[g] - bmax);  // exp(-inf) = 0 on the first block
                    vo.scale_f32(corr, acc + g * hd_v, hd_v);
                    l[g] *= corr;
                    m[g] = bmax;
                }
                for (int64_t jj = 0; jj < jn; ++jj) {
                    const float e = std::exp(scores[g * kBlock + jj] - m[g]);
                    scores[g * kBlock + jj] = e;
                    l[g] += e;
                }
            }
            // Decode the block's V rows once (F16 / Q8_0) and fold them into every head of the group.
            const float * vrows[kBlock];
            for (int64_t jj = 0; jj < jn; ++jj) {
                const char * vrow = v.host<char>() + hk * v.nb[1] + (j0 + jj) * v.nb[2];
                if (v.type == Type::F32) {
                    vrows[jj] = reinterpret_cast<const float *>(vrow);
                } else {
                    vc.to_f32(vrow, vtmp + jj * hd_v, hd_v);
                    vrows[jj] = vtmp + jj * hd_v;
                }
            }
            pv(vrows, scores, kBlock, jn, group, acc, hd_v);
        }
        for (int64_t g = 0; g < group; ++g) {
            float * out = reinterpret_cast<float *>(d.host<char>() + (hk * group + g) * d.nb[1] + i * d.nb[2]);
            const float inv = l[g] > 0.0f ? 1.0f / l[g] : 0.0f;
            for (int64_t c = 0; c < hd_v; ++c) out[c] = acc[g * hd_v + c] * inv;
        }
    }
}

}  // namespace

void register_attention(KernelTable & t) {
    for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
        t.add(Op::Attention, Type::F32, Type::F32, kv, k_attention, w_attention);
    }
}

}  // namespace quanta::backends::cpu
