// backends/cuda/kernels.h — the CUDA kernel table: (op, dst type, src0 type, src1 type) -> launcher.
//
// A launcher is one host function per (op, types) in the file of its op family (ops/*.cu). It reads
// shapes and strides from the BoundNode, launches its kernel(s) on ctx.stream and returns; it never
// synchronises and never reads device memory on the host, so a run of launchers can be captured
// into a CUDA graph and replayed (cuda_backend.cpp). Scratch memory (the rotated activations of QT4, QT3 and QT2,
// attention's split-KV partial results) is sized by the entry's ScratchFn before the run and handed
// over in ctx.scratch. Data errors found on the device (an id out of range) are recorded in
// ctx.error (first one wins) and reported by CudaBackend::sync().
// Each op family registers its launchers with one add() line per (op, types); supports() is a
// lookup in this table (STYLE.md §3): no switch on the op anywhere in the backend.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "core/backend.h"
#include "core/kernel_key.h"

namespace quanta::backends::cuda {

using core::BoundNode;
using core::BoundTensor;

// Device memory owned by a CudaBackend. host_data() is nullptr: the bytes are device-only.
class CudaBuffer final : public core::Buffer {
public:
    CudaBuffer(core::Backend & owner, size_t size, void * device) : core::Buffer(owner, size, nullptr), device_(device) {}
    ~CudaBuffer() override;
    void * device() const { return device_; }

private:
    void * device_;
};

// Device address of a bound tensor's first byte (its buffer must be a CudaBuffer; run() checks).
inline char * dev_ptr(const BoundTensor & t) {
    return static_cast<char *>(static_cast<const CudaBuffer *>(t.buffer)->device()) + t.offset;
}

// A tensor as a kernel argument (passed by value): first byte, extents and byte strides.
struct TDesc {
    char * p;
    int64_t ne[4];
    int64_t nb[4];
};

inline TDesc tdesc(const BoundTensor & t) {
    TDesc d{dev_ptr(t), {}, {}};
    for (int i = 0; i < 4; ++i) {
        d.ne[i] = t.ne[size_t(i)];
        d.nb[i] = t.nb[size_t(i)];
    }
    return d;
}

// Codes of data errors found by kernels (first one wins; sync() turns it into a Status).
enum DataError : int {
    kErrNone = 0,
    kErrGetRowsId = 1,  // get_rows: an id outside [0, table rows)
    kErrSetRowsId = 2,  // set_rows: a row id outside [0, cache rows)
};

class RepackCache;  // ops/repack.h

struct LaunchCtx {
    cudaStream_t stream = nullptr;
    char * scratch = nullptr;  // ScratchFn bytes, 256-byte aligned; valid for this node only
    size_t scratch_size = 0;
    int * error = nullptr;     // device word, see DataError
    int sm_count = 1;          // streaming multiprocessors of the device (for split decisions)
    const RepackCache * repacks = nullptr;  // repacked weight copies (ops/repack.h), made by run()
};

using KernelFn = void (*)(const BoundNode & n, const LaunchCtx & ctx);
using ScratchFn = size_t (*)(const BoundNode & n, int sm_count);  // may be null
// Shape limits of a kernel beyond its types (grid extents, head_dim); may be null (no limit).
using FitsFn = bool (*)(const core::Node & node);

// Wildcard for "no such source".
using core::kNone;  // "no such source" in a key

struct KernelEntry {
    KernelFn fn = nullptr;
    ScratchFn scratch = nullptr;
    FitsFn fits = nullptr;
};

class KernelTable {
public:
    void add(core::Op op, Type dst, Type src0, Type src1, KernelFn fn, ScratchFn scratch = nullptr,
             FitsFn fits = nullptr);
    // The entry for the node's (op, types) whose shape limits the node meets; nullptr otherwise.
    const KernelEntry * find(const core::Node & node) const;
    size_t size() const { return table_.size(); }
    bool has(core::Op op, Type dst, Type src0, Type src1) const;  // by types alone (docs, tests)

private:
    std::unordered_map<uint64_t, KernelEntry> table_;  // by core::kernel_key
};

// One registration function per op family (ops/*.cu), called by the CudaBackend constructor.
void register_elementwise(KernelTable & t);
void register_norm_rope(KernelTable & t);
void register_matmul(KernelTable & t);
void register_attention(KernelTable & t);
void register_copy(KernelTable & t);

// The optional key-position source of attention / soft_max (docs: the kpos contract): I32 [n_kv],
// the position held by each cache slot, -1 for an empty slot. nullptr when the node has none, in
// which case slot j holds position j.
inline const int32_t * kpos_ptr(const BoundNode & n, int index) {
    if (index >= core::kMaxSrc || n.node->n_src <= index) return nullptr;
    return reinterpret_cast<const int32_t *>(dev_ptr(n.src[size_t(index)]));
}

// Grid size for a grid-stride loop over n items with `threads` per block.
inline unsigned grid_for(int64_t n, int threads) {
    const int64_t blocks = (n + threads - 1) / threads;
    return unsigned(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

}  // namespace quanta::backends::cuda
