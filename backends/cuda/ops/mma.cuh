// backends/cuda/ops/mma.cuh — mul_mat for prompts (more than 8 activation columns) on tensor cores,
// included by matmul.cu.
//
// Algorithm. One block of 4 warps computes a 64 x 64 tile of the output (64 weight rows n x 64
// activation columns m) of one batch. The K dimension is walked 32 elements at a time: threads
// 0..63 each decode one weight row's 32-element chunk (the same common.cuh decoders as the simple
// path) and store it as bf16 in shared memory, threads 64..127 each convert one activation
// column's 32 floats to bf16; then each warp multiplies its 32 x 32 sub-tile with mma.sync
// m16n8k16 (bf16 inputs, f32 accumulators: 2 row tiles x 4 column tiles x 2 k-steps per chunk).
// So every weight byte is decoded once per 64 activation columns instead of once per 8 (the simple
// path), and the products run on tensor cores. Single stage, no cp.async pipeline and no load-time
// repacking yet (TODO(#10)): a first, readable tensor-core path.
// Precision: bf16 keeps f32's range (activations of thousands are common), so no overflow; its
// 8-bit mantissa rounds each weight and activation by up to 2^-9 relative, summed in f32. The op
// tests hold this path to 1e-2 of the largest output (the simple path: 2e-4).
// Fragment layouts (PTX ISA, mma.m16n8k16 .bf16): lane = 4 * g + t. A (16 x 16, row-major):
// {a0,a1} = A[g][2t..2t+1], {a2,a3} = A[g+8][2t..], {a4,a5} = A[g][2t+8..], {a6,a7} = A[g+8][2t+8..].
// B (16 x 8, "col" = stored as B^T rows): {b0,b1} = B[2t..2t+1][g], {b2,b3} = B[2t+8..][g].
// C (16 x 8): {c0,c1} = C[g][2t..2t+1], {c2,c3} = C[g+8][2t..2t+1].
// Here A = the weight tile (rows n, columns k) and B^T = the activation tile (rows m, columns k), so
// both are read from shared memory as 32-bit pairs of consecutive k.
#pragma once

#include <cuda_bf16.h>

#include "backends/cuda/ops/common.cuh"

namespace quanta::backends::cuda {

constexpr int kMmaTile = 64;      // output rows (n) and columns (m) per block
constexpr int kMmaK = 32;         // k per shared-memory stage
constexpr int kMmaStride = kMmaK + 8;  // bf16 per shared row: +8 (16 bytes) staggers the banks

__device__ __forceinline__ uint32_t pair_at(const __nv_bfloat16 * row, int k) {
    return *reinterpret_cast<const uint32_t *>(row + k);  // k even: 4-byte aligned
}

__device__ __forceinline__ void mma_bf16_16816(float * c, const uint32_t * a, const uint32_t * b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();  // the project builds sm_80 and newer only
#endif
}

struct MmaArgs {
    int64_t K, N, M, B2, r2, r3;
    int64_t x_nb1, x_nb2, x_nb3;  // f32 activations, rows packed
};

template <typename D>
__global__ void __launch_bounds__(128) k_mul_mat_mma(TDesc w, const char * x, TDesc d, MmaArgs a) {
    __shared__ __align__(16) __nv_bfloat16 ws[kMmaTile][kMmaStride];
    __shared__ __align__(16) __nv_bfloat16 xs[kMmaTile][kMmaStride];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int64_t n0 = int64_t(blockIdx.x) * kMmaTile, m0 = int64_t(blockIdx.y) * kMmaTile;
    const int64_t i2 = blockIdx.z % a.B2, i3 = blockIdx.z / a.B2;
    const char * wbase = w.p + (i2 / a.r2) * w.nb[2] + (i3 / a.r3) * w.nb[3];
    const char * xbase = x + i2 * a.x_nb2 + i3 * a.x_nb3;
    const int wn = (warp >> 1) * 32, wm = (warp & 1) * 32;  // this warp's 32 x 32 sub-tile
    constexpr int kChunks = D::kQK / 32;

    float acc[2][4][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

    for (int64_t c = 0; c < a.K / kMmaK; ++c) {
        __syncthreads();  // the previous chunk's fragments have been read
        if (tid < kMmaTile) {
            const int64_t n = n0 + tid;
            float v[32];
            if (n < a.N) {
                D::chunk(wbase + n * w.nb[1] + (c / kChunks) * D::kBytes, int(c % kChunks), v);
            } else {
                for (int i = 0; i < 32; ++i) v[i] = 0.0f;
            }
            for (int i = 0; i < 32; ++i) ws[tid][i] = __float2bfloat16_rn(v[i]);
        } else {
            const int col = tid - kMmaTile;
            const int64_t m = m0 + col;
            if (m < a.M) {
                const float * xr = reinterpret_cast<const float *>(xbase + m * a.x_nb1) + c * kMmaK;
                for (int i = 0; i < 32; ++i) xs[col][i] = __float2bfloat16_rn(xr[i]);
            } else {
                for (int i = 0; i < 32; ++i) xs[col][i] = __float2bfloat16_rn(0.0f);
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kMmaK; kk += 16) {
            uint32_t af[2][4], bf[4][2];
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                const __nv_bfloat16 * r0 = ws[wn + 16 * i + g];
                const __nv_bfloat16 * r8 = ws[wn + 16 * i + g + 8];
                af[i][0] = pair_at(r0, kk + 2 * t);
                af[i][1] = pair_at(r8, kk + 2 * t);
                af[i][2] = pair_at(r0, kk + 2 * t + 8);
                af[i][3] = pair_at(r8, kk + 2 * t + 8);
            }
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const __nv_bfloat16 * xr = xs[wm + 8 * j + g];
                bf[j][0] = pair_at(xr, kk + 2 * t);
                bf[j][1] = pair_at(xr, kk + 2 * t + 8);
            }
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) mma_bf16_16816(acc[i][j], af[i], bf[j]);
        }
    }
    // C[i][j]: rows n = n0 + wn + 16 i + g (+8), columns m = m0 + wm + 8 j + 2 t (+1).
#pragma unroll
    for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int64_t n = n0 + wn + 16 * i + g + (r >= 2 ? 8 : 0);
                const int64_t m = m0 + wm + 8 * j + 2 * t + (r & 1);
                if (n < a.N && m < a.M) {
                    *reinterpret_cast<float *>(d.p + n * d.nb[0] + m * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]) = acc[i][j][r];
                }
            }
        }
    }
}

}  // namespace quanta::backends::cuda
