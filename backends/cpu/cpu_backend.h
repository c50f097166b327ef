// backends/cpu/cpu_backend.h — the reference backend: every op of core/ops.def, in host memory,
// on a persistent thread pool. Synchronous: run() returns when the nodes are done.
#pragma once

#include <memory>
#include <string>

#include "backends/cpu/kernels.h"
#include "core/backend.h"

namespace quanta::backends::cpu {

class CpuBackend final : public core::Backend {
public:
    // n_threads <= 0: ThreadPool::default_threads() (the physical cores).
    explicit CpuBackend(int n_threads = 0, std::string name = "cpu");
    ~CpuBackend() override;

    std::string_view name() const override { return name_; }
    Result<core::BufferPtr> alloc(size_t bytes) override;
    Result<core::BufferPtr> wrap_host(void * data, size_t bytes) override;
    Status upload(core::Buffer & dst, size_t offset, const void * src, size_t bytes) override;
    Status download(const core::Buffer & src, size_t offset, void * dst, size_t bytes) override;
    bool supports(const core::Node & node) const override;
    Status run(std::span<const core::BoundNode> nodes) override;
    Status sync() override { return ok_status(); }

    int n_threads() const { return pool_.size(); }
    const KernelTable & kernels() const { return table_; }

private:
    std::string name_;
    ThreadPool pool_;
    KernelTable table_;
    void * work_ = nullptr;  // shared kernel scratch, grown on demand
    size_t work_size_ = 0;
};

}  // namespace quanta::backends::cpu
