// backends/cpu/kernels_attention.cpp — fused attention, flash-style: for each (query, head) the
// visible keys of the cache are streamed in blocks of kBlock; a block's scores are computed,
// soft-capped, and folded into a running max / sum / weighted-V accumulator (online softmax), so
// no [n_kv, n_q, n_head] score matrix is ever stored and masked keys are never read.
// K/V may be F32, F16 or Q8_0 (the quantized KV cache); for Q8_0 the query row is quantized to Q8_0
// once, exactly as the unfused reference's mul_mat does. Work is split over (query, head) rows.
// GQA: head h reads kv head h / (n_head / n_head_kv).
// The unfused composition (GraphBuilder::attention_reference) is the reference in the op tests.
#include <cmath>
#include <cstring>
#include <limits>

#include "backends/cpu/kernels.h"
#include "backends/cpu/row_codec.h"
#include "backends/cpu/vec.h"

namespace quanta::backends::cpu {

namespace {

using core::Op;

constexpr int64_t kBlock = 64;

size_t align64(size_t x) { return (x + 63) / 64 * 64; }

size_t per_thread(const BoundNode & n) {
    const int64_t hd = n.src[0].ne[0], hd_v = n.src[2].ne[0];
    return align64(size_t(hd_v) * 8) + align64(core::type_row_bytes(Type::Q8_0, (hd + 31) / 32 * 32)) +
           align64(kBlock * sizeof(float));
}

size_t w_attention(const BoundNode & n, int nth) { return size_t(nth) * per_thread(n); }

void k_attention(const BoundNode & n, const KernelCtx & ctx) {
    const core::AttentionParams & p = n.node->params<core::AttentionParams>();
    const BoundTensor & q = n.src[0];
    const BoundTensor & k = n.src[1];
    const BoundTensor & v = n.src[2];
    const int32_t * pos = n.src[3].host<int32_t>();
    const BoundTensor & d = n.dst;
    const int64_t hd = q.ne[0], hd_v = v.ne[0], n_head = q.ne[1], n_kv = k.ne[2];
    const int64_t group = n_head / k.ne[1];
    const RowCodec & kc = *row_codec(k.type);
    const RowCodec & vc = *row_codec(v.type);
    const VecOps & vo = vec();

    char * scratch = ctx.work + size_t(ctx.ith) * per_thread(n);
    float * acc = reinterpret_cast<float *>(scratch);
    float * vtmp = acc + hd_v;
    char * qrow_q = scratch + align64(size_t(hd_v) * 8);
    float * scores = reinterpret_cast<float *>(qrow_q + align64(core::type_row_bytes(Type::Q8_0, (hd + 31) / 32 * 32)));

    int64_t r0, r1;
    split_range(n_head * q.ne[2], ctx.ith, ctx.nth, r0, r1);
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t h = r % n_head, i = r / n_head;
        const int64_t hk = h / group;
        const float * qrow = reinterpret_cast<const float *>(q.host<char>() + h * q.nb[1] + i * q.nb[2]);
        const void * qdot = qrow;
        if (kc.dot_with != Type::F32) {
            kc.quantize_dot_with(qrow, qrow_q, hd, nullptr);
            qdot = qrow_q;
        }
        int64_t lo, hi;
        visible_keys(pos[i], n_kv, p.causal, p.window, lo, hi);
        float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
        std::memset(acc, 0, size_t(hd_v) * sizeof(float));
        for (int64_t j0 = lo; j0 < hi; j0 += kBlock) {
            const int64_t jn = std::min(hi - j0, kBlock);
            float bmax = -std::numeric_limits<float>::infinity();
            for (int64_t jj = 0; jj < jn; ++jj) {
                const char * krow = k.host<char>() + hk * k.nb[1] + (j0 + jj) * k.nb[2];
                float s = kc.dot(krow, qdot, hd) * p.scale;
                if (p.softcap > 0.0f) s = p.softcap * std::tanh(s / p.softcap);
                scores[jj] = s;
                bmax = std::max(bmax, s);
            }
            if (bmax > m) {
                const float corr = std::exp(m - bmax);  // exp(-inf) = 0 on the first block
                vo.scale_f32(corr, acc, hd_v);
                l *= corr;
                m = bmax;
            }
            for (int64_t jj = 0; jj < jn; ++jj) {
                const float e = std::exp(scores[jj] - m);
                l += e;
                const char * vrow = v.host<char>() + hk * v.nb[1] + (j0 + jj) * v.nb[2];
                if (v.type == Type::F32) {
                    vo.axpy_f32(e, reinterpret_cast<const float *>(vrow), acc, hd_v);
                } else {
                    vc.to_f32(vrow, vtmp, hd_v);
                    vo.axpy_f32(e, vtmp, acc, hd_v);
                }
            }
        }
        float * out = reinterpret_cast<float *>(d.host<char>() + h * d.nb[1] + i * d.nb[2]);
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        for (int64_t c = 0; c < hd_v; ++c) out[c] = acc[c] * inv;
    }
}

}  // namespace

void register_attention(KernelTable & t) {
    for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
        t.add(Op::Attention, Type::F32, Type::F32, kv, k_attention, w_attention);
    }
}

}  // namespace quanta::backends::cpu
