// backends/cuda/ops/matvec.cuh — the decode mat-vec kernel (1..8 activation columns) for the
// weight types with a mat-vec unit in decoders.h: QT4, QT3, QT2 and Q4_K (128-bit loads), Q4_0 and
// Q8_0 (16-bit loads: their 18/34-byte blocks are only 2-byte aligned in a packed row).
//
// One warp per (weight row n, group of up to NC <= kVecCols = 8 columns, batch), kVecWarps rows per
// block (NC = 1, 2, 4 or 8, the smallest that holds the batch; see k_matvec_vec). The row is a sequence of 32-weight units (decoders.h): lane l takes units l, l + 32, ...,
// so for QT4 / Q4_K one warp instruction fetches 32 consecutive 16-byte pieces of level bytes
// (512 B, fully coalesced; the 16-byte block headers in between are read through quant/'s scale
// helpers from the same L1 lines), for QT3 / QT2 the 2-bit planes of two whole blocks (each 16-byte
// group serves two neighbouring lanes, 32 elements each; QT3's third bit plane is one 32-bit word
// per lane), and for Q4_0 / Q8_0 32 consecutive blocks. Each lane decodes
// its unit in registers, dots the two 16-weight runs with every column's f32 activations (float4
// loads) and keeps one partial sum per column; warp_sum finishes each column. The weight row is
// read once for all 8 columns, the same kernel serves batch 1..8.
//
// Preconditions, checked by matvec_fits() at launch (matmul.cu falls back to the simple kernel
// otherwise): weight base and byte strides multiples of U::kAlign, activation base and row
// strides multiples of 16 bytes (float4), K a multiple of the block size (always, for block types).
// Unmeasured so far: no GPU was at hand when it was written (bench/RESULTS.md, CUDA).
#pragma once

#include <cstdint>

#include "backends/cuda/ops/common.cuh"

namespace quanta::backends::cuda {

constexpr int kVecWarps = 4;  // weight rows per block
constexpr int kVecCols = 8;   // activation columns per warp

struct VecArgs {
    int64_t K, N, M, B2, r2, r3;
    int64_t x_nb1, x_nb2, x_nb3;  // byte strides of the f32 activations read
};

__device__ __forceinline__ float dot16(const float * w, const float * x) {
    const float4 * x4 = reinterpret_cast<const float4 *>(x);
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float4 v = x4[i];
        s += w[4 * i] * v.x + w[4 * i + 1] * v.y + w[4 * i + 2] * v.z + w[4 * i + 3] * v.w;
    }
    return s;
}

// Adds unit u's 32 weights times each column's activations to acc (NC columns, mc of them real).
template <typename U, int NC>
__device__ __forceinline__ void matvec_accumulate(const float * wv, int64_t u, const char * xb, int64_t x_nb1, int mc,
                                                  float * acc) {
    const int64_t blk = u / U::kUnits;
    const int ub = int(u % U::kUnits);
    const int64_t e_lo = blk * U::kQK + U::lo(ub), e_hi = blk * U::kQK + U::hi(ub);
#pragma unroll
    for (int m = 0; m < NC; ++m) {
        if (m < mc) {
            const float * xr = reinterpret_cast<const float *>(xb + m * x_nb1);
            acc[m] += dot16(wv, xr + e_lo) + dot16(wv + 16, xr + e_hi);
        }
    }
}

// NC columns per warp (1, 2, 4 or 8: the launch picks the smallest that holds the batch, so batch 1
// keeps one accumulator and few registers). Where NC <= 4 the main loop takes two units per lane
// per step (units u and u + 32, both loads issued before either is used: twice the bytes in flight
// per warp); a last odd unit is done alone.
template <typename U, int NC>
__global__ void __launch_bounds__(32 * kVecWarps) k_matvec_vec(TDesc w, const char * x, TDesc d, VecArgs a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t n = int64_t(blockIdx.x) * kVecWarps + warp;
    if (n >= a.N) return;  // whole warp leaves together: no block-level sync below
    const int64_t m0 = int64_t(blockIdx.y) * NC;
    const int mc = int(a.M - m0 < NC ? a.M - m0 : NC);
    const int64_t i2 = blockIdx.z % a.B2, i3 = blockIdx.z / a.B2;
    const char * wrow = w.p + n * w.nb[1] + (i2 / a.r2) * w.nb[2] + (i3 / a.r3) * w.nb[3];
    const char * xb = x + m0 * a.x_nb1 + i2 * a.x_nb2 + i3 * a.x_nb3;
    float acc[NC];
#pragma unroll
    for (int m = 0; m < NC; ++m) acc[m] = 0.0f;
    const int64_t n_units = (a.K / U::kQK) * U::kUnits;
    int64_t u = lane;
    if constexpr (NC <= 4) {
        for (; u + 32 < n_units; u += 64) {
            float wa[32], wb[32];
            U::unit(wrow + (u / U::kUnits) * U::kBytes, int(u % U::kUnits), wa);
            U::unit(wrow + ((u + 32) / U::kUnits) * U::kBytes, int((u + 32) % U::kUnits), wb);
            matvec_accumulate<U, NC>(wa, u, xb, a.x_nb1, mc, acc);
            matvec_accumulate<U, NC>(wb, u + 32, xb, a.x_nb1, mc, acc);
        }
    }
    for (; u < n_units; u += 32) {
        float wv[32];
        U::unit(wrow + (u / U::kUnits) * U::kBytes, int(u % U::kUnits), wv);
        matvec_accumulate<U, NC>(wv, u, xb, a.x_nb1, mc, acc);
    }
#pragma unroll
    for (int m = 0; m < NC; ++m) {
        const float s = warp_sum(acc[m]);
        if (lane == 0 && m < mc) {
            *reinterpret_cast<float *>(d.p + n * d.nb[0] + (m0 + m) * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]) = s;
        }
    }
}

// The launch preconditions of k_matvec_vec<U> (see the header comment).
template <typename U>
bool matvec_fits(const TDesc & w, const char * x, const VecArgs & a) {
    const auto aligned = [](int64_t v, int64_t to) { return v % to == 0; };
    const int64_t wp = int64_t(reinterpret_cast<uintptr_t>(w.p)), xp = int64_t(reinterpret_cast<uintptr_t>(x));
    return a.M <= kVecCols * int64_t(65535) && a.K % U::kQK == 0 && aligned(wp, U::kAlign) && aligned(w.nb[1], U::kAlign) &&
           aligned(w.nb[2], U::kAlign) && aligned(w.nb[3], U::kAlign) && aligned(xp, 16) && aligned(a.x_nb1, 16) &&
           aligned(a.x_nb2, 16) && aligned(a.x_nb3, 16);
}

// Launches k_matvec_vec<U, NC> with the smallest NC in {1, 2, 4, 8} that holds min(M, 8) columns.
template <typename U>
void launch_matvec(const TDesc & w, const char * x, const TDesc & d, const VecArgs & a, int64_t batches,
                   cudaStream_t stream) {
    const auto grid = [&](int nc) {
        return dim3(unsigned((a.N + kVecWarps - 1) / kVecWarps), unsigned((a.M + nc - 1) / nc), unsigned(batches));
    };
    const dim3 block(32 * kVecWarps);
    if (a.M == 1) k_matvec_vec<U, 1><<<grid(1), block, 0, stream>>>(w, x, d, a);
    else if (a.M == 2) k_matvec_vec<U, 2><<<grid(2), block, 0, stream>>>(w, x, d, a);
    else if (a.M <= 4) k_matvec_vec<U, 4><<<grid(4), block, 0, stream>>>(w, x, d, a);
    else k_matvec_vec<U, kVecCols><<<grid(kVecCols), block, 0, stream>>>(w, x, d, a);
}

}  // namespace quanta::backends::cuda
