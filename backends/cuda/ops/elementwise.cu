// backends/cuda/ops/elementwise.cu — add, mul (ggml broadcasting), glu, scale, silu, gelu,
// soft_cap, masked soft_max and argmax.
//
// Binary and unary ops are one grid-stride loop over the destination's elements: element index ->
// (i0, i1, i2, i3) -> byte offsets through each tensor's own strides, the second source indexed
// modulo its extents (broadcast). Memory-bound; simple path (no vector loads), one thread per
// element. soft_max and argmax give one block to each row and reduce in shared memory. The maths
// follows backends/cpu/kernels_elementwise.cpp (expf, tanhf, erff: the accurate device functions,
// not the __ intrinsics), so results match the CPU to float rounding.
#include "backends/cuda/ops/common.cuh"

namespace quanta::backends::cuda {

namespace {

using core::Op;

struct AddOp {
    __device__ float operator()(float a, float b) const { return a + b; }
};
struct MulOp {
    __device__ float operator()(float a, float b) const { return a * b; }
};

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }
// ref: transformers activations, gelu_pytorch_tanh and GELUActivation (erf).
__device__ __forceinline__ float gelu_tanh(float x) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f)); }

struct GluSiluOp {
    __device__ float operator()(float g, float u) const { return silu(g) * u; }
};
struct GluGeluTanhOp {
    __device__ float operator()(float g, float u) const { return gelu_tanh(g) * u; }
};
struct GluGeluErfOp {
    __device__ float operator()(float g, float u) const { return gelu_erf(g) * u; }
};
struct ScaleOp {
    float s;
    __device__ float operator()(float x) const { return x * s; }
};
struct SiluOp {
    __device__ float operator()(float x) const { return silu(x); }
};
struct GeluTanhOp {
    __device__ float operator()(float x) const { return gelu_tanh(x); }
};
struct GeluErfOp {
    __device__ float operator()(float x) const { return gelu_erf(x); }
};
struct SoftCapOp {
    float c, inv;
    __device__ float operator()(float x) const { return c * tanhf(x * inv); }
};

__device__ __forceinline__ void split_index(int64_t idx, const TDesc & t, int64_t & i0, int64_t & i1, int64_t & i2,
                                            int64_t & i3) {
    i0 = idx % t.ne[0];
    int64_t r = idx / t.ne[0];
    i1 = r % t.ne[1];
    r /= t.ne[1];
    i2 = r % t.ne[2];
    i3 = r / t.ne[2];
}

template <typename F>
__global__ void k_binary(TDesc a, TDesc b, TDesc d, int64_t n, F f) {
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t i0, i1, i2, i3;
        split_index(idx, d, i0, i1, i2, i3);
        const float x = *reinterpret_cast<const float *>(a.p + i0 * a.nb[0] + i1 * a.nb[1] + i2 * a.nb[2] + i3 * a.nb[3]);
        const float y = *reinterpret_cast<const float *>(b.p + (i0 % b.ne[0]) * b.nb[0] + (i1 % b.ne[1]) * b.nb[1] +
                                                          (i2 % b.ne[2]) * b.nb[2] + (i3 % b.ne[3]) * b.nb[3]);
        *reinterpret_cast<float *>(d.p + i0 * d.nb[0] + i1 * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]) = f(x, y);
    }
}

template <typename F>
__global__ void k_unary(TDesc x, TDesc d, int64_t n, F f) {
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < n; idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t i0, i1, i2, i3;
        split_index(idx, d, i0, i1, i2, i3);
        const float v = *reinterpret_cast<const float *>(x.p + i0 * x.nb[0] + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3]);
        *reinterpret_cast<float *>(d.p + i0 * d.nb[0] + i1 * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]) = f(v);
    }
}

constexpr int kThreads = 256;

template <typename F>
void launch_binary(const BoundNode & n, const LaunchCtx & ctx, F f) {
    const int64_t count = n.dst.nelements();
    k_binary<<<grid_for(count, kThreads), kThreads, 0, ctx.stream>>>(tdesc(n.src[0]), tdesc(n.src[1]), tdesc(n.dst), count, f);
}

template <typename F>
void launch_unary(const BoundNode & n, const LaunchCtx & ctx, F f) {
    const int64_t count = n.dst.nelements();
    k_unary<<<grid_for(count, kThreads), kThreads, 0, ctx.stream>>>(tdesc(n.src[0]), tdesc(n.dst), count, f);
}

void l_add(const BoundNode & n, const LaunchCtx & ctx) { launch_binary(n, ctx, AddOp{}); }
void l_mul(const BoundNode & n, const LaunchCtx & ctx) { launch_binary(n, ctx, MulOp{}); }

void l_glu(const BoundNode & n, const LaunchCtx & ctx) {
    const core::Activation act = n.node->params<core::GluParams>().act;
    if (act == core::Activation::Silu) launch_binary(n, ctx, GluSiluOp{});
    else if (act == core::Activation::GeluTanh) launch_binary(n, ctx, GluGeluTanhOp{});
    else launch_binary(n, ctx, GluGeluErfOp{});
}

void l_scale(const BoundNode & n, const LaunchCtx & ctx) { launch_unary(n, ctx, ScaleOp{n.node->params<core::ScaleParams>().s}); }
void l_silu(const BoundNode & n, const LaunchCtx & ctx) { launch_unary(n, ctx, SiluOp{}); }

void l_gelu(const BoundNode & n, const LaunchCtx & ctx) {
    if (n.node->params<core::GeluParams>().erf) launch_unary(n, ctx, GeluErfOp{});
    else launch_unary(n, ctx, GeluTanhOp{});
}

void l_soft_cap(const BoundNode & n, const LaunchCtx & ctx) {
    const float c = n.node->params<core::SoftCapParams>().cap;
    launch_unary(n, ctx, SoftCapOp{c, 1.0f / c});
}

// x [n_kv, n_q, n_head, ...]: one block per row (i1 = query); masked keys get 0, a row with no
// visible key is all 0 (as the CPU).
__global__ void k_soft_max(TDesc x, TDesc d, const int32_t * pos, const int32_t * kpos, bool causal, int64_t window) {
    __shared__ float red[32];
    const int64_t r = blockIdx.x;
    const int64_t i1 = r % d.ne[1], i2 = (r / d.ne[1]) % d.ne[2], i3 = r / (d.ne[1] * d.ne[2]);
    const float * px = reinterpret_cast<const float *>(x.p + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3]);
    float * pd = reinterpret_cast<float *>(d.p + i1 * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]);
    const int64_t n_kv = d.ne[0], pq = pos[i1];
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < n_kv; j += blockDim.x) {
        if (key_visible(j, pq, kpos, causal, window)) mx = fmaxf(mx, px[j]);
    }
    mx = block_max(mx, red);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < n_kv; j += blockDim.x) {
        const float e = key_visible(j, pq, kpos, causal, window) ? expf(px[j] - mx) : 0.0f;
        pd[j] = e;
        sum += e;
    }
    sum = block_sum(sum, red);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int64_t j = threadIdx.x; j < n_kv; j += blockDim.x) pd[j] *= inv;
}

void l_soft_max(const BoundNode & n, const LaunchCtx & ctx) {
    const core::SoftMaxParams & p = n.node->params<core::SoftMaxParams>();
    const int64_t rows = n.dst.nrows();
    k_soft_max<<<unsigned(rows), kThreads, 0, ctx.stream>>>(tdesc(n.src[0]), tdesc(n.dst),
                                                           reinterpret_cast<const int32_t *>(dev_ptr(n.src[1])),
                                                           kpos_ptr(n, 2), p.causal, p.window);
}

// The first maximum among non-NaN values (index 0 when all are NaN), as the CPU's sequential scan.
__device__ __forceinline__ bool better(float v, int64_t i, float bv, int64_t bi) {
    if (isnan(v)) return false;
    if (isnan(bv)) return true;
    return v > bv || (v == bv && i < bi);
}

__global__ void k_argmax(TDesc x, int32_t * out) {
    __shared__ float sv[256];
    __shared__ int64_t si[256];
    const int64_t r = blockIdx.x;
    const int64_t i1 = r % x.ne[1], i2 = (r / x.ne[1]) % x.ne[2], i3 = r / (x.ne[1] * x.ne[2]);
    const float * px = reinterpret_cast<const float *>(x.p + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3]);
    float bv = NAN;
    int64_t bi = 0;
    for (int64_t i = threadIdx.x; i < x.ne[0]; i += blockDim.x) {
        if (better(px[i], i, bv, bi)) {
            bv = px[i];
            bi = i;
        }
    }
    sv[threadIdx.x] = bv;
    si[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s && better(sv[threadIdx.x + s], si[threadIdx.x + s], sv[threadIdx.x], si[threadIdx.x])) {
            sv[threadIdx.x] = sv[threadIdx.x + s];
            si[threadIdx.x] = si[threadIdx.x + s];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) out[r] = int32_t(isnan(sv[0]) ? 0 : si[0]);
}

void l_argmax(const BoundNode & n, const LaunchCtx & ctx) {
    k_argmax<<<unsigned(n.src[0].nrows()), 256, 0, ctx.stream>>>(tdesc(n.src[0]), reinterpret_cast<int32_t *>(dev_ptr(n.dst)));
}

}  // namespace

void register_elementwise(KernelTable & t) {
    const Type F32 = Type::F32;
    t.add(Op::Add, F32, F32, F32, l_add);
    t.add(Op::Mul, F32, F32, F32, l_mul);
    t.add(Op::Glu, F32, F32, F32, l_glu);
    t.add(Op::Scale, F32, F32, kNone, l_scale);
    t.add(Op::Silu, F32, F32, kNone, l_silu);
    t.add(Op::Gelu, F32, F32, kNone, l_gelu);
    t.add(Op::SoftCap, F32, F32, kNone, l_soft_cap);
    t.add(Op::SoftMax, F32, F32, core::kI32, l_soft_max);
    t.add(Op::Argmax, core::kI32, F32, kNone, l_argmax);
}

}  // namespace quanta::backends::cuda
