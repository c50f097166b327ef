// backends/cuda/ops/repack.h — the repacked weight copies of the tensor-core mul_mat (mma.cuh
// kernel 1, layout in mma_layout.h): which nodes want one, and the per-backend cache that makes
// each copy once and drops it when its source bytes change.
//
// When: the first run() that has a prompt mul_mat (more than 8 columns) on a QT4 / Q4_K / Q4_0 /
// Q8_0 weight with K % 64 == 0 makes the copy (cudaMalloc + one repack kernel per weight batch on
// the stream, before any graph capture); later runs reuse it. The backend cannot tell a weight
// from any other tensor, so a copy stays valid only while nothing writes its source: an upload
// overlapping the source, a node of a run writing into it, or freeing its buffer drops the copy
// (and the captured CUDA graph, which may point at it), and a source that a node of the same run
// writes is never repacked (the copy would be made before the write).
// Cost: the copy is the same size as the source matrix when its rows are a multiple of 16 (every
// model matrix; otherwise rounded up to 16 rows) and is kept IN ADDITION to the source, which the
// decode mat-vec kernel (matvec.cuh) and get_rows keep reading. So prompt processing on these
// types needs up to twice the weights' VRAM; when cudaMalloc fails the node falls back to the
// unrepacked tensor-core kernel (one warning line, no error) and no further copies are made; a copy
// is also not made when it would leave less than kRepackReserve (1 GiB) free, which the driver
// needs later (lazy module loading, local memory, graphs); when the backend's kernel scratch or a
// new buffer later cannot be allocated, the copies are freed for it (cuda_backend.cpp).
// QUANTA_CUDA_REPACK=0 disables it.
// Thread safety: owned by one CudaBackend, driven by one thread.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>

#include "backends/cuda/kernels.h"

namespace quanta::backends::cuda {

// The most activation columns mul_mat's decode kernels take (matmul.cu); more go to the
// tensor-core kernels of mma.cuh.
constexpr int kDecodeColumns = 8;

// Device memory a new repacked copy must leave free (RepackCache::make).
constexpr size_t kRepackReserve = size_t(1) << 30;

// False when QUANTA_CUDA_MMA=0 asks for the simple path for prompts too (to compare on a GPU).
bool mma_enabled();

// True when type has a repacked layout (QT4, Q4_K, Q4_0, Q8_0).
bool repack_type(Type type);

// True when mul_mat node n is to read a repacked copy of src[0]: a repack type, more than 8
// activation columns, K % 64 == 0, and neither QUANTA_CUDA_MMA=0 nor QUANTA_CUDA_REPACK=0.
bool repack_wanted(const BoundNode & n);

// Bytes of the repacked copy of t (every batch); 0 when its type has no repacked layout.
size_t repacked_bytes(const BoundTensor & t);

class RepackCache {
public:
    RepackCache() = default;
    ~RepackCache();
    RepackCache(const RepackCache &) = delete;
    RepackCache & operator=(const RepackCache &) = delete;

    // The copy of t (same device address, type, extents and strides), or nullptr.
    const char * find(const BoundTensor & t) const;
    // Makes the copy of t on `stream` unless it exists. Returns true when a new copy was made;
    // false when it existed, or when device memory ran out or the copy would leave less than
    // kRepackReserve free (reported once on stderr; after that no more copies are made, so a run
    // never retries a failing allocation per weight).
    bool make(const BoundTensor & t, cudaStream_t stream);
    // Frees every copy whose source overlaps [p, p + bytes), after waiting for `stream` (kernels
    // may still read them). True when any was dropped.
    bool forget(const char * p, size_t bytes, cudaStream_t stream);
    void clear(cudaStream_t stream);  // frees everything
    void stop() { full_ = true; }     // makes no more copies (device memory is needed elsewhere)
    bool stopped() const { return full_; }

    bool empty() const { return entries_.empty(); }
    size_t bytes() const { return bytes_; }  // device bytes held by the copies
    int64_t made() const { return made_; }   // copies made so far (tests: the path was taken)

private:
    struct Entry {
        size_t src_bytes = 0;  // source extent (for overlap tests)
        Type type = Type::F32;
        std::array<int64_t, 4> ne{};
        std::array<int64_t, 4> nb{};
        char * copy = nullptr;
        size_t bytes = 0;
    };
    std::multimap<uintptr_t, Entry> entries_;  // by the source's first byte
    size_t max_src_bytes_ = 0;                 // largest source extent (bounds the overlap search)
    size_t bytes_ = 0;
    int64_t made_ = 0;
    bool warned_ = false;
    bool full_ = false;  // a cudaMalloc failed (or stop()): no more copies are made
};

}  // namespace quanta::backends::cuda
