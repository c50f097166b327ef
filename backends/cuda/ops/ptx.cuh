// backends/cuda/ops/ptx.cuh — the PTX instructions the tensor-core kernels share (mul_mat's
// mma.cuh, attention's flash_prefill.cu): mma.sync m16n8k16 with bf16 or f16 operands and f32
// accumulators, ldmatrix (plain and transposed), 16-byte cp.async with zero fill and its
// commit / wait. Fragment layouts: mma.cuh (bf16) and flash_attention.h (f16), from the PTX ISA,
// "Matrix fragments for mma.m16n8k16". All need sm_80 (the project builds sm_80 and newer only);
// an older target traps.
#pragma once

#include <cstdint>

namespace quanta::backends::cuda {

__device__ __forceinline__ uint32_t smem_addr(const void * p) { return uint32_t(__cvta_generic_to_shared(p)); }

// c += a * b: a = A fragment (4 registers), b = B fragment (2 registers), c = C fragment (4 floats).
__device__ __forceinline__ void mma_bf16_16816(float * c, const uint32_t * a, const uint32_t * b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();
#endif
}

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

// Four 8 x 8 b16 matrices from shared memory; p is this lane's row address, 16-byte aligned.
__device__ __forceinline__ void ldmatrix_x4(uint32_t * r, const void * p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
#else
    __trap();
#endif
}

// The same, each matrix transposed.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t * r, const void * p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
#else
    __trap();
#endif
}

// 16 bytes global -> shared, bypassing L1 and the registers; with fill == false the 16 shared bytes
// are zeroed and nothing is read (src-size 0: src must still be a valid address). Both 16-byte
// aligned.
__device__ __forceinline__ void cp_async_16(void * dst, const void * src, bool fill) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(fill ? 16 : 0));
#else
    __trap();
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits until at most N of this thread's committed groups are still in flight; also a compiler
// memory barrier (no shared-memory read moves above it). Other threads' copies are visible only
// after a __syncthreads that follows.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

}  // namespace quanta::backends::cuda
