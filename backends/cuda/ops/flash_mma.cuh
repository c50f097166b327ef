// backends/cuda/ops/flash_mma.cuh — the f16 tensor-core and copy primitives of the flash attention
// kernel (ops/flash_prefill.cu): mma.sync m16n8k16 with f16 operands and f32 accumulators,
// ldmatrix.x4.trans, 16-byte cp.async with zero fill, and half-pair packing. mma.cuh has the bf16
// mma of mul_mat; attention uses f16 (flash_prefill.cu says why), whose mma is a different
// instruction, so it lives here. Fragment layouts: flash_attention.h. Needs sm_80 (cp.async; the
// project builds sm_80 and newer only), so older targets trap.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

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

// c += a * b: a = A fragment (4 registers), b = B fragment (2 registers), c = C fragment (4 floats).
__device__ __forceinline__ void mma_f16_16816(float * c, const uint32_t * a, const uint32_t * b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();
#endif
}

__device__ __forceinline__ uint32_t smem_addr(const void * p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Four transposed 8 x 8 b16 matrices from shared memory; `row` is this lane's row address
// (flash_attention.h ldsm_v_key / ldsm_v_dim), 16-byte aligned.
__device__ __forceinline__ void ldsm_x4_trans(uint32_t * r, const __half * row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(row)));
#else
    __trap();
#endif
}

// 16 bytes global -> shared without passing through registers; with fill == false the 16 shared
// bytes are zeroed and nothing is read (src must still be a valid address). Both 16-byte aligned.
__device__ __forceinline__ void cp_async_16(__half * dst, const void * src, bool fill) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const int n = fill ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(n));
#else
    __trap();
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits for every cp.async group this thread committed (a __syncthreads must follow before other
// threads read the data).
__device__ __forceinline__ void cp_async_wait_all() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
#endif
}

}  // namespace quanta::backends::cuda::flash
