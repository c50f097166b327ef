// backends/vulkan/vk_backend.cpp — buffers (unified or device-local + staging), the per-run command
// buffer with one submit, waiting, and the QUANTA_VK_PROFILE table.
#include "backends/vulkan/vk_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace quanta::backends::vulkan {

namespace {

Status vk_fail(const std::string & what, VkResult r) {
    return Status::error("vulkan: " + what + " failed: " + vk_result_name(r));
}

#define QUANTA_VKB(call, what)                                  \
    do {                                                        \
        VkResult quanta_vkb_r_ = (call);                        \
        if (quanta_vkb_r_ != VK_SUCCESS) return vk_fail(what, quanta_vkb_r_); \
    } while (0)

constexpr size_t kStagingBytes = 64ull << 20;

// Everything before it (shaders, copies, host writes) is visible to everything after it.
void full_barrier(VkCommandBuffer cb) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0,
                         nullptr);
}

}  // namespace

BackendBuffer::BackendBuffer(core::Backend & owner, Device & device, vulkan::Buffer vk, size_t * allocated)
    : core::Buffer(owner, vk.bytes, nullptr), device_(device), vk_(vk), allocated_(allocated) {
    *allocated_ += vk_.bytes;
}

BackendBuffer::~BackendBuffer() {
    *allocated_ -= vk_.bytes;
    device_.free(vk_);
}

Result<std::unique_ptr<VkBackend>> VkBackend::create(int index) {
    std::unique_ptr<VkBackend> b(new VkBackend());
    QUANTA_TRY(b->init(index));
    return b;
}

Status VkBackend::init(int index) {
    auto dev = Device::open(index);
    if (!dev.ok()) return dev.status();
    device_ = std::move(dev.value());
    name_ = "vulkan:" + std::to_string(index);
    table_ = std::make_unique<KernelTable>(device_->info().features);
    register_elementwise(*table_);
    register_norm_rope(*table_);
    register_attention(*table_);
    register_copy(*table_);
    register_matmul(*table_);
    register_get_rows(*table_);

    VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pi.queueFamilyIndex = device_->queue_family();
    QUANTA_VKB(vkCreateCommandPool(device_->handle(), &pi, nullptr, &pool_), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    QUANTA_VKB(vkAllocateCommandBuffers(device_->handle(), &ai, &cb_), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    QUANTA_VKB(vkCreateFence(device_->handle(), &fi, nullptr, &fence_), "vkCreateFence");

    const char * prof = std::getenv("QUANTA_VK_PROFILE");
    profiling_ = prof && prof[0] && std::string(prof) != "0";
    if (profiling_ && device_->timestamp_bits() == 0) {
        std::fprintf(stderr, "quanta: warning: vulkan: QUANTA_VK_PROFILE set but '%s' has no compute timestamps\n",
                     device_->info().name.c_str());
        profiling_ = false;
    }
    recorder_ = std::make_unique<Recorder>(*device_, cb_);
    recorder_->enable_profiling(profiling_);
    return ok_status();
}

VkBackend::~VkBackend() {
    if (!device_) return;
    (void)wait_pending();
    if (profiling_ && !profile_.empty()) std::fputs(profile_table().c_str(), stderr);
    recorder_.reset();
    if (staging_.buffer) device_->free(staging_);
    VkDevice dev = device_->handle();
    if (fence_) vkDestroyFence(dev, fence_, nullptr);
    if (pool_) vkDestroyCommandPool(dev, pool_, nullptr);
}

std::string VkBackend::profile_table() const {
    std::vector<std::pair<std::string, ProfileRow>> rows(profile_.begin(), profile_.end());
    std::sort(rows.begin(), rows.end(), [](const auto & a, const auto & b) { return a.second.ms > b.second.ms; });
    double total = 0.0;
    for (const auto & r : rows) total += r.second.ms;
    std::string out = "vulkan profile (" + name_ + ", " + device_->info().name + "; " + describe(device_->shapes()) +
                      "): GPU time per op (mul_mat: kernel, weight type, k x n)\n";
    char line[200];
    std::snprintf(line, sizeof line, "  %-28s %10s %12s %10s %7s\n", "op", "calls", "total ms", "us/call", "share");
    out += line;
    for (const auto & [op, r] : rows) {
        std::snprintf(line, sizeof line, "  %-28s %10lld %12.3f %10.1f %6.1f%%\n", op.c_str(), (long long)r.calls, r.ms,
                      r.calls ? 1000.0 * r.ms / double(r.calls) : 0.0, total > 0 ? 100.0 * r.ms / total : 0.0);
        out += line;
    }
    std::snprintf(line, sizeof line, "  %-28s %10s %12.3f\n", "total", "", total);
    out += line;
    return out;
}

Status VkBackend::wait_pending() {
    if (!pending_) return ok_status();
    pending_ = false;
    VkResult r = vkWaitForFences(device_->handle(), 1, &fence_, VK_TRUE, UINT64_MAX);
    vkResetFences(device_->handle(), 1, &fence_);
    if (r != VK_SUCCESS) return vk_fail("waiting for a graph run", r);
    if (uint32_t * err = recorder_->error_words(); err && err[0] != 0) {
        const uint32_t code = err[0];
        const std::string op = code >= 1 && code <= uint32_t(core::kOpCount) ? std::string(core::op_name(core::Op(code - 1)))
                                                                             : "op " + std::to_string(code);
        Status e = Status::error("vulkan: " + op + ": row id " + std::to_string(int32_t(err[1])) + " at " +
                                 std::to_string(err[2]) + " is out of range [0, " + std::to_string(err[3]) + ")");
        std::memset(err, 0, 16);
        return e;
    }
    if (profiling_ && recorder_->queries() > 1) {
        std::vector<uint64_t> ts(recorder_->queries());
        r = vkGetQueryPoolResults(device_->handle(), recorder_->query_pool(), 0, recorder_->queries(),
                                  ts.size() * sizeof(uint64_t), ts.data(), sizeof(uint64_t),
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (r == VK_SUCCESS) {
            const double period_ms = double(device_->limits().timestampPeriod) * 1e-6;
            for (const Recorder::Timing & t : recorder_->timings()) {
                ProfileRow & row = profile_[t.op];
                row.calls += 1;
                row.ms += double(ts[t.last] - ts[t.first]) * period_ms;
            }
        }
    }
    return ok_status();
}

Status VkBackend::check_range(const core::Buffer & b, size_t offset, size_t bytes, const char * what) const {
    if (&b.backend() != this) {
        return Status::error("vulkan: " + std::string(what) + " with a buffer of backend '" +
                             std::string(b.backend().name()) + "'");
    }
    if (offset > b.size() || b.size() - offset < bytes) {
        return Status::error("vulkan: " + std::string(what) + " of " + std::to_string(bytes) + " bytes at offset " +
                             std::to_string(offset) + " overruns a buffer of " + std::to_string(b.size()));
    }
    return ok_status();
}

Result<core::BufferPtr> VkBackend::alloc(size_t bytes) {
    // Round up to 4 bytes so shaders may read whole uint words at the end of any tensor.
    const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    auto b = device_->alloc(rounded, device_->unified_memory() ? Memory::Host : Memory::Device);
    if (!b.ok()) {
        return Status::error(b.status().message() + " (backend " + name_ + ", " + std::to_string(bytes) +
                             " bytes requested)");
    }
    core::BufferPtr out(new BackendBuffer(*this, *device_, *b, &allocated_));
    if (poison_) {
        std::vector<uint8_t> nan(std::min<size_t>(rounded, kStagingBytes), 0xFF);
        for (size_t off = 0; off < rounded; off += nan.size()) {
            QUANTA_TRY(upload(*out, off, nan.data(), std::min(nan.size(), rounded - off)));
        }
    }
    return out;
}

Status VkBackend::staging_copy(VkBuffer buffer, size_t offset, void * host, size_t bytes, bool to_device) {
    if (!staging_.buffer) {
        auto s = device_->alloc(kStagingBytes, Memory::Host);
        if (!s.ok()) return s.status();
        staging_ = *s;
    }
    for (size_t done = 0; done < bytes;) {
        const size_t n = std::min(bytes - done, staging_.bytes);
        if (to_device) std::memcpy(staging_.mapped, static_cast<const char *>(host) + done, n);
        VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        QUANTA_VKB(vkBeginCommandBuffer(cb_, &bi), "vkBeginCommandBuffer");
        full_barrier(cb_);
        VkBufferCopy region{};
        region.size = n;
        if (to_device) {
            region.dstOffset = offset + done;
            vkCmdCopyBuffer(cb_, staging_.buffer, buffer, 1, &region);
        } else {
            region.srcOffset = offset + done;
            vkCmdCopyBuffer(cb_, buffer, staging_.buffer, 1, &region);
        }
        full_barrier(cb_);
        QUANTA_VKB(vkEndCommandBuffer(cb_), "vkEndCommandBuffer");
        VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
        si.commandBufferCount = 1;
        si.pCommandBuffers = &cb_;
        QUANTA_VKB(vkQueueSubmit(device_->queue(), 1, &si, fence_), "vkQueueSubmit (copy)");
        VkResult r = vkWaitForFences(device_->handle(), 1, &fence_, VK_TRUE, UINT64_MAX);
        vkResetFences(device_->handle(), 1, &fence_);
        if (r != VK_SUCCESS) return vk_fail("waiting for a copy", r);
        if (!to_device) std::memcpy(static_cast<char *>(host) + done, staging_.mapped, n);
        done += n;
    }
    return ok_status();
}

Status VkBackend::upload(core::Buffer & dst, size_t offset, const void * src, size_t bytes) {
    QUANTA_TRY(check_range(dst, offset, bytes, "upload"));
    QUANTA_TRY(wait_pending());
    if (bytes == 0) return ok_status();
    const Buffer & vk = static_cast<BackendBuffer &>(dst).vk();
    if (vk.mapped) {
        std::memcpy(static_cast<char *>(vk.mapped) + offset, src, bytes);
        return ok_status();
    }
    return staging_copy(vk.buffer, offset, const_cast<void *>(src), bytes, true);
}

Status VkBackend::download(const core::Buffer & src, size_t offset, void * dst, size_t bytes) {
    QUANTA_TRY(check_range(src, offset, bytes, "download"));
    QUANTA_TRY(wait_pending());
    if (bytes == 0) return ok_status();
    const Buffer & vk = static_cast<const BackendBuffer &>(src).vk();
    if (vk.mapped) {
        std::memcpy(dst, static_cast<const char *>(vk.mapped) + offset, bytes);
        return ok_status();
    }
    return staging_copy(vk.buffer, offset, dst, bytes, false);
}

bool VkBackend::supports(const core::Node & node) const { return table_->find(node) != nullptr; }

Status VkBackend::run(std::span<const core::BoundNode> nodes) {
    QUANTA_TRY(wait_pending());
    if (nodes.empty()) return ok_status();
    QUANTA_VKB(vkResetCommandBuffer(cb_, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    QUANTA_VKB(vkBeginCommandBuffer(cb_, &bi), "vkBeginCommandBuffer");
    recorder_->reset(cb_);
    full_barrier(cb_);  // uploads and earlier submissions before this run's dispatches
    Status status;
    for (const core::BoundNode & n : nodes) {
        RecordFn fn = table_->find(*n.node);
        if (!fn) {
            status = Status::error("vulkan: no kernel for " + std::string(core::op_name(n.node->op)) +
                                   " with these types (supports() said no)");
            break;
        }
        recorder_->begin_node();
        status = fn(n, *recorder_);
        if (!status.ok()) break;
        recorder_->end_node(*n.node);
    }
    full_barrier(cb_);  // results visible to the host and to later submissions
    QUANTA_VKB(vkEndCommandBuffer(cb_), "vkEndCommandBuffer");
    if (!status.ok()) return status;  // recorded but never submitted
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb_;
    QUANTA_VKB(vkQueueSubmit(device_->queue(), 1, &si, fence_), "vkQueueSubmit");
    pending_ = true;
    ++submissions_;
    dispatches_ += recorder_->dispatches();
    return ok_status();
}

Status VkBackend::sync() { return wait_pending(); }

}  // namespace quanta::backends::vulkan
