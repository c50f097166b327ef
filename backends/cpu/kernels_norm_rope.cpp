// backends/cpu/kernels_norm_rope.cpp — rms_norm fused with its weight (y = x / rms(x) * w; Gemma's
// 1 + w is folded into w by the loader) and rotary position embedding.
//
// rope rotates pairs of a head's first n_rot dims by angle pos * theta_i, theta_i =
// base^(-2i / n_rot), with optional frequency scaling (linear: theta / factor; llama3: the
// wavelength-dependent blend of transformers' _compute_llama3_parameters). Pairs are (2i, 2i+1)
// normally and (i, i + n_rot/2) in NeoX style. Work is split over (token, head) rows; a thread
// recomputes the per-token cos/sin table only when its token changes.
#include <cmath>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/vec.h"

namespace quanta::backends::cpu {

namespace {

using core::Op;

void k_rms_norm(const BoundNode & n, const KernelCtx & ctx) {
    const float eps = n.node->params<core::RmsNormParams>().eps;
    const BoundTensor & x = n.src[0];
    const float * w = n.src[1].host<float>();
    const BoundTensor & d = n.dst;
    const int64_t n0 = d.ne[0];
    for_each_row(d, ctx, [&](int64_t, int64_t i1, int64_t i2, int64_t i3) {
        const float * px = reinterpret_cast<const float *>(row_ptr(x, i1, i2, i3));
        float * pd = reinterpret_cast<float *>(row_ptr(d, i1, i2, i3));
        const float ss = vec().dot_f32(px, px, n0);
        const float scale = 1.0f / std::sqrt(ss / float(n0) + eps);
        for (int64_t i = 0; i < n0; ++i) pd[i] = px[i] * scale * w[i];
    });
}

// Inverse frequencies theta_i for i in [0, n_rot/2), after scaling; double, because angles reach
// pos * theta ~ 1e5 rad at long contexts, where a float theta would be off by ~1e-2 rad.
void rope_freqs(const core::RopeParams & p, std::vector<double> & inv_freq) {
    const int64_t half = p.n_rot / 2;
    inv_freq.resize(size_t(half));
    for (int64_t i = 0; i < half; ++i) {
        double f = std::pow(double(p.base), -2.0 * double(i) / double(p.n_rot));
        if (p.scaling == core::RopeScaling::Linear) {
            f /= p.factor;
        } else if (p.scaling == core::RopeScaling::Llama3) {
            // ref: transformers modeling_rope_utils._compute_llama3_parameters
            const double low_wavelen = p.original_context / p.low_freq_factor;
            const double high_wavelen = p.original_context / p.high_freq_factor;
            const double wavelen = 2.0 * M_PI / f;
            if (wavelen > low_wavelen) {
                f /= p.factor;
            } else if (wavelen >= high_wavelen) {
                const double smooth = (p.original_context / wavelen - p.low_freq_factor) /
                                      (p.high_freq_factor - p.low_freq_factor);
                f = (1.0 - smooth) * f / p.factor + smooth * f;
            }
        }
        inv_freq[size_t(i)] = f;
    }
}

void k_rope(const BoundNode & n, const KernelCtx & ctx) {
    const core::RopeParams & p = n.node->params<core::RopeParams>();
    const BoundTensor & x = n.src[0];
    const int32_t * pos = n.src[1].host<int32_t>();
    const BoundTensor & d = n.dst;
    const int64_t hd = d.ne[0], half = p.n_rot / 2;
    std::vector<double> inv_freq;
    std::vector<float> cs(static_cast<size_t>(half));
    std::vector<float> sn(static_cast<size_t>(half));
    rope_freqs(p, inv_freq);
    int64_t cached_token = -1;
    for_each_row(d, ctx, [&](int64_t, int64_t i1, int64_t i2, int64_t i3) {  // i1 head, i2 token
        if (i2 != cached_token) {
            for (int64_t i = 0; i < half; ++i) {
                const double a = double(pos[i2]) * inv_freq[size_t(i)];
                cs[size_t(i)] = float(std::cos(a));
                sn[size_t(i)] = float(std::sin(a));
            }
            cached_token = i2;
        }
        const float * px = reinterpret_cast<const float *>(row_ptr(x, i1, i2, i3));
        float * pd = reinterpret_cast<float *>(row_ptr(d, i1, i2, i3));
        for (int64_t i = 0; i < half; ++i) {
            const int64_t a = p.neox ? i : 2 * i;
            const int64_t b = p.neox ? i + half : 2 * i + 1;
            const float x0 = px[a], x1 = px[b];
            pd[a] = x0 * cs[size_t(i)] - x1 * sn[size_t(i)];
            pd[b] = x0 * sn[size_t(i)] + x1 * cs[size_t(i)];
        }
        for (int64_t i = p.n_rot; i < hd; ++i) pd[i] = px[i];
    });
}

}  // namespace

void register_norm_rope(KernelTable & t) {
    t.add(Op::RmsNorm, Type::F32, Type::F32, Type::F32, k_rms_norm);
    t.add(Op::Rope, Type::F32, Type::F32, core::kI32, k_rope);
}

}  // namespace quanta::backends::cpu
