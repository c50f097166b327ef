// backends/cuda/ops/norm_rope.cu — rms_norm fused with its weight, and rotary position embedding.
//
// rms_norm: one block per row; the sum of squares is a block reduction, then y = x * s * w with
// s = 1 / sqrt(mean + eps), as backends/cpu/kernels_norm_rope.cpp (same order of the product).
// rope: one thread per rotated pair (i, row). The inverse frequency and the angle are computed in
// double, as the CPU does (angles reach ~1e5 rad at long contexts, where float would be off by
// ~1e-2 rad); double is slow on consumer GPUs but rope is a few thousand pairs per token.
// All RopeParams variants: GPT-J pairs (2i, 2i+1) or NeoX pairs (i, i + n_rot/2), partial
// rotation (dims >= n_rot pass through), linear and llama3 frequency scaling.
#include "backends/cuda/ops/common.cuh"

namespace quanta::backends::cuda {

namespace {

using core::Op;

__global__ void k_rms_norm(TDesc x, const float * w, TDesc d, float eps) {
    __shared__ float red[32];
    const int64_t r = blockIdx.x;
    const int64_t i1 = r % d.ne[1], i2 = (r / d.ne[1]) % d.ne[2], i3 = r / (d.ne[1] * d.ne[2]);
    const float * px = reinterpret_cast<const float *>(x.p + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3]);
    float * pd = reinterpret_cast<float *>(d.p + i1 * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]);
    const int64_t n0 = d.ne[0];
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < n0; i += blockDim.x) ss += px[i] * px[i];
    ss = block_sum(ss, red);
    const float scale = 1.0f / sqrtf(ss / float(n0) + eps);
    for (int64_t i = threadIdx.x; i < n0; i += blockDim.x) pd[i] = px[i] * scale * w[i];
}

void l_rms_norm(const BoundNode & n, const LaunchCtx & ctx) {
    const float eps = n.node->params<core::RmsNormParams>().eps;
    k_rms_norm<<<unsigned(n.dst.nrows()), 256, 0, ctx.stream>>>(tdesc(n.src[0]), reinterpret_cast<const float *>(dev_ptr(n.src[1])),
                                                               tdesc(n.dst), eps);
}

// Inverse frequency theta_i after scaling. ref: transformers modeling_rope_utils (default, linear,
// _compute_llama3_parameters); mirrors backends/cpu rope_freqs.
__device__ double rope_inv_freq(const core::RopeParams & p, int i) {
    double f = pow(double(p.base), -2.0 * double(i) / double(p.n_rot));
    if (p.scaling == core::RopeScaling::Linear) {
        f /= p.factor;
    } else if (p.scaling == core::RopeScaling::Llama3) {
        const double low_wavelen = p.original_context / p.low_freq_factor;
        const double high_wavelen = p.original_context / p.high_freq_factor;
        const double wavelen = 2.0 * 3.14159265358979323846 / f;
        if (wavelen > low_wavelen) {
            f /= p.factor;
        } else if (wavelen >= high_wavelen) {
            const double smooth = (p.original_context / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
            f = (1.0 - smooth) * f / p.factor + smooth * f;
        }
    }
    return f;
}

// x, d [head_dim, n_head, n_tokens, ...]; thread item = (pair or pass-through slot, row). Each row
// has hd - n_rot/2 items: n_rot/2 rotated pairs, then hd - n_rot copied dims.
__global__ void k_rope(TDesc x, TDesc d, const int32_t * pos, core::RopeParams p) {
    const int64_t hd = d.ne[0], half = p.n_rot / 2, per_row = hd - half;
    const int64_t count = per_row * d.ne[1] * d.ne[2] * d.ne[3];
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < count; idx += int64_t(gridDim.x) * blockDim.x) {
        const int64_t it = idx % per_row, r = idx / per_row;
        const int64_t i1 = r % d.ne[1], i2 = (r / d.ne[1]) % d.ne[2], i3 = r / (d.ne[1] * d.ne[2]);
        const float * px = reinterpret_cast<const float *>(x.p + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3]);
        float * pd = reinterpret_cast<float *>(d.p + i1 * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]);
        if (it < half) {
            const int i = int(it);
            const double a = double(pos[i2]) * rope_inv_freq(p, i);
            const float cs = float(cos(a)), sn = float(sin(a));
            const int64_t ia = p.neox ? i : 2 * i;
            const int64_t ib = p.neox ? i + half : 2 * i + 1;
            const float x0 = px[ia], x1 = px[ib];
            pd[ia] = x0 * cs - x1 * sn;
            pd[ib] = x0 * sn + x1 * cs;
        } else {
            const int64_t i = p.n_rot + (it - half);
            pd[i] = px[i];
        }
    }
}

void l_rope(const BoundNode & n, const LaunchCtx & ctx) {
    const core::RopeParams & p = n.node->params<core::RopeParams>();
    const int64_t count = (n.dst.ne[0] - p.n_rot / 2) * n.dst.nrows();
    k_rope<<<grid_for(count, 256), 256, 0, ctx.stream>>>(tdesc(n.src[0]), tdesc(n.dst),
                                                         reinterpret_cast<const int32_t *>(dev_ptr(n.src[1])), p);
}

}  // namespace

void register_norm_rope(KernelTable & t) {
    t.add(Op::RmsNorm, Type::F32, Type::F32, Type::F32, l_rms_norm);
    t.add(Op::Rope, Type::F32, Type::F32, core::kI32, l_rope);
}

}  // namespace quanta::backends::cuda
