// backends/cuda/ops/flash_mma.cuh — the f16 fragment packing of the flash attention kernel
// (ops/flash_prefill.cu); the instructions themselves (mma.sync f16, ldmatrix, cp.async) are in
// ptx.cuh, shared with mul_mat. Fragment layouts: flash_attention.h.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/ops/ptx.cuh"

namespace quanta::backends::cuda::flash {

// Two consecutive halves of a shared-memory row as one 32-bit fragment register (k even).
__device__ __forceinline__ uint32_t half_pair(const __half * row, int k) {
    return *reinterpret_cast<const uint32_t *>(row + k);
}

// {lo, hi} rounded to f16 (round to nearest even) as one fragment register, lo in the low half.
__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t *>(&h);
}

}  // namespace quanta::backends::cuda::flash
