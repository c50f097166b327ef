// backends/vulkan/ops_norm_rope.cpp — rms_norm (shaders/rms_norm.comp, one workgroup per row) and
// rope (shaders/rope.comp, one invocation per pair). rope's inverse frequencies are computed here
// in double, exactly as the CPU kernel computes them, and handed to the shader split into three
// floats (12 + 12 significant bits + the rest) through the run's constants buffer.
#include <cmath>
#include <vector>

#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

namespace {

using core::Op;

constexpr uint32_t kRowLocal = 128;
constexpr uint32_t kLocal = 256;

uint32_t el(int64_t bytes) { return uint32_t(bytes / 4); }

struct RmsPush {
    uint32_t n, ne1, ne2, n_rows;
    uint32_t x_first, x_nb1, x_nb2, x_nb3;
    uint32_t w_first, d_first;
    float eps;
};

Status k_rms_norm(const BoundNode & node, Recorder & rec) {
    const float eps = node.node->params<core::RmsNormParams>().eps;
    return split_rows(node, rec.max_range(), [&](const BoundNode & n) -> Status {
        const BoundTensor & x = n.src[0];
        auto vx = rec.read(x);
        auto vw = rec.read(n.src[1]);
        auto vd = rec.write(n.dst);
        for (const auto * v : {&vx, &vw, &vd}) {
            if (!v->ok()) return Status::error("rms_norm: " + v->status().message());
        }
        RmsPush p{};
        p.n = uint32_t(x.ne[0]);
        p.ne1 = uint32_t(x.ne[1]);
        p.ne2 = uint32_t(x.ne[2]);
        p.n_rows = uint32_t(x.nrows());
        p.x_first = vx->first;
        p.x_nb1 = el(x.nb[1]);
        p.x_nb2 = el(x.nb[2]);
        p.x_nb3 = el(x.nb[3]);
        p.w_first = vw->first;
        p.d_first = vd->first;
        p.eps = eps;
        auto pipe = rec.pipeline("rms_norm", 3, sizeof p, {kRowLocal});
        if (!pipe.ok()) return pipe.status();
        uint32_t gx, gy;
        rec.grid_for(p.n_rows, gx, gy);
        return rec.dispatch(**pipe, {*vx, *vw, *vd}, &p, gx, gy);
    });
}

// Same as backends/cpu/kernels_norm_rope.cpp rope_freqs (ref: transformers modeling_rope_utils).
std::vector<double> rope_freqs(const core::RopeParams & p) {
    const int64_t half = p.n_rot / 2;
    std::vector<double> inv_freq(size_t(half), 0.0);
    for (int64_t i = 0; i < half; ++i) {
        double f = std::pow(double(p.base), -2.0 * double(i) / double(p.n_rot));
        if (p.scaling == core::RopeScaling::Linear) {
            f /= p.factor;
        } else if (p.scaling == core::RopeScaling::Llama3) {
            const double low_wavelen = p.original_context / p.low_freq_factor;
            const double high_wavelen = p.original_context / p.high_freq_factor;
            const double wavelen = 2.0 * M_PI / f;
            if (wavelen > low_wavelen) {
                f /= p.factor;
            } else if (wavelen >= high_wavelen) {
                const double smooth =
                    (p.original_context / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
                f = (1.0 - smooth) * f / p.factor + smooth * f;
            }
        }
        inv_freq[size_t(i)] = f;
    }
    return inv_freq;
}

struct RopePush {
    uint32_t hd, n_head, n_tokens, n_b3;
    uint32_t x_first, x_nb1, x_nb2, x_nb3;
    uint32_t pos_first, theta_first, d_first, n_rot;
    uint32_t neox;
};

Status k_rope(const BoundNode & n, Recorder & rec) {
    const core::RopeParams & prm = n.node->params<core::RopeParams>();
    const BoundTensor & x = n.src[0];
    std::vector<double> f = rope_freqs(prm);
    std::vector<float> theta(4 * f.size() + 4, 0.0f);  // (t1, t2, t3, 0) per pair; +4: never empty
    auto top12 = [](double v) {  // v rounded down to 12 significant bits
        int e = 0;
        const double m = std::frexp(v, &e);
        return std::ldexp(std::floor(std::ldexp(m, 12)), e - 12);
    };
    for (size_t i = 0; i < f.size(); ++i) {
        const double t1 = top12(f[i]);
        const double t2 = top12(f[i] - t1);
        theta[4 * i] = float(t1);
        theta[4 * i + 1] = float(t2);
        theta[4 * i + 2] = float(f[i] - t1 - t2);
    }
    auto vx = rec.read(x);
    auto vpos = rec.read(n.src[1]);
    auto vt = rec.constants(theta.data(), theta.size() * sizeof(float));
    auto vd = rec.write(n.dst);
    for (const auto * v : {&vx, &vpos, &vt, &vd}) {
        if (!v->ok()) return Status::error("rope: " + v->status().message());
    }
    RopePush p{};
    p.hd = uint32_t(x.ne[0]);
    p.n_head = uint32_t(x.ne[1]);
    p.n_tokens = uint32_t(x.ne[2]);
    p.n_b3 = uint32_t(x.ne[3]);
    p.x_first = vx->first;
    p.x_nb1 = el(x.nb[1]);
    p.x_nb2 = el(x.nb[2]);
    p.x_nb3 = el(x.nb[3]);
    p.pos_first = vpos->first;
    p.theta_first = vt->first;
    p.d_first = vd->first;
    p.n_rot = uint32_t(prm.n_rot);
    p.neox = prm.neox ? 1 : 0;
    auto pipe = rec.pipeline("rope", 4, sizeof p, {kLocal});
    if (!pipe.ok()) return pipe.status();
    const uint64_t work = uint64_t(prm.n_rot / 2 + (x.ne[0] - prm.n_rot)) * uint64_t(x.nrows());
    uint32_t gx, gy;
    rec.grid_for((work + kLocal - 1) / kLocal, gx, gy);
    return rec.dispatch(**pipe, {*vx, *vpos, *vt, *vd}, &p, gx, gy);
}

}  // namespace

void register_norm_rope(KernelTable & t) {
    t.add(Op::RmsNorm, Type::F32, Type::F32, Type::F32, k_rms_norm);
    t.add(Op::Rope, Type::F32, Type::F32, core::kI32, k_rope);
}

}  // namespace quanta::backends::vulkan
