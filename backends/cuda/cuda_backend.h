// backends/cuda/cuda_backend.h — the CUDA backend: device buffers, pinned staging for uploads and
// downloads, the kernel table of ops/*.cu, one stream, and CUDA graphs for repeated runs.
//
// Ordering (core/backend.h): everything is issued on one stream, so uploads, runs and downloads
// execute in submission order. run() only launches; sync() waits and reports the first CUDA error
// or data error (an id out of range) of the work since the last sync.
// CUDA graphs: when run() is called with the same bound nodes as the previous call (same nodes,
// params, types, shapes, strides and device addresses), the second call captures the launches
// into a graph and later calls replay it (one launch instead of hundreds: the decode step).
// QUANTA_CUDA_GRAPHS=0 turns this off. Poisoning (tests, QUANTA_CUDA_POISON=1): every node's
// output is filled with 0xFF bytes (NaN for floats) before its kernel, so an element a kernel fails
// to write shows up as NaN instead of a stale correct value.
// Thread safety: one thread drives a backend at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/kernels.h"
#include "backends/cuda/ops/repack.h"
#include "core/backend.h"

namespace quanta::backends::cuda {

struct DeviceMemory {
    size_t free_bytes = 0;
    size_t total_bytes = 0;
};

class CudaBackend final : public core::Backend {
public:
    // Opens device `device` (0-based). Fails with a Status naming the device and the runtime's
    // reason (no driver, no such device, out of memory for the staging buffers).
    static Result<std::unique_ptr<CudaBackend>> create(int device);
    ~CudaBackend() override;

    std::string_view name() const override { return name_; }
    Result<core::BufferPtr> alloc(size_t bytes) override;
    Status upload(core::Buffer & dst, size_t offset, const void * src, size_t bytes) override;
    Status download(const core::Buffer & src, size_t offset, void * dst, size_t bytes) override;
    bool supports(const core::Node & node) const override;
    Status run(std::span<const core::BoundNode> nodes) override;
    Status sync() override;

    Result<DeviceMemory> memory() const;  // free and total device memory now
    // Both change what a run launches, so a captured graph is dropped.
    void set_poison(bool on) { poison_ = on; forget_graph(); }
    void set_graphs(bool on) { graphs_ = on; forget_graph(); }
    int graph_replays() const { return graph_replays_; }  // runs served by a replayed graph
    const RepackCache & repacks() const { return repacks_; }  // repacked weight copies (ops/repack.h)
    // A buffer's bytes are going away: drops the repacked copies made from them (CudaBuffer's destructor).
    void buffer_freed(const void * device, size_t bytes);
    const KernelTable & kernels() const { return table_; }

private:
    CudaBackend(int device, std::string name);
    Status launch_all(std::span<const core::BoundNode> nodes);  // with entries_ filled by run()
    Status ensure_scratch(size_t bytes);
    void prepare_repacks(std::span<const core::BoundNode> nodes);
    // Frees every repacked copy and makes no more (their memory is needed: alloc, ensure_scratch).
    void drop_repacks();
    void drop_graph();
    void forget_graph() {
        drop_graph();
        last_signature_.clear();
        capture_failed_ = false;
    }
    Status cuda_error(cudaError_t err, const std::string & what) const;

    int device_;
    std::string name_;
    int sm_count_ = 1;
    cudaStream_t stream_ = nullptr;
    static constexpr size_t kStageBytes = size_t(16) << 20;  // per half of the pinned staging area
    char * stage_ = nullptr;                                  // 2 * kStageBytes pinned host bytes
    cudaEvent_t stage_done_[2] = {nullptr, nullptr};
    int * error_word_ = nullptr;                              // device DataError word
    char * scratch_ = nullptr;
    size_t scratch_size_ = 0;
    KernelTable table_;
    std::vector<const KernelEntry *> entries_;  // run(): the kernel of each node, looked up once
    bool poison_ = false;
    bool graphs_ = true;
    std::vector<uint8_t> last_signature_;
    cudaGraphExec_t graph_exec_ = nullptr;
    bool capture_failed_ = false;  // this signature could not be captured: run it directly
    int graph_replays_ = 0;
    RepackCache repacks_;  // made in run() before any capture; dropped when their source is written
};

// The backend as the registry hands it out.
Result<std::unique_ptr<core::Backend>> create_backend(int device);

}  // namespace quanta::backends::cuda
