// backends/cuda/ops/copy.cu — copy/convert (strided -> packed) and set_rows (KV-cache append).
//
// Both work in groups of 32 consecutive elements of a row: a thread loads a group as f32 (float
// sources element by element through their own strides, Q8_0 sources one block), then stores it
// converted to the destination type: F32, F16 (round to nearest even), BF16, or one Q8_0 block
// encoded exactly as quant/legacy.cpp does (so a Q8_0 KV cache holds the CPU's bytes). Threads of
// a block stride over the groups of one row; one block per row. Simple path: scalar loads.
// Copy sources here: F32, F16, BF16, Q8_0 (other quantized sources fall back to the CPU).
#include "backends/cuda/ops/common.cuh"

namespace quanta::backends::cuda {

namespace {

using core::Op;

// Source element loaders for a group of 32 starting at element g0 of a row (n0 elements).
template <typename E>
struct LoadFloat {
    __device__ static int load(const char * row, int64_t nb0, int64_t g0, int64_t n0, float * v) {
        const int cnt = int(n0 - g0 < 32 ? n0 - g0 : 32);
        for (int i = 0; i < cnt; ++i) v[i] = E::load(row + (g0 + i) * nb0);
        for (int i = cnt; i < 32; ++i) v[i] = 0.0f;
        return cnt;
    }
};

struct LoadQ8_0 {  // dim 0 packed: group g0 / 32 is block g0 / 32
    __device__ static int load(const char * row, int64_t, int64_t g0, int64_t, float * v) {
        DecQ8_0::chunk(row + (g0 / 32) * DecQ8_0::kBytes, 0, v);
        return 32;
    }
};

template <Type T>
__device__ __forceinline__ void store_group(char * row, int64_t g0, int cnt, const float * v) {
    if constexpr (T == Type::F32) {
        float * o = reinterpret_cast<float *>(row) + g0;
        for (int i = 0; i < cnt; ++i) o[i] = v[i];
    } else if constexpr (T == Type::F16) {
        uint16_t * o = reinterpret_cast<uint16_t *>(row) + g0;
        for (int i = 0; i < cnt; ++i) o[i] = quant::fp32_to_fp16(v[i]);
    } else if constexpr (T == Type::BF16) {
        uint16_t * o = reinterpret_cast<uint16_t *>(row) + g0;
        for (int i = 0; i < cnt; ++i) o[i] = quant::fp32_to_bf16(v[i]);
    } else {
        static_assert(T == Type::Q8_0);
        encode_q8_0(v, reinterpret_cast<quant::BlockQ8_0 *>(row) + g0 / 32);  // cnt is 32: n0 % 32 == 0
    }
}

template <typename L, Type D>
__global__ void k_copy(TDesc x, TDesc d) {
    const int64_t r = blockIdx.x;
    const int64_t i1 = r % d.ne[1], i2 = (r / d.ne[1]) % d.ne[2], i3 = r / (d.ne[1] * d.ne[2]);
    const char * src = x.p + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3];
    char * dst = d.p + i1 * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3];
    const int64_t n0 = d.ne[0];
    for (int64_t g0 = int64_t(threadIdx.x) * 32; g0 < n0; g0 += int64_t(blockDim.x) * 32) {
        float v[32];
        const int cnt = L::load(src, x.nb[0], g0, n0, v);
        store_group<D>(dst, g0, cnt, v);
    }
}

template <typename L, Type D>
void l_copy(const BoundNode & n, const LaunchCtx & ctx) {
    k_copy<L, D><<<unsigned(n.dst.nrows()), 128, 0, ctx.stream>>>(tdesc(n.src[0]), tdesc(n.dst));
}

// rows F32 [n, k] (row r at rows.nb[1] * r), ids I32 [k] -> dst row ids[r] of the cache view.
template <Type D>
__global__ void k_set_rows(TDesc rows, const int32_t * ids, TDesc d, int * error) {
    const int64_t r = blockIdx.x;
    const int64_t id = ids[r];
    if (id < 0 || id >= d.ne[1]) {
        if (threadIdx.x == 0) record_error(error, kErrSetRowsId);
        return;
    }
    const char * src = rows.p + r * rows.nb[1];
    char * dst = d.p + id * d.nb[1];
    const int64_t n0 = d.ne[0];
    for (int64_t g0 = int64_t(threadIdx.x) * 32; g0 < n0; g0 += int64_t(blockDim.x) * 32) {
        float v[32];
        const int cnt = LoadFloat<ElemF32>::load(src, rows.nb[0], g0, n0, v);
        store_group<D>(dst, g0, cnt, v);
    }
}

template <Type D>
void l_set_rows(const BoundNode & n, const LaunchCtx & ctx) {
    k_set_rows<D><<<unsigned(n.src[0].ne[1]), 128, 0, ctx.stream>>>(
        tdesc(n.src[0]), reinterpret_cast<const int32_t *>(dev_ptr(n.src[1])), tdesc(n.dst), ctx.error);
}

template <typename L>
void add_copies(KernelTable & t, Type src) {
    t.add(Op::Copy, Type::F32, src, kNone, l_copy<L, Type::F32>);
    t.add(Op::Copy, Type::F16, src, kNone, l_copy<L, Type::F16>);
    t.add(Op::Copy, Type::BF16, src, kNone, l_copy<L, Type::BF16>);
    t.add(Op::Copy, Type::Q8_0, src, kNone, l_copy<L, Type::Q8_0>);
}

}  // namespace

void register_copy(KernelTable & t) {
    add_copies<LoadFloat<ElemF32>>(t, Type::F32);
    add_copies<LoadFloat<ElemF16>>(t, Type::F16);
    add_copies<LoadFloat<ElemBF16>>(t, Type::BF16);
    add_copies<LoadQ8_0>(t, Type::Q8_0);
    t.add(Op::SetRows, Type::F32, Type::F32, core::kI32, l_set_rows<Type::F32>);
    t.add(Op::SetRows, Type::F16, Type::F32, core::kI32, l_set_rows<Type::F16>);
    t.add(Op::SetRows, Type::Q8_0, Type::F32, core::kI32, l_set_rows<Type::Q8_0>);
}

}  // namespace quanta::backends::cuda
