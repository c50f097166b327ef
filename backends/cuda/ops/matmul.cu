// backends/cuda/ops/matmul.cu — mul_mat (weights of any listed type x F32/F16 activations) and
// get_rows (embedding lookup from a weight table).
//
// mul_mat, the simple path, one kernel for every batch size. One warp per (weight row n, group of
// up to kCols = 8 activation columns, batch): lane l walks the 32-element chunks l, l + 32, ... of
// the weight row, decodes a chunk into 32 registers from its block (common.cuh decoders, which use
// quant/'s per-block helpers), and dots it with the same 32 activations of each of the group's
// columns; a warp reduction finishes each column. The weight row is therefore read once per 8
// columns: for decode (1..8 tokens) this reads every weight byte once, which is what bounds decode;
// for prompts (M > 8) the tensor-core kernel of mma.cuh takes over (64 columns per weight decode).
// Activations are f32 throughout (the CPU quantizes them to the weight's dot_with type instead, so
// the two backends differ by that rounding; the op tests bound it). F16 activations are widened
// once into scratch. The rotated types (QT4, QT3, QT2: rotated(), one rule from quant/'s traits)
// never un-rotate their weights: w . x = (R w) . (R x), so the activation rows are rotated once
// into scratch (256-point Hadamard butterflies in shared memory, the reference's operation order)
// and dotted with the decoders' rotated-domain values.
// Decode (1..8 columns) for QT4, QT3, QT2, Q4_K, Q4_0 and Q8_0 goes to matvec.cuh instead
// (128-bit / 16-bit loads of contiguous pieces, decoded in registers) when its alignment
// preconditions hold; QUANTA_CUDA_MATVEC=simple keeps every type on the simple kernel (to A/B the
// two on a GPU).
// Float weights (F32, F16, BF16) use the same warp layout with lanes over elements (any K).
// GQA / batch broadcasting: activation batch (i2, i3) reads weight batch (i2 / r2, i3 / r3).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "backends/cuda/ops/common.cuh"
#include "backends/cuda/ops/matvec.cuh"
#include "backends/cuda/ops/mma.cuh"
#include "backends/cuda/ops/repack.h"

namespace quanta::backends::cuda {

namespace {

using core::Op;

constexpr int kWarps = 4;  // weight rows per block
constexpr int kCols = kDecodeColumns;  // activation columns per warp (repack.h)

struct MatArgs {
    int64_t K, N, M, B2, B3, r2, r3;
    int64_t x_nb1, x_nb2, x_nb3;  // byte strides of the f32 activations actually read
};

template <typename D>
__global__ void k_matvec_blocks(TDesc w, const char * x, TDesc d, MatArgs a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t n = int64_t(blockIdx.x) * kWarps + warp;
    if (n >= a.N) return;  // whole warp leaves together: no block-level sync below
    const int64_t m0 = int64_t(blockIdx.y) * kCols;
    const int mc = int(a.M - m0 < kCols ? a.M - m0 : kCols);
    const int64_t i2 = blockIdx.z % a.B2, i3 = blockIdx.z / a.B2;
    const char * wrow = w.p + n * w.nb[1] + (i2 / a.r2) * w.nb[2] + (i3 / a.r3) * w.nb[3];
    const char * xb = x + m0 * a.x_nb1 + i2 * a.x_nb2 + i3 * a.x_nb3;
    constexpr int kChunks = D::kQK / 32;
    float acc[kCols];
    for (int m = 0; m < kCols; ++m) acc[m] = 0.0f;
    const int64_t n_chunks = a.K / 32;
    for (int64_t c = lane; c < n_chunks; c += 32) {
        float wv[32];
        D::chunk(wrow + (c / kChunks) * D::kBytes, int(c % kChunks), wv);
        for (int m = 0; m < kCols; ++m) {
            if (m < mc) {
                const float * xr = reinterpret_cast<const float *>(xb + m * a.x_nb1) + c * 32;
                float s = 0.0f;
                for (int i = 0; i < 32; ++i) s += wv[i] * xr[i];
                acc[m] += s;
            }
        }
    }
    for (int m = 0; m < kCols; ++m) {
        const float s = warp_sum(acc[m]);
        if (lane == 0 && m < mc) {
            *reinterpret_cast<float *>(d.p + n * d.nb[0] + (m0 + m) * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]) = s;
        }
    }
}

template <typename E>
__global__ void k_matvec_float(TDesc w, const char * x, TDesc d, MatArgs a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t n = int64_t(blockIdx.x) * kWarps + warp;
    if (n >= a.N) return;
    const int64_t m0 = int64_t(blockIdx.y) * kCols;
    const int mc = int(a.M - m0 < kCols ? a.M - m0 : kCols);
    const int64_t i2 = blockIdx.z % a.B2, i3 = blockIdx.z / a.B2;
    const char * wrow = w.p + n * w.nb[1] + (i2 / a.r2) * w.nb[2] + (i3 / a.r3) * w.nb[3];
    const char * xb = x + m0 * a.x_nb1 + i2 * a.x_nb2 + i3 * a.x_nb3;
    float acc[kCols];
    for (int m = 0; m < kCols; ++m) acc[m] = 0.0f;
    for (int64_t k = lane; k < a.K; k += 32) {
        const float wk = E::load(wrow + k * w.nb[0]);
        for (int m = 0; m < kCols; ++m) {
            if (m < mc) acc[m] += wk * reinterpret_cast<const float *>(xb + m * a.x_nb1)[k];
        }
    }
    for (int m = 0; m < kCols; ++m) {
        const float s = warp_sum(acc[m]);
        if (lane == 0 && m < mc) {
            *reinterpret_cast<float *>(d.p + n * d.nb[0] + (m0 + m) * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]) = s;
        }
    }
}

// Activations x [K, M, B2, B3] (F32 or F16, rows packed) -> packed f32 in scratch.
__global__ void k_x_to_f32(TDesc x, float * out, bool f16) {
    const int64_t K = x.ne[0], count = x.ne[0] * x.ne[1] * x.ne[2] * x.ne[3];
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < count; idx += int64_t(gridDim.x) * blockDim.x) {
        const int64_t k = idx % K, r = idx / K;
        const int64_t i1 = r % x.ne[1], i2 = (r / x.ne[1]) % x.ne[2], i3 = r / (x.ne[1] * x.ne[2]);
        const char * p = x.p + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3];
        out[idx] = f16 ? ElemF16::load(p + 2 * k) : ElemF32::load(p + 4 * k);
    }
}

// Rotated types: every 256 activations of a row -> R x (quant/qt4.cpp rotate_256: x *= S, butterflies,
// x *= 1/16), packed f32 in scratch. One block of 256 threads per 256-chunk.
__global__ void k_x_rotate(TDesc x, float * out, bool f16) {
    __shared__ float buf[256];
    const int64_t chunks_per_row = x.ne[0] / 256;
    const int64_t c = int64_t(blockIdx.x) % chunks_per_row, r = int64_t(blockIdx.x) / chunks_per_row;
    const int64_t i1 = r % x.ne[1], i2 = (r / x.ne[1]) % x.ne[2], i3 = r / (x.ne[1] * x.ne[2]);
    const char * p = x.p + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3];
    const int t = threadIdx.x;
    const int64_t k = c * 256 + t;
    const float v = f16 ? ElemF16::load(p + 2 * k) : ElemF32::load(p + 4 * k);
    buf[t] = v * qt4_sign(t);
    fwht_256_shared(buf);
    out[r * x.ne[0] + k] = buf[t] * 0.0625f;
}

// A weight type is stored rotated (R w, quant/qt4.h: QT4, QT3, QT2) iff its dot product pairs with
// Q8_KH, the rotated activations: quant/'s traits table is the one rule, for mul_mat's activation
// rotation here; add_block_type checks that a type's decoder agrees (decoders.h is_rotated_decoder).
bool rotated(Type t) { return !quant::traits(t).activation_only && quant::traits(t).dot_with == Type::Q8_KH; }

bool needs_rotation(const BoundNode & n) { return rotated(n.src[0].type); }
bool needs_scratch(const BoundNode & n) { return needs_rotation(n) || n.src[1].type == Type::F16; }

size_t f32_scratch(const BoundNode & n) { return needs_scratch(n) ? size_t(n.src[1].nelements()) * sizeof(float) : 0; }

// Scratch: the f32 activations (converted or rotated) first; for the repacked tensor-core kernel
// (repack_wanted) their bf16 copy after them, at a 256-byte boundary.
size_t bf16_offset(const BoundNode & n) { return (f32_scratch(n) + 255) & ~size_t(255); }

// Then, when kernel 1 splits K (rp_splits), the partial outputs, at a 256-byte boundary.
size_t partial_offset(const BoundNode & n) { return (bf16_offset(n) + size_t(n.src[1].nelements()) * 2 + 255) & ~size_t(255); }

size_t s_mul_mat(const BoundNode & n, int sm_count) {
    if (!repack_wanted(n)) return f32_scratch(n);
    const BoundTensor & x = n.src[1];
    const int splits = rp_splits(x.ne[1], n.src[0].ne[1], x.ne[0], x.ne[2] * x.ne[3], sm_count);
    return partial_offset(n) + (splits > 1 ? size_t(splits) * size_t(n.dst.nelements()) * sizeof(float) : 0);
}

// Prepares the f32 activations (scratch when converted or rotated) and the strides to read them.
const char * prepare_x(const BoundNode & n, const LaunchCtx & ctx, MatArgs & a) {
    const BoundTensor & x = n.src[1];
    if (!needs_scratch(n)) {
        a.x_nb1 = x.nb[1];
        a.x_nb2 = x.nb[2];
        a.x_nb3 = x.nb[3];
        return dev_ptr(x);
    }
    float * out = reinterpret_cast<float *>(ctx.scratch);
    const bool f16 = x.type == Type::F16;
    if (needs_rotation(n)) {
        k_x_rotate<<<unsigned(x.nrows() * (x.ne[0] / 256)), 256, 0, ctx.stream>>>(tdesc(x), out, f16);
    } else {
        k_x_to_f32<<<grid_for(x.nelements(), 256), 256, 0, ctx.stream>>>(tdesc(x), out, f16);
    }
    a.x_nb1 = x.ne[0] * 4;
    a.x_nb2 = a.x_nb1 * x.ne[1];
    a.x_nb3 = a.x_nb2 * x.ne[2];
    return reinterpret_cast<const char *>(out);
}

MatArgs mat_args(const BoundNode & n) {
    const BoundTensor & w = n.src[0];
    const BoundTensor & x = n.src[1];
    MatArgs a{};
    a.K = x.ne[0];
    a.N = w.ne[1];
    a.M = x.ne[1];
    a.B2 = x.ne[2];
    a.B3 = x.ne[3];
    a.r2 = x.ne[2] / w.ne[2];
    a.r3 = x.ne[3] / w.ne[3];
    return a;
}

dim3 mat_grid(const MatArgs & a) {
    return dim3(unsigned((a.N + kWarps - 1) / kWarps), unsigned((a.M + kCols - 1) / kCols), unsigned(a.B2 * a.B3));
}

// Prompts (more than kCols columns) go to the tensor-core kernel (mma.cuh) unless QUANTA_CUDA_MMA=0
// asks for the simple path everywhere (to compare the two on a GPU).
bool use_mma(const MatArgs & a) {
    return mma_enabled() && a.M > kCols && (a.M + kMmaTile - 1) / kMmaTile <= 65535;
}

// QUANTA_CUDA_MATVEC (decoders.h parse_matvec_kernel). An invalid value stops the program at the
// first decode mul_mat with a message naming it.
bool use_vec() {
    static const bool enabled = [] {
        const char * v = std::getenv("QUANTA_CUDA_MATVEC");
        const MatvecKernel k = parse_matvec_kernel(v);
        if (k != MatvecKernel::Invalid) return k == MatvecKernel::Vec;
        std::fprintf(stderr, "quanta: QUANTA_CUDA_MATVEC=%s is not a mat-vec kernel: use 'vec' (the default) or 'simple'\n", v);
        std::exit(2);
    }();
    return enabled;
}

// Decoder D's mat-vec unit (decoders.h), or void where the type has none.
template <typename D> struct VecUnit { using type = void; };
template <> struct VecUnit<DecQT4> { using type = UnitQT4; };
template <> struct VecUnit<DecQT3> { using type = UnitQT3; };
template <> struct VecUnit<DecQT2> { using type = UnitQT2; };
template <> struct VecUnit<DecQ4_K> { using type = UnitQ4_K; };
template <> struct VecUnit<DecQ4_0> { using type = UnitQ4_0; };
template <> struct VecUnit<DecQ8_0> { using type = UnitQ8_0; };

// Launches matvec.cuh's kernel when D has a unit and the preconditions hold; false otherwise.
template <typename D>
bool launch_vec(const BoundNode & n, const LaunchCtx & ctx, const char * x, const MatArgs & a) {
    using U = typename VecUnit<D>::type;
    if constexpr (std::is_void_v<U>) {
        return false;
    } else {
        if (!use_vec()) return false;
        const VecArgs v{a.K, a.N, a.M, a.B2, a.r2, a.r3, a.x_nb1, a.x_nb2, a.x_nb3};
        const TDesc w = tdesc(n.src[0]);
        if (!matvec_fits<U>(w, x, v)) return false;
        launch_matvec<U>(w, x, tdesc(n.dst), v, a.B2 * a.B3, ctx.stream);
        return true;
    }
}

// Decoder D's repacked layout (mma_layout.h), or void where the type has none (repack.cu's
// repack_fns lists the same four types).
template <typename D> struct RpLayout { using type = void; };
template <> struct RpLayout<DecQT4> { using type = RpQT4; };
template <> struct RpLayout<DecQ4_K> { using type = RpQ4_K; };
template <> struct RpLayout<DecQ4_0> { using type = RpQ4_0; };
template <> struct RpLayout<DecQ8_0> { using type = RpQ8_0; };

// The pipelined tensor-core kernel on the repacked weights (mma.cuh kernel 1) when the node wants
// it and the backend made the copy (run() does, before launching); false otherwise.
template <typename D>
bool launch_mma_rp(const BoundNode & n, const LaunchCtx & ctx, const char * x, const MatArgs & a) {
    using R = typename RpLayout<D>::type;
    if constexpr (std::is_void_v<R>) {
        return false;
    } else {
        if (!ctx.repacks || !repack_wanted(n)) return false;
        const char * rp = ctx.repacks->find(n.src[0]);
        if (!rp) return false;
        auto * xbf = reinterpret_cast<__nv_bfloat16 *>(ctx.scratch + bf16_offset(n));
        auto * partial = reinterpret_cast<float *>(ctx.scratch + partial_offset(n));
        launch_mul_mat_mma_rp<R>(rp, x, a.x_nb1, a.x_nb2, a.x_nb3, xbf, partial, tdesc(n.src[0]), tdesc(n.dst), a.B2, a.B3,
                                 ctx.sm_count, ctx.stream);
        return true;
    }
}

template <typename D>
void l_mul_mat_blocks(const BoundNode & n, const LaunchCtx & ctx) {
    MatArgs a = mat_args(n);
    const char * x = prepare_x(n, ctx, a);
    if (!use_mma(a) && launch_vec<D>(n, ctx, x, a)) return;
    if (use_mma(a)) {
        if (launch_mma_rp<D>(n, ctx, x, a)) return;
        const MmaArgs m{a.K, a.N, a.M, a.B2, a.r2, a.r3, a.x_nb1, a.x_nb2, a.x_nb3};
        const dim3 grid(unsigned((a.N + kMmaTile - 1) / kMmaTile), unsigned((a.M + kMmaTile - 1) / kMmaTile),
                        unsigned(a.B2 * a.B3));
        k_mul_mat_mma<D><<<grid, 128, 0, ctx.stream>>>(tdesc(n.src[0]), x, tdesc(n.dst), m);
        return;
    }
    k_matvec_blocks<D><<<mat_grid(a), 32 * kWarps, 0, ctx.stream>>>(tdesc(n.src[0]), x, tdesc(n.dst), a);
}

template <typename E>
void l_mul_mat_float(const BoundNode & n, const LaunchCtx & ctx) {
    MatArgs a = mat_args(n);
    const char * x = prepare_x(n, ctx, a);
    k_matvec_float<E><<<mat_grid(a), 32 * kWarps, 0, ctx.stream>>>(tdesc(n.src[0]), x, tdesc(n.dst), a);
}

// ---- get_rows: table [n, n_rows], ids I32 [k] -> F32 [n, k]; an id out of range gives a row of
// zeros and records kErrGetRowsId (the CPU does the same and fails the run). -----------------------

__device__ __forceinline__ bool row_id(const int32_t * ids, int64_t r, int64_t n_rows, int * error, int64_t & id) {
    id = ids[r];
    if (id >= 0 && id < n_rows) return true;
    if (threadIdx.x == 0) record_error(error, kErrGetRowsId);
    return false;
}

template <typename D>
__global__ void k_get_rows_blocks(TDesc table, const int32_t * ids, TDesc d, int * error) {
    const int64_t r = blockIdx.x;
    float * out = reinterpret_cast<float *>(d.p + r * d.nb[1]);
    int64_t id;
    const bool ok = row_id(ids, r, table.ne[1], error, id);
    const char * row = table.p + (ok ? id : 0) * table.nb[1];
    constexpr int kChunks = D::kQK / 32;
    for (int64_t c = threadIdx.x; c < d.ne[0] / 32; c += blockDim.x) {
        float v[32];
        if (ok) D::chunk(row + (c / kChunks) * D::kBytes, int(c % kChunks), v);
        for (int i = 0; i < 32; ++i) out[c * 32 + i] = ok ? v[i] : 0.0f;
    }
}

template <typename E>
__global__ void k_get_rows_float(TDesc table, const int32_t * ids, TDesc d, int * error) {
    const int64_t r = blockIdx.x;
    float * out = reinterpret_cast<float *>(d.p + r * d.nb[1]);
    int64_t id;
    const bool ok = row_id(ids, r, table.ne[1], error, id);
    const char * row = table.p + (ok ? id : 0) * table.nb[1];
    for (int64_t i = threadIdx.x; i < d.ne[0]; i += blockDim.x) out[i] = ok ? E::load(row + i * table.nb[0]) : 0.0f;
}

// Rows of a rotated type (QT4, QT3, QT2): each 256-element rotation block is decoded to its rotated
// values in shared memory (D::elem, one element per thread) and un-rotated there (quant/qt4.cpp
// unrotate_256: butterflies, then x *= S / 16), so the rows are the reference's dequantize_row.
// 256 threads.
template <typename D>
__global__ void k_get_rows_rotated(TDesc table, const int32_t * ids, TDesc d, int * error) {
    __shared__ float buf[256];
    const int64_t r = blockIdx.x;
    float * out = reinterpret_cast<float *>(d.p + r * d.nb[1]);
    int64_t id;
    const bool ok = row_id(ids, r, table.ne[1], error, id);
    const char * row = table.p + (ok ? id : 0) * table.nb[1];
    const int t = threadIdx.x;
    const float sign_scale = 0.0625f * qt4_sign(t);
    static_assert(D::kQK % 256 == 0);
    constexpr int kRot = D::kQK / 256;  // rotation blocks per quant block
    for (int64_t h = 0; h < d.ne[0] / 256; ++h) {
        if (ok) buf[t] = D::elem(row + (h / kRot) * D::kBytes, int(h % kRot) * 256 + t);
        fwht_256_shared(buf);  // syncs before and after; uniform across the block
        out[h * 256 + t] = ok ? buf[t] * sign_scale : 0.0f;
    }
}

template <typename D>
void l_get_rows_blocks(const BoundNode & n, const LaunchCtx & ctx) {
    k_get_rows_blocks<D><<<unsigned(n.dst.ne[1]), 128, 0, ctx.stream>>>(
        tdesc(n.src[0]), reinterpret_cast<const int32_t *>(dev_ptr(n.src[1])), tdesc(n.dst), ctx.error);
}

template <typename E>
void l_get_rows_float(const BoundNode & n, const LaunchCtx & ctx) {
    k_get_rows_float<E><<<unsigned(n.dst.ne[1]), 256, 0, ctx.stream>>>(
        tdesc(n.src[0]), reinterpret_cast<const int32_t *>(dev_ptr(n.src[1])), tdesc(n.dst), ctx.error);
}

template <typename D>
void l_get_rows_rotated(const BoundNode & n, const LaunchCtx & ctx) {
    k_get_rows_rotated<D><<<unsigned(n.dst.ne[1]), 256, 0, ctx.stream>>>(
        tdesc(n.src[0]), reinterpret_cast<const int32_t *>(dev_ptr(n.src[1])), tdesc(n.dst), ctx.error);
}

// Grid limits: y = column groups, z = batches.
bool f_mul_mat(const core::Node & node) {
    return (node.src[1].ne[1] + kCols - 1) / kCols <= 65535 && node.src[1].ne[2] * node.src[1].ne[3] <= 65535;
}

// A block type's mul_mat and get_rows entries; get_rows un-rotates for the rotated decoders. The
// decoder's kind must agree with the type's (rotated(), quant/'s traits): checked at registration.
template <typename D>
void add_block_type(KernelTable & t, Type type) {
    QUANTA_CHECK(rotated(type) == is_rotated_decoder<D>());
    KernelFn get_rows = l_get_rows_blocks<D>;
    if constexpr (is_rotated_decoder<D>()) get_rows = l_get_rows_rotated<D>;
    t.add(Op::MulMat, Type::F32, type, Type::F32, l_mul_mat_blocks<D>, s_mul_mat, f_mul_mat);
    t.add(Op::MulMat, Type::F32, type, Type::F16, l_mul_mat_blocks<D>, s_mul_mat, f_mul_mat);
    t.add(Op::GetRows, Type::F32, type, core::kI32, get_rows);
}

template <typename E>
void add_float_type(KernelTable & t, Type type) {
    t.add(Op::MulMat, Type::F32, type, Type::F32, l_mul_mat_float<E>, s_mul_mat, f_mul_mat);
    t.add(Op::MulMat, Type::F32, type, Type::F16, l_mul_mat_float<E>, s_mul_mat, f_mul_mat);
    t.add(Op::GetRows, Type::F32, type, core::kI32, l_get_rows_float<E>);
}

}  // namespace

void register_matmul(KernelTable & t) {
    add_float_type<ElemF32>(t, Type::F32);
    add_float_type<ElemF16>(t, Type::F16);
    add_float_type<ElemBF16>(t, Type::BF16);
    add_block_type<DecQ8_0>(t, Type::Q8_0);
    add_block_type<DecQ4_0>(t, Type::Q4_0);
    add_block_type<DecQ4_1>(t, Type::Q4_1);
    add_block_type<DecQ5_0>(t, Type::Q5_0);
    add_block_type<DecQ5_1>(t, Type::Q5_1);
    add_block_type<DecIQ4_NL>(t, Type::IQ4_NL);
    add_block_type<DecQ2_K>(t, Type::Q2_K);
    add_block_type<DecQ3_K>(t, Type::Q3_K);
    add_block_type<DecQ4_K>(t, Type::Q4_K);
    add_block_type<DecQ5_K>(t, Type::Q5_K);
    add_block_type<DecQ6_K>(t, Type::Q6_K);
    add_block_type<DecIQ4_XS>(t, Type::IQ4_XS);
    add_block_type<DecQT4>(t, Type::QT4);
    add_block_type<DecQT3>(t, Type::QT3);
    add_block_type<DecQT2>(t, Type::QT2);
}

}  // namespace quanta::backends::cuda
