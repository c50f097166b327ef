// backends/cuda/ops/common.cuh — device-only helpers shared by the op families: warp and block
// reductions, the data-error word, the shared-memory Hadamard butterflies of QT4. The per-type
// decoders, the kpos rule and the Q8_0 encoder are host+device code in decoders.h (so a host test,
// tests/backends/cuda/host/test_cuda_decoders.cpp, checks them against quant/ without a GPU).
#pragma once

#include <cstdint>

#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/decoders.h"

namespace quanta::backends::cuda {

// ---- reductions --------------------------------------------------------------------------------

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
    return v;
}

// Block-wide sum / max; every thread of the block must call it and gets the result. `red` is
// shared memory of at least 32 floats. blockDim.x must be a multiple of 32.
__device__ __forceinline__ float block_sum(float v, float * red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // red may still be read by a previous reduction
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = lane < nwarps ? red[lane] : 0.0f;
    return warp_sum(r);
}

__device__ __forceinline__ float block_max(float v, float * red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = lane < nwarps ? red[lane] : -INFINITY;
    return warp_max(r);
}

// Records the first data error of a run (see DataError).
__device__ __forceinline__ void record_error(int * error, int code) { atomicCAS(error, 0, code); }

// In-place 256-point Walsh-Hadamard butterflies on shared memory x[256], by 128 threads (thread t
// does butterfly t of each stage), strides 1, 2, ..., 128 as quant/qt4.cpp fwht_256: each output
// is the same a + b / a - b of the same inputs, so the floats are the reference's.
__device__ __forceinline__ void fwht_256_shared(float * x) {
    const int t = threadIdx.x;
    for (int h = 1; h < 256; h *= 2) {
        __syncthreads();
        if (t < 128) {
            const int i = (t / h) * 2 * h + (t % h);
            const float a = x[i], b = x[i + h];
            x[i] = a + b;
            x[i + h] = a - b;
        }
    }
    __syncthreads();
}

}  // namespace quanta::backends::cuda
