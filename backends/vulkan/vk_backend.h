// backends/vulkan/vk_backend.h — the Vulkan compute backend behind core::Backend.
//
// Memory: on unified-memory devices (lavapipe, integrated GPUs) every buffer is host-visible and
// coherent, so upload/download are memcpy after waiting for the GPU; on discrete GPUs buffers are
// device-local and upload/download go through a host-visible staging buffer and vkCmdCopyBuffer.
// Buffers never expose host_data(): the executor then always moves bytes through upload/download,
// which are ordered after submitted work (core/backend.h), so the CPU never reads a result early.
//
// run(): one command buffer per call: every node's dispatches (kernels.h says how a kernel records),
// barriers only between dependent dispatches, one vkQueueSubmit with a fence at the end, and
// return without waiting. The next run(), upload(), download() or sync() waits for that fence.
// QUANTA_VK_PROFILE=1: a timestamp after every node; per-op totals printed to stderr when the
// backend is destroyed.
// Thread safety: one thread drives a backend (as core::Backend says).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "backends/vulkan/device.h"
#include "backends/vulkan/kernels.h"
#include "core/backend.h"

namespace quanta::backends::vulkan {

// A core::Buffer backed by a VkBuffer of the backend's device.
class BackendBuffer final : public core::Buffer {
public:
    BackendBuffer(core::Backend & owner, Device & device, vulkan::Buffer vk, size_t * allocated);
    ~BackendBuffer() override;
    // (vulkan::Buffer spelled out: inside this class `Buffer` names the base, core::Buffer.)
    const vulkan::Buffer & vk() const { return vk_; }

private:
    Device & device_;
    vulkan::Buffer vk_;
    size_t * allocated_;  // the backend's running total
};

struct ProfileRow {
    int64_t calls = 0;
    double ms = 0.0;
};

class VkBackend final : public core::Backend {
public:
    // Opens device `index` (0 = the first that `quanta version` lists).
    static Result<std::unique_ptr<VkBackend>> create(int index);
    ~VkBackend() override;

    std::string_view name() const override { return name_; }
    Result<core::BufferPtr> alloc(size_t bytes) override;
    Status upload(core::Buffer & dst, size_t offset, const void * src, size_t bytes) override;
    Status download(const core::Buffer & src, size_t offset, void * dst, size_t bytes) override;
    bool supports(const core::Node & node) const override;
    Status run(std::span<const core::BoundNode> nodes) override;
    Status sync() override;

    Device & device() { return *device_; }
    // Device memory: total = the device-local heaps; free = total minus what this backend holds now
    // (other processes' use is not visible without VK_EXT_memory_budget).
    size_t total_memory() const { return size_t(device_->info().device_local_bytes); }
    size_t allocated_bytes() const { return allocated_; }
    const KernelTable & kernels() const { return *table_; }
    int submissions() const { return submissions_; }         // vkQueueSubmit calls of run() so far
    int64_t dispatches() const { return dispatches_; }       // dispatches recorded so far
    const std::map<std::string, ProfileRow> & profile() const { return profile_; }
    std::string profile_table() const;                       // the QUANTA_VK_PROFILE table
    // Debug: fill every new allocation with 0xFF bytes (NaN as F32), so a kernel that leaves an
    // output element unwritten shows up in tests.
    void poison_new_buffers(bool on) { poison_ = on; }
    // Tests: caps each binding at `bytes` (0: the device's maxStorageBufferRange) so the paths that
    // split tensors larger than one binding run on small tensors. Kernels that cannot split fail.
    void limit_binding_range(uint64_t bytes) { recorder_->limit_range(bytes); }

private:
    VkBackend() = default;
    Status init(int index);
    Status wait_pending();  // waits for the last run's fence, collects timestamps, frees per-run resources
    Status staging_copy(VkBuffer buffer, size_t offset, void * host, size_t bytes, bool to_device);
    Status check_range(const core::Buffer & b, size_t offset, size_t bytes, const char * what) const;

    std::string name_;
    std::unique_ptr<Device> device_;
    std::unique_ptr<KernelTable> table_;
    std::unique_ptr<Recorder> recorder_;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkCommandBuffer cb_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    bool pending_ = false;
    Status pending_error_;
    Buffer staging_;  // discrete GPUs: host-visible bounce buffer, grown on demand
    bool profiling_ = false;
    bool poison_ = false;
    size_t allocated_ = 0;
    int submissions_ = 0;
    int64_t dispatches_ = 0;
    std::map<std::string, ProfileRow> profile_;
};

}  // namespace quanta::backends::vulkan
