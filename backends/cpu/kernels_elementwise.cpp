// backends/cpu/kernels_elementwise.cpp — add, mul (with ggml-style broadcasting), scale, the
// activations (silu, gelu tanh/erf, glu), tanh soft-cap, masked soft_max and argmax. Memory-bound
// row loops split across threads by rows; each row is computed by one thread in one order.
#include <cmath>
#include <cstring>
#include <limits>

#include "backends/cpu/kernels.h"

namespace quanta::backends::cpu {

namespace {

using core::Op;

template <typename F>
void binary_rows(const BoundNode & n, const KernelCtx & ctx, F f) {
    const BoundTensor & a = n.src[0];
    const BoundTensor & b = n.src[1];
    const BoundTensor & d = n.dst;
    const int64_t n0 = d.ne[0], b0 = b.ne[0];
    for_each_row(d, ctx, [&](int64_t, int64_t i1, int64_t i2, int64_t i3) {
        const float * pa = reinterpret_cast<const float *>(row_ptr(a, i1, i2, i3));
        const float * pb = reinterpret_cast<const float *>(row_ptr(b, i1 % b.ne[1], i2 % b.ne[2], i3 % b.ne[3]));
        float * pd = reinterpret_cast<float *>(row_ptr(d, i1, i2, i3));
        if (b0 == n0) {
            for (int64_t i = 0; i < n0; ++i) pd[i] = f(pa[i], pb[i]);
        } else {
            for (int64_t i = 0; i < n0; ++i) pd[i] = f(pa[i], pb[i % b0]);
        }
    });
}

template <typename F>
void unary_rows(const BoundNode & n, const KernelCtx & ctx, F f) {
    const BoundTensor & x = n.src[0];
    const BoundTensor & d = n.dst;
    for_each_row(d, ctx, [&](int64_t, int64_t i1, int64_t i2, int64_t i3) {
        const float * px = reinterpret_cast<const float *>(row_ptr(x, i1, i2, i3));
        float * pd = reinterpret_cast<float *>(row_ptr(d, i1, i2, i3));
        for (int64_t i = 0; i < d.ne[0]; ++i) pd[i] = f(px[i]);
    });
}

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

// ref: transformers activations, gelu_pytorch_tanh and GELUActivation (erf).
inline float gelu_tanh(float x) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

inline float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f)); }

void k_add(const BoundNode & n, const KernelCtx & ctx) { binary_rows(n, ctx, [](float a, float b) { return a + b; }); }
void k_mul(const BoundNode & n, const KernelCtx & ctx) { binary_rows(n, ctx, [](float a, float b) { return a * b; }); }

void k_scale(const BoundNode & n, const KernelCtx & ctx) {
    const float s = n.node->params<core::ScaleParams>().s;
    unary_rows(n, ctx, [s](float x) { return x * s; });
}

void k_silu(const BoundNode & n, const KernelCtx & ctx) { unary_rows(n, ctx, silu); }

void k_gelu(const BoundNode & n, const KernelCtx & ctx) {
    if (n.node->params<core::GeluParams>().erf) unary_rows(n, ctx, gelu_erf);
    else unary_rows(n, ctx, gelu_tanh);
}

void k_soft_cap(const BoundNode & n, const KernelCtx & ctx) {
    const float c = n.node->params<core::SoftCapParams>().cap;
    const float inv = 1.0f / c;
    unary_rows(n, ctx, [c, inv](float x) { return c * std::tanh(x * inv); });
}

void k_glu(const BoundNode & n, const KernelCtx & ctx) {
    switch (n.node->params<core::GluParams>().act) {
        case core::Activation::Silu: binary_rows(n, ctx, [](float g, float u) { return silu(g) * u; }); break;
        case core::Activation::GeluTanh: binary_rows(n, ctx, [](float g, float u) { return gelu_tanh(g) * u; }); break;
        case core::Activation::GeluErf: binary_rows(n, ctx, [](float g, float u) { return gelu_erf(g) * u; }); break;
    }
}

// x [n_kv, n_q, n_head], pos I32 [n_q], optional kpos I32 [n_kv]: each row is a softmax over its
// visible keys (KeyRuns, core::AttentionParams); masked keys 0.
void k_soft_max(const BoundNode & n, const KernelCtx & ctx) {
    const core::SoftMaxParams & p = n.node->params<core::SoftMaxParams>();
    const BoundTensor & x = n.src[0];
    const int32_t * pos = n.src[1].host<int32_t>();
    const int32_t * kpos = n.node->n_src > 2 ? n.src[2].host<int32_t>() : nullptr;
    const BoundTensor & d = n.dst;
    const int64_t n_kv = d.ne[0];
    for_each_row(d, ctx, [&](int64_t, int64_t i1, int64_t i2, int64_t i3) {
        const float * px = reinterpret_cast<const float *>(row_ptr(x, i1, i2, i3));
        float * pd = reinterpret_cast<float *>(row_ptr(d, i1, i2, i3));
        for (int64_t j = 0; j < n_kv; ++j) pd[j] = 0.0f;
        float mx = -std::numeric_limits<float>::infinity();
        int64_t b, e;
        KeyRuns runs(kpos, n_kv, pos[i1], p.causal, p.window);
        while (runs.next(n_kv, b, e)) {
            for (int64_t j = b; j < e; ++j) mx = std::max(mx, px[j]);
        }
        float sum = 0.0f;
        KeyRuns again(kpos, n_kv, pos[i1], p.causal, p.window);
        while (again.next(n_kv, b, e)) {
            for (int64_t j = b; j < e; ++j) {
                pd[j] = std::exp(px[j] - mx);
                sum += pd[j];
            }
        }
        const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        for (int64_t j = 0; j < n_kv; ++j) pd[j] *= inv;
    });
}

void k_argmax(const BoundNode & n, const KernelCtx & ctx) {
    const BoundTensor & x = n.src[0];
    int32_t * out = n.dst.host<int32_t>();
    for_each_row(x, ctx, [&](int64_t r, int64_t i1, int64_t i2, int64_t i3) {
        const float * px = reinterpret_cast<const float *>(row_ptr(x, i1, i2, i3));
        int64_t best = 0;
        for (int64_t i = 1; i < x.ne[0]; ++i) {
            if (px[i] > px[best] || (std::isnan(px[best]) && !std::isnan(px[i]))) best = i;
        }
        out[r] = int32_t(best);
    });
}

}  // namespace

void register_elementwise(KernelTable & t) {
    const Type F32 = Type::F32;
    t.add(Op::Add, F32, F32, F32, k_add);
    t.add(Op::Mul, F32, F32, F32, k_mul);
    t.add(Op::Scale, F32, F32, kNone, k_scale);
    t.add(Op::Silu, F32, F32, kNone, k_silu);
    t.add(Op::Gelu, F32, F32, kNone, k_gelu);
    t.add(Op::SoftCap, F32, F32, kNone, k_soft_cap);
    t.add(Op::Glu, F32, F32, F32, k_glu);
    t.add(Op::SoftMax, F32, F32, core::kI32, k_soft_max);
    t.add(Op::Argmax, core::kI32, F32, kNone, k_argmax);
}

}  // namespace quanta::backends::cpu
