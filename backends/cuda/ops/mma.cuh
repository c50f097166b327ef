// backends/cuda/ops/mma.cuh — mul_mat for prompts (more than 8 activation columns) on tensor cores,
// included by matmul.cu. Two kernels; both use mma.sync m16n8k16 with bf16 operands and f32
// accumulators.
//
// 1. k_mul_mat_mma_rp (QT4, Q4_K, Q4_0, Q8_0 with K % 64 == 0): reads a copy of the weights
// repacked once per weight tensor (repack.cu, layout in mma_layout.h) and bf16 activations
// (converted once per node into scratch). A block of 8 warps computes a 128-row x (2 kWarpM)-column
// output tile (kWarpM = 32 for up to 64 columns, 64 above); warp w owns rows 32 (w % 4) .. + 32
// (two 16-row tiles) and columns kWarpM (w / 4) .. + kWarpM. K is walked 64 at a time through a
// kStages-deep cp.async pipeline (cp.async.cg 16 B, commit_group / wait_group): while the tensor
// cores work on stage kt, the copies of stages kt + 1 .. kt + kStages - 1 are in flight. A stage is
// (a) the weight codes: one 16-byte unit per lane per 16-row tile (two for Q8_0), which holds
// exactly the 4- or 8-bit codes of that lane's A fragments for the stage's four k16 steps, so a
// warp reads them as one conflict-free 128-bit shared load per tile; (b) the tiles' scale bytes
// (the blocks' own d / scales, unchanged); (c) the activation tile, [columns][64] bf16 with its
// 16-byte chunks XOR-swizzled by row, read as B fragments with ldmatrix.x4 without bank conflicts.
// Each lane decodes its A fragments in registers: code -> float (2^23 magic, no I2F), times the
// block's scale exactly as quant/'s reference (minus the min for Q4_K), one round to bf16 — the
// same operands as kernel 2 — so only the bf16 rounding of weights and activations separates the
// result from the exact product. A weight is decoded by the 2 warps that share its rows, once per
// 2 kWarpM columns. blockIdx.x is the column tile, so the blocks that share 128 weight rows run
// next to each other and the weight bytes come from DRAM about once, from L2 for the other tiles.
// Small grids (fewer blocks than half the SMs: short prompts) split K over blockIdx.z
// (mma_layout.h rp_splits); each split writes its partial tile to scratch and k_rp_reduce sums
// the splits in order, so results do not depend on scheduling.
// NOT RUN: written in a session without a GPU (2026-11-28); compiled for sm_80 only. See
// docs/backends.md (CUDA) for what remains to measure.
//
// 2. k_mul_mat_mma (every other block type, or K not a multiple of 64, or QUANTA_CUDA_REPACK=0):
// one block of 4 warps computes a 64 x 64 tile of the output (64 weight rows n x 64
// activation columns m) of one batch. The K dimension is walked 32 elements at a time: threads
// 0..63 each decode one weight row's 32-element chunk (the same common.cuh decoders as the simple
// path) and store it as bf16 in shared memory, threads 64..127 each convert one activation
// column's 32 floats to bf16; then each warp multiplies its 32 x 32 sub-tile with mma.sync
// m16n8k16 (bf16 inputs, f32 accumulators: 2 row tiles x 4 column tiles x 2 k-steps per chunk).
// So every weight byte is decoded once per 64 activation columns instead of once per 8 (the simple
// path), and the products run on tensor cores. Single stage, no cp.async: a readable fallback.
// Precision (both): bf16 keeps f32's range (activations of thousands are common), so no overflow; its
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

#include <atomic>

#include "backends/cuda/ops/common.cuh"
#include "backends/cuda/ops/mma_layout.h"
#include "backends/cuda/ops/ptx.cuh"

namespace quanta::backends::cuda {

constexpr int kMmaTile = 64;      // output rows (n) and columns (m) per block
constexpr int kMmaK = 32;         // k per shared-memory stage
constexpr int kMmaStride = kMmaK + 8;  // bf16 per shared row: +8 (16 bytes) staggers the banks

__device__ __forceinline__ uint32_t pair_at(const __nv_bfloat16 * row, int k) {
    return *reinterpret_cast<const uint32_t *>(row + k);  // k even: 4-byte aligned
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

// ---- the repacked, pipelined kernel (1.) -------------------------------------------------------

struct RpArgs {
    int64_t K, N, M, B2, r2, r3;
    int64_t w_ne2;          // weight batches along dim 2 (the repacked copy is [w3][w2][matrix])
    int64_t matrix_bytes;   // one repacked matrix
    int64_t x_batch;        // bf16 elements between activation batches (M * K)
    int64_t batches;        // B2 * B3
    int splits;             // K splits (rp_splits); blockIdx.z = batch * splits + split
    float * partial;        // splits > 1: partial outputs [split][batch][M][N] (scratch)
    RpMatrix mat;
};

constexpr int kRpThreads = 256;  // 8 warps

template <typename R, int kWarpM>
struct RpKernelShape {
    static constexpr int kCols = 2 * kWarpM;  // activation columns per block
    static constexpr int kStages = kWarpM == 64 ? 3 : 4;
    static constexpr int kCodeBytes = RpStage<R>::kCodeBytes;  // per stage
    static constexpr int kMetaBytes = RpStage<R>::kMetaBytes;
    static constexpr int kXBytes = kCols * kRpStageK * 2;
    static constexpr int kStageBytes = kCodeBytes + kMetaBytes + kXBytes;
    static constexpr int kSmemBytes = kStages * kStageBytes;
    static_assert(kStageBytes % 16 == 0);
};

// x: bf16 activations [B3][B2][M][K] packed; wr: the repacked weights; d: f32 output [N, M, B2, B3].
// Every offset below comes from mma_layout.h (RpStage, rp_x_src, x_chunk_offset, ldmatrix_b_offset,
// rp_c_row / rp_c_col), which tests/backends/cuda/host/test_cuda_repack.cpp replays for whole
// blocks on the host, this loop included.
template <typename R, int kWarpM>
__global__ void __launch_bounds__(kRpThreads) k_mul_mat_mma_rp(const char * wr, const __nv_bfloat16 * x, TDesc d, RpArgs a) {
    using S = RpShape<R>;
    using KS = RpKernelShape<R, kWarpM>;
    constexpr int kJ = kWarpM / 8;  // n8 column tiles per warp
    extern __shared__ __align__(16) uint8_t smem[];
    using ST = RpStage<R>;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2;
    const int wn = warp & 3, wm = warp >> 2;
    const int64_t m0 = int64_t(blockIdx.x) * KS::kCols, n0 = int64_t(blockIdx.y) * kRpBlockRows;
    const int split = int(blockIdx.z % a.splits);
    const int64_t batch = blockIdx.z / a.splits;
    const int64_t i2 = batch % a.B2, i3 = batch / a.B2;
    const char * W = wr + ((i3 / a.r3) * a.w_ne2 + i2 / a.r2) * a.matrix_bytes;
    const __nv_bfloat16 * X = x + batch * a.x_batch;
    const int64_t tile0 = n0 / kRpTileRows;
    const int nk = int(a.K / kRpStageK);
    const int kb = rp_split_begin(nk, a.splits, split), nl = rp_split_begin(nk, a.splits, split + 1) - kb;

    // Issues the copies of stage kt into shared slot `slot` (every thread, no wait).
    auto load_stage = [&](int kt, int slot) {
        uint8_t * st = smem + slot * KS::kStageBytes;
        for (int i = tid; i < ST::kCodeCopies; i += kRpThreads) {
            const int64_t src = ST::code_src(a.mat, tile0, kt, i);
            cp_async_16(st + 16 * i, W + (src < 0 ? 0 : src), src >= 0);
        }
        for (int i = tid; i < ST::kMetaCopies; i += kRpThreads) {
            const int64_t src = ST::meta_src(a.mat, tile0, kt, i);
            cp_async_16(st + ST::kCodeBytes + 16 * i, W + (src < 0 ? 0 : src), src >= 0);
        }
        __nv_bfloat16 * xs = reinterpret_cast<__nv_bfloat16 *>(st + KS::kCodeBytes + KS::kMetaBytes);
        for (int i = tid; i < KS::kCols * kRpXChunks; i += kRpThreads) {
            const int64_t src = rp_x_src(m0, a.M, a.K, kt, i);
            cp_async_16(xs + x_chunk_offset(i / kRpXChunks, i % kRpXChunks), X + (src < 0 ? 0 : src), src >= 0);
        }
    };

    float acc[2][kJ][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < kJ; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

    // This split's stages kb .. kb + nl - 1; local stage it lives in slot it % kStages.
    // Prologue: stages 0 .. kStages - 2 in flight (a group is committed even when empty, so the
    // wait count below is the same on every iteration).
#pragma unroll
    for (int s = 0; s < KS::kStages - 1; ++s) {
        if (s < nl) load_stage(kb + s, rp_slot(s, KS::kStages));
        cp_async_commit();
    }
    for (int it = 0; it < nl; ++it) {
        const int kt = kb + it;
        cp_async_wait<rp_wait_groups(KS::kStages)>();  // this thread's copies of stage it have landed
        __syncthreads();                               // everyone's have; and stage it - 1 is no longer read
        {
            const int pf = rp_prefetch(it, KS::kStages);
            if (pf < nl) load_stage(kb + pf, rp_slot(pf, KS::kStages));  // into the slot stage it - 1 used
            cp_async_commit();
        }
        const uint8_t * st = smem + rp_slot(it, KS::kStages) * KS::kStageBytes;
        const __nv_bfloat16 * xs = reinterpret_cast<const __nv_bfloat16 *>(st + KS::kCodeBytes + KS::kMetaBytes);

        uint32_t unit[2][S::kStageUnits][4];
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int u = 0; u < S::kStageUnits; ++u) {
                const uint4 v = *reinterpret_cast<const uint4 *>(st + ST::unit_at(2 * wn + i, u, lane));
                unit[i][u][0] = v.x;
                unit[i][u][1] = v.y;
                unit[i][u][2] = v.z;
                unit[i][u][3] = v.w;
            }
        RpScale sc[2][2];
#pragma unroll
        for (int s16 = 0; s16 < kRpStageK / 16; ++s16) {
            if ((s16 & 1) == 0) {  // a new 32-k group: the scales of rows g, g + 8 of both tiles
                const int64_t k = int64_t(kt) * kRpStageK + 16 * s16;
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        sc[i][h] = R::scale(st + ST::meta_at(2 * wn + i, s16, g + 8 * h), rp_sub<R>(k));
                    }
            }
            const int u = s16 / S::kUnitSteps, su = s16 % S::kUnitSteps;
            uint32_t af[2][4];
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int r = 0; r < 4; ++r) af[i][r] = rp_a_reg<R>(unit[i][u], su, r, sc[i][0], sc[i][1]);
#pragma unroll
            for (int j = 0; j < kJ; j += 2) {
                uint32_t b[4];
                ldmatrix_x4(b, xs + ldmatrix_b_offset(lane, wm * kWarpM, j, s16));
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    mma_bf16_16816(acc[i][j], af[i], b);
                    mma_bf16_16816(acc[i][j + 1], af[i], b + 2);
                }
            }
        }
    }
    cp_async_wait<0>();  // only empty groups remain; leave nothing in flight

    // C[i][j]: rows n = n0 + 32 wn + 16 i + g (+8), columns m = m0 + kWarpM wm + 8 j + 2 t (+1).
#pragma unroll
    for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int j = 0; j < kJ; ++j) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int64_t n = n0 + rp_c_row(wn, i, lane, r);
                const int64_t m = m0 + rp_c_col(kWarpM, wm, j, lane, r);
                if (n < a.N && m < a.M) {
                    if (a.splits == 1) {
                        *reinterpret_cast<float *>(d.p + n * d.nb[0] + m * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]) = acc[i][j][r];
                    } else {
                        a.partial[((split * a.batches + batch) * a.M + m) * a.N + n] = acc[i][j][r];
                    }
                }
            }
        }
    }
}

// Split-K: dst = the sum of the splits' partial outputs [split][batch][M][N], in split order.
__global__ void k_rp_reduce(const float * partial, int splits, int64_t M, int64_t N, int64_t B2, int64_t count, TDesc d) {
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < count; idx += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = idx % N, m = (idx / N) % M, batch = idx / (M * N);
        float s = 0.0f;
        for (int sp = 0; sp < splits; ++sp) s += partial[sp * count + idx];
        *reinterpret_cast<float *>(d.p + n * d.nb[0] + m * d.nb[1] + (batch % B2) * d.nb[2] + (batch / B2) * d.nb[3]) = s;
    }
}

// f32 activations (byte strides nb1..nb3, rows of K) -> packed bf16 [B3][B2][M][K], round to nearest even.
__global__ void k_x_to_bf16(const char * x, int64_t nb1, int64_t nb2, int64_t nb3, int64_t K, int64_t M, int64_t B2,
                            int64_t count, __nv_bfloat16 * out) {
    for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < count; idx += int64_t(gridDim.x) * blockDim.x) {
        const int64_t k = idx % K, r = idx / K;
        const int64_t m = r % M, i2 = (r / M) % B2, i3 = r / (M * B2);
        out[idx] = __float2bfloat16_rn(*reinterpret_cast<const float *>(x + m * nb1 + i2 * nb2 + i3 * nb3 + 4 * k));
    }
}

// Kernel 1 at one column tiling. The dynamic shared-memory limit is raised once per device (the
// first, uncaptured run of a node does it, so no attribute call happens inside a graph capture); a
// failure there shows as the launch error.
template <typename R, int kWarpM>
void launch_rp_tiles(const char * rp, const __nv_bfloat16 * xbf, const TDesc & dst, const RpArgs & a, unsigned rows,
                     unsigned batches, cudaStream_t stream) {
    using KS = RpKernelShape<R, kWarpM>;
    constexpr int kMaxDevices = 64;
    static std::atomic<bool> raised[kMaxDevices];
    int dev = 0;
    const bool known = cudaGetDevice(&dev) == cudaSuccess && dev >= 0 && dev < kMaxDevices;
    if (!known || !raised[dev].load()) {
        const cudaError_t err =
            cudaFuncSetAttribute(k_mul_mat_mma_rp<R, kWarpM>, cudaFuncAttributeMaxDynamicSharedMemorySize, KS::kSmemBytes);
        if (known && err == cudaSuccess) raised[dev].store(true);
    }
    const dim3 grid(unsigned((a.M + KS::kCols - 1) / KS::kCols), rows, batches * unsigned(a.splits));
    k_mul_mat_mma_rp<R, kWarpM><<<grid, kRpThreads, KS::kSmemBytes, stream>>>(rp, xbf, dst, a);
}

// Launches kernel 1 for M > 8 columns: `rp` the repacked weights, `xbf` scratch for
// M * K * B2 * B3 bf16 (256-byte aligned), `partial` scratch for rp_splits(...) * B2 * B3 * M * N
// floats when that is > 1 (else unused). x: f32 activations with the given byte strides.
template <typename R>
void launch_mul_mat_mma_rp(const char * rp, const char * x, int64_t x_nb1, int64_t x_nb2, int64_t x_nb3, __nv_bfloat16 * xbf,
                           float * partial, const TDesc & w, const TDesc & dst, int64_t B2, int64_t B3, int sm_count,
                           cudaStream_t stream) {
    RpArgs a{};
    a.K = w.ne[0];
    a.N = w.ne[1];
    a.M = dst.ne[1];
    a.B2 = B2;
    a.r2 = B2 / w.ne[2];
    a.r3 = B3 / w.ne[3];
    a.w_ne2 = w.ne[2];
    a.mat = rp_matrix<R>(a.K, a.N);
    a.matrix_bytes = a.mat.bytes;
    a.x_batch = a.M * a.K;
    a.batches = B2 * B3;
    a.splits = rp_splits(a.M, a.N, a.K, a.batches, sm_count);
    a.partial = a.splits > 1 ? partial : nullptr;
    const int64_t count = a.x_batch * B2 * B3;
    k_x_to_bf16<<<grid_for(count, 256), 256, 0, stream>>>(x, x_nb1, x_nb2, x_nb3, a.K, a.M, B2, count, xbf);
    const unsigned rows = unsigned((a.N + kRpBlockRows - 1) / kRpBlockRows), batches = unsigned(B2 * B3);
    if (rp_warp_m(a.M) == 32) {
        launch_rp_tiles<R, 32>(rp, xbf, dst, a, rows, batches, stream);
    } else {
        launch_rp_tiles<R, 64>(rp, xbf, dst, a, rows, batches, stream);
    }
    if (a.splits > 1) {
        const int64_t outs = a.batches * a.M * a.N;
        k_rp_reduce<<<grid_for(outs, 256), 256, 0, stream>>>(partial, a.splits, a.M, a.N, B2, outs, dst);
    }
}

}  // namespace quanta::backends::cuda
