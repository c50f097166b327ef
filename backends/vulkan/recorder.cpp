// backends/vulkan/recorder.cpp — recording one run's dispatches: descriptor windows over tensors,
// per-run descriptor pools and constant buffers, hazard-tracked barriers, timestamps; plus the
// kernel table and the row splitter for tensors larger than one binding (kernels.h).
#include <algorithm>
#include <cstring>

#include "backends/vulkan/kernels.h"
#include "backends/vulkan/vk_backend.h"
#include "quant/types.h"

namespace quanta::backends::vulkan {

namespace {

constexpr uint32_t kSetsPerPool = 512;
constexpr uint32_t kDescriptorsPerPool = 4096;
constexpr size_t kConstantArena = 256 * 1024;
constexpr uint32_t kMaxQueries = 8192;

Status vk_fail(const char * what, VkResult r) {
    return Status::error(std::string("vulkan: ") + what + " failed: " + vk_result_name(r));
}

}  // namespace

Recorder::Recorder(Device & device, VkCommandBuffer cb) : device_(device), cb_(cb) {
    max_range_ = device.info().features.max_storage_buffer_range;
}

void Recorder::limit_range(uint64_t bytes) {
    const uint64_t device = device_.info().features.max_storage_buffer_range;
    max_range_ = bytes == 0 ? device : std::min(bytes, device);
}

Recorder::~Recorder() {
    VkDevice dev = device_.handle();
    for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(dev, p, nullptr);
    for (Buffer & b : constant_buffers_) device_.free(b);
    if (constant_arena_.buffer) device_.free(constant_arena_);
    if (errors_.buffer) device_.free(errors_);
    if (scratch_arena_.buffer) device_.free(scratch_arena_);
    if (query_pool_) vkDestroyQueryPool(dev, query_pool_, nullptr);
}

void Recorder::reset(VkCommandBuffer cb) {
    cb_ = cb;
    for (VkDescriptorPool p : pools_) vkResetDescriptorPool(device_.handle(), p, 0);
    pool_in_use_ = 0;
    sets_in_pool_ = 0;
    for (Buffer & b : constant_buffers_) device_.free(b);
    constant_buffers_.clear();
    constant_used_ = 0;
    scratch_used_ = 0;
    written_.clear();
    read_.clear();
    dispatches_ = 0;
    timings_.clear();
    queries_ = 0;
    if (profile_ && device_.timestamp_bits() > 0) {
        if (!query_pool_) {
            VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
            qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
            qi.queryCount = kMaxQueries;
            if (vkCreateQueryPool(device_.handle(), &qi, nullptr, &query_pool_) == VK_SUCCESS) query_capacity_ = kMaxQueries;
        }
        if (query_pool_) vkCmdResetQueryPool(cb_, query_pool_, 0, query_capacity_);
    }
}

void Recorder::begin_node() {
    if (!query_pool_ || !profile_) return;
    if (queries_ == 0 && queries_ < query_capacity_) {
        vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, query_pool_, queries_++);
    }
    node_first_ = queries_ - 1;
}

void Recorder::end_node(const core::Node & node) {
    if (!query_pool_ || !profile_ || queries_ == 0 || queries_ >= query_capacity_) return;
    vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, query_pool_, queries_);
    // mul_mat rows name the kernel and the weight (the output head apart from the layers' matrices).
    std::string label(core::op_name(node.op));
    if (node.op == core::Op::MulMat) {
        const core::Tensor & w = node.src[0];
        label += std::string(node.src[1].ne[1] <= 8 ? " vec " : " mm ") + quant::traits(w.type).name + " " +
                 std::to_string(w.ne[0]) + "x" + std::to_string(w.ne[1]);
    }
    timings_.push_back({std::move(label), node_first_, queries_});
    ++queries_;
}

Result<View> Recorder::make_view(VkBuffer buffer, size_t buffer_bytes, size_t offset, size_t bytes, uint32_t unit,
                                 bool write) {
    const size_t align = std::max<size_t>(size_t(device_.limits().minStorageBufferOffsetAlignment), 4);
    const size_t base = offset / align * align;
    if ((offset - base) % unit != 0) {
        return Status::error("vulkan: a tensor at byte " + std::to_string(offset) + " is not aligned to the shader's " +
                             std::to_string(unit) + "-byte elements");
    }
    const size_t need = offset - base + bytes;
    if (need > max_range_) {
        return Status::error("vulkan: a binding of " + std::to_string(need) + " bytes exceeds the device's " +
                             "maxStorageBufferRange (" + std::to_string(max_range_) + "); the kernel must split it");
    }
    if (offset + bytes > buffer_bytes) {
        return Status::error("vulkan: bytes [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                             ") overrun a buffer of " + std::to_string(buffer_bytes));
    }
    View v;
    v.buffer = buffer;
    v.offset = base;
    // Round the range up to 4 bytes (uint[] arrays) without passing the end of the buffer.
    v.range = std::min<size_t>((need + 3) / 4 * 4, buffer_bytes - base);
    v.first = uint32_t((offset - base) / unit);
    v.write = write;
    v.lo = offset;
    v.hi = offset + bytes;
    return v;
}

Result<View> Recorder::tensor(const BoundTensor & t, uint32_t unit, bool write) {
    QUANTA_CHECK(t.buffer != nullptr);
    const auto * b = dynamic_cast<const BackendBuffer *>(t.buffer);
    if (!b) {
        return Status::error("vulkan: a tensor lives in a buffer of backend '" + std::string(t.buffer->backend().name()) +
                             "', not of this Vulkan device");
    }
    return make_view(b->vk().buffer, b->vk().bytes, t.offset, t.extent_bytes(), unit, write);
}

Result<View> Recorder::window(const core::Buffer & buffer, size_t offset, size_t bytes, uint32_t unit, bool write) {
    const auto * b = dynamic_cast<const BackendBuffer *>(&buffer);
    if (!b) return Status::error("vulkan: window into a buffer of another backend");
    return make_view(b->vk().buffer, b->vk().bytes, offset, bytes, unit, write);
}

Result<View> Recorder::constants(const void * data, size_t bytes) {
    const size_t align = std::max<size_t>(size_t(device_.limits().minStorageBufferOffsetAlignment), 16);
    if (!constant_arena_.buffer || constant_used_ + bytes > constant_arena_.bytes) {
        if (constant_arena_.buffer) constant_buffers_.push_back(constant_arena_);  // still used by this run
        auto b = device_.alloc(std::max(kConstantArena, bytes), Memory::Host);
        if (!b.ok()) return b.status();
        constant_arena_ = *b;
        constant_used_ = 0;
    }
    std::memcpy(static_cast<char *>(constant_arena_.mapped) + constant_used_, data, bytes);
    Result<View> v = make_view(constant_arena_.buffer, constant_arena_.bytes, constant_used_, bytes, 4, false);
    constant_used_ = (constant_used_ + bytes + align - 1) / align * align;
    if (v.ok()) v->hi = v->lo;  // written by the host before submit: no hazard with dispatches
    return v;
}

Result<View> Recorder::scratch(size_t bytes) {
    const size_t align = std::max<size_t>(size_t(device_.limits().minStorageBufferOffsetAlignment), 16);
    if (!scratch_arena_.buffer || scratch_used_ + bytes > scratch_arena_.bytes) {
        // Too small: keep the old arena alive for this run, and allocate one that fits twice this
        // run's use so far (later runs then reuse it).
        if (scratch_arena_.buffer) constant_buffers_.push_back(scratch_arena_);
        const size_t want = std::min<size_t>(std::max<size_t>(2 * (scratch_used_ + bytes), size_t(1) << 20), max_range_);
        auto b = device_.alloc(std::max(want, bytes), device_.unified_memory() ? Memory::Host : Memory::Device);
        if (!b.ok()) return b.status();
        scratch_arena_ = *b;
        scratch_used_ = 0;
    }
    Result<View> v = make_view(scratch_arena_.buffer, scratch_arena_.bytes, scratch_used_, bytes, 4, true);
    scratch_used_ = (scratch_used_ + bytes + align - 1) / align * align;
    return v;
}

Result<View> Recorder::data_errors() {
    if (!errors_.buffer) {
        auto b = device_.alloc(16, Memory::Host);
        if (!b.ok()) return b.status();
        errors_ = *b;
        std::memset(errors_.mapped, 0, 16);
    }
    Result<View> v = make_view(errors_.buffer, errors_.bytes, 0, 16, 4, true);
    if (v.ok()) v->hi = v->lo;  // atomics only; no ordering needed between dispatches
    return v;
}

Result<Pipeline *> Recorder::pipeline(const std::string & shader, uint32_t n_buffers, uint32_t push_bytes,
                                      std::initializer_list<uint32_t> spec) {
    return device_.pipeline(shader, n_buffers, push_bytes, std::span<const uint32_t>(spec.begin(), spec.size()));
}

void Recorder::grid_for(uint64_t groups, uint32_t & gx, uint32_t & gy) const {
    const uint64_t max_x = std::min<uint64_t>(device_.limits().maxComputeWorkGroupCount[0], 65535);
    if (groups <= max_x) {
        gx = uint32_t(std::max<uint64_t>(groups, 1));
        gy = 1;
    } else {
        gx = uint32_t(max_x);
        gy = uint32_t((groups + max_x - 1) / max_x);
    }
}

void Recorder::hazard_barrier(std::initializer_list<View> views) {
    auto hit = [](const std::vector<Range> & ranges, const View & v) {
        for (const Range & r : ranges) {
            if (r.buffer == v.buffer && r.lo < v.hi && v.lo < r.hi) return true;
        }
        return false;
    };
    bool need = false;
    for (const View & v : views) {
        if (v.hi == v.lo) continue;
        if (hit(written_, v) || (v.write && hit(read_, v))) { need = true; break; }
    }
    if (need) {
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
        mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
        vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb,
                             0, nullptr, 0, nullptr);
        written_.clear();
        read_.clear();
    }
    for (const View & v : views) {
        if (v.hi == v.lo) continue;
        (v.write ? written_ : read_).push_back({v.buffer, v.lo, v.hi});
    }
}

Result<VkDescriptorSet> Recorder::allocate_set(VkDescriptorSetLayout layout) {
    for (;;) {
        if (pool_in_use_ == pools_.size()) {
            VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kDescriptorsPerPool};
            VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
            info.maxSets = kSetsPerPool;
            info.poolSizeCount = 1;
            info.pPoolSizes = &size;
            VkDescriptorPool pool = VK_NULL_HANDLE;
            VkResult r = vkCreateDescriptorPool(device_.handle(), &info, nullptr, &pool);
            if (r != VK_SUCCESS) return vk_fail("vkCreateDescriptorPool", r);
            pools_.push_back(pool);
            sets_in_pool_ = 0;
        }
        if (sets_in_pool_ < kSetsPerPool) {
            VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
            ai.descriptorPool = pools_[pool_in_use_];
            ai.descriptorSetCount = 1;
            ai.pSetLayouts = &layout;
            VkDescriptorSet set = VK_NULL_HANDLE;
            VkResult r = vkAllocateDescriptorSets(device_.handle(), &ai, &set);
            if (r == VK_SUCCESS) {
                ++sets_in_pool_;
                return set;
            }
            if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) return vk_fail("vkAllocateDescriptorSets", r);
        }
        ++pool_in_use_;  // this pool is full: the next one (created above when missing)
        sets_in_pool_ = 0;
    }
}

Status Recorder::dispatch(const Pipeline & p, std::initializer_list<View> views, const void * push, uint32_t gx,
                          uint32_t gy, uint32_t gz) {
    QUANTA_CHECK(views.size() == p.n_buffers);
    Result<VkDescriptorSet> set = allocate_set(p.set_layout);
    if (!set.ok()) return set.status();
    VkDescriptorBufferInfo infos[16];
    VkWriteDescriptorSet writes[16];
    QUANTA_CHECK(views.size() <= 16);
    uint32_t i = 0;
    for (const View & v : views) {
        infos[i] = {v.buffer, v.offset, v.range};
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = *set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
        ++i;
    }
    vkUpdateDescriptorSets(device_.handle(), i, writes, 0, nullptr);
    hazard_barrier(views);
    vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
    vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &*set, 0, nullptr);
    if (p.push_bytes) vkCmdPushConstants(cb_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p.push_bytes, push);
    vkCmdDispatch(cb_, gx, gy, gz);
    ++dispatches_;
    return ok_status();
}

void KernelTable::add(core::Op op, Type dst, Type src0, Type src1, RecordFn fn) {
    table_[core::kernel_key(op, dst, src0, src1)] = fn;
}

RecordFn KernelTable::find(const core::Node & node) const {
    auto it = table_.find(core::kernel_key(node));
    return it == table_.end() ? nullptr : it->second;
}

Status split_rows(const BoundNode & n, uint64_t max_range, const std::function<Status(const BoundNode &)> & f) {
    const int n_src = std::min(n.node->n_src, core::kMaxSrc);
    // 256: room for the descriptor offset's alignment.
    bool fits = n.dst.extent_bytes() + 256 <= max_range;
    for (int i = 0; i < n_src && fits; ++i) fits = n.src[size_t(i)].extent_bytes() + 256 <= max_range;
    if (fits) return f(n);

    int d = core::kMaxDims - 1;
    while (d > 0 && n.dst.ne[size_t(d)] == 1) --d;
    if (d == 0) {
        return Status::error("vulkan: " + std::string(core::op_name(n.node->op)) + ": one row of " +
                             std::to_string(n.dst.ne[0]) + " elements exceeds maxStorageBufferRange (" +
                             std::to_string(max_range) + " bytes)");
    }
    const int64_t total = n.dst.ne[size_t(d)];
    // Slices per part: the most that keep every sliced operand within the range.
    int64_t per = total;
    auto limit = [&](const BoundTensor & t) {
        if (t.ne[size_t(d)] != total) return;
        BoundTensor one = t;
        one.ne[size_t(d)] = 1;
        const size_t slice = one.extent_bytes() + 256;
        const int64_t step = std::max<int64_t>(t.nb[size_t(d)], 1);
        per = slice > max_range ? 1 : std::min<int64_t>(per, std::max<int64_t>(1, int64_t(max_range - slice) / step + 1));
    };
    limit(n.dst);
    for (int i = 0; i < n_src; ++i) limit(n.src[size_t(i)]);
    for (int i = 0; i < n_src; ++i) {
        const int64_t e = n.src[size_t(i)].ne[size_t(d)];
        if (e != total && e != 1) {
            return Status::error("vulkan: " + std::string(core::op_name(n.node->op)) + ": operand " + std::to_string(i) +
                                 " broadcasts in dim " + std::to_string(d) + " and the tensors exceed maxStorageBufferRange");
        }
    }
    for (int64_t s = 0; s < total; s += per) {
        const int64_t len = std::min(per, total - s);
        BoundNode part = n;
        auto cut = [&](BoundTensor & t) {
            if (t.ne[size_t(d)] != total) return;
            t.offset += size_t(s * t.nb[size_t(d)]);
            t.ne[size_t(d)] = len;
        };
        cut(part.dst);
        for (int i = 0; i < n_src; ++i) cut(part.src[size_t(i)]);
        QUANTA_TRY(split_rows(part, max_range, f));
    }
    return ok_status();
}

}  // namespace quanta::backends::vulkan
