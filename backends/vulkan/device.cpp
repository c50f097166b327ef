#include "backends/vulkan/device.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "backends/vulkan/pipeline_cache.h"
#include "backends/vulkan/shaders.h"

namespace quanta::backends::vulkan {

static Status vk_error(const char * what, VkResult r) {
    return Status::error(std::string("vulkan: ") + what + " failed: " + vk_result_name(r));
}

#define QUANTA_VK(call, what)                              \
    do {                                                   \
        VkResult quanta_vk_r_ = (call);                    \
        if (quanta_vk_r_ != VK_SUCCESS) return vk_error(what, quanta_vk_r_); \
    } while (0)

Result<std::unique_ptr<Device>> Device::open(int index) {
    std::unique_ptr<Device> device(new Device());
    Status s = device->init(index);
    if (!s.ok()) return s;
    return device;
}

Status Device::init(int index) {
    auto instance = Instance::get();
    if (!instance.ok()) return instance.status();
    instance_ = *instance;
    const auto & devices = instance_->devices();
    if (index < 0 || size_t(index) >= devices.size()) {
        return Status::error("vulkan: no device " + std::to_string(index) + " (found " +
                             std::to_string(devices.size()) + "; `quanta version` lists them)");
    }
    info_ = devices[size_t(index)];
    auto shapes = choose_shapes(info_.features, info_.type);
    if (!shapes.ok()) return shapes.status();
    shapes_ = *shapes;

    uint32_t n_families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(info_.handle, &n_families, nullptr);
    std::vector<VkQueueFamilyProperties> families(n_families);
    vkGetPhysicalDeviceQueueFamilyProperties(info_.handle, &n_families, families.data());
    bool found = false;
    for (uint32_t i = 0; i < n_families && !found; ++i) {
        if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) { queue_family_ = i; found = true; }
    }
    if (!found) return Status::error("vulkan: device '" + info_.name + "' has no compute queue");
    timestamp_bits_ = families[queue_family_].timestampValidBits;

    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(info_.handle, &props);
    limits_ = props.limits;
    if (limits_.timestampPeriod <= 0.0f) timestamp_bits_ = 0;
    vkGetPhysicalDeviceMemoryProperties(info_.handle, &memory_);
    // Unified memory: lavapipe and integrated GPUs, whose device-local memory is plain host memory.
    // QUANTA_VK_STAGING=1 (tests): treat the device as discrete, so device-local unmapped buffers
    // and the staging copies run on lavapipe too.
    const char * staging = std::getenv("QUANTA_VK_STAGING");
    force_staging_ = staging && std::string(staging) == "1";
    unified_ = !force_staging_ && (info_.type == "cpu" || info_.type == "integrated") &&
               memory_type(~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                    VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0) != UINT32_MAX;

    // Enable what the device has; shaders that need a feature check info_.features first.
    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    f11.storageBuffer16BitAccess = info_.features.storage16;
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, &f11};
    f12.shaderFloat16 = info_.features.float16;
    f12.shaderInt8 = info_.features.int8;
    f12.storageBuffer8BitAccess = info_.features.storage8;
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue_info.queueFamilyIndex = queue_family_;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f12};
    f2.features.shaderInt16 = info_.features.int16;
    VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    device_info.pNext = info_.api_version >= VK_API_VERSION_1_2 ? static_cast<void *>(&f2) : nullptr;
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    QUANTA_VK(vkCreateDevice(info_.handle, &device_info, nullptr, &device_), "vkCreateDevice");
    vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

    VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool_info.queueFamilyIndex = queue_family_;
    QUANTA_VK(vkCreateCommandPool(device_, &pool_info, nullptr, &command_pool_), "vkCreateCommandPool");

    VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1024};
    VkDescriptorPoolCreateInfo dp_info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    dp_info.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    dp_info.maxSets = 256;
    dp_info.poolSizeCount = 1;
    dp_info.pPoolSizes = &pool_size;
    QUANTA_VK(vkCreateDescriptorPool(device_, &dp_info, nullptr, &descriptor_pool_), "vkCreateDescriptorPool");

    VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    QUANTA_VK(vkCreateFence(device_, &fence_info, nullptr, &fence_), "vkCreateFence");

    pipeline_cache_path_ = pipeline_cache_path(props);
    std::vector<char> blob = load_pipeline_cache(pipeline_cache_path_, props);
    VkPipelineCacheCreateInfo cache_info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    cache_info.initialDataSize = blob.size();
    cache_info.pInitialData = blob.empty() ? nullptr : blob.data();
    if (vkCreatePipelineCache(device_, &cache_info, nullptr, &pipeline_cache_) != VK_SUCCESS) {
        // The driver rejected the blob despite a matching header: start empty.
        std::fprintf(stderr, "quanta: warning: vulkan: the driver rejected pipeline cache '%s'; starting empty\n",
                     pipeline_cache_path_.c_str());
        cache_info.initialDataSize = 0;
        cache_info.pInitialData = nullptr;
        blob.clear();
        QUANTA_VK(vkCreatePipelineCache(device_, &cache_info, nullptr, &pipeline_cache_), "vkCreatePipelineCache");
    }
    pipeline_cache_loaded_ = blob.size();
    return ok_status();
}

Status Device::set_shapes(const KernelShapes & s) {
    QUANTA_TRY(check_shapes(s, info_.features));
    shapes_ = s;
    return ok_status();
}

void Device::save_pipeline_cache() {
    if (!pipeline_cache_ || pipeline_cache_path_.empty()) return;
    size_t size = 0;
    if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
    if (size == pipeline_cache_loaded_) return;  // nothing new compiled
    std::vector<char> data(size);
    if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
    data.resize(size);
    vulkan::save_pipeline_cache(pipeline_cache_path_, data);
    pipeline_cache_loaded_ = size;
}

uint32_t Device::memory_type(uint32_t type_bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags prefer) const {
    uint32_t fallback = UINT32_MAX;
    for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
        const VkMemoryPropertyFlags f = memory_.memoryTypes[i].propertyFlags;
        if (!(type_bits & (1u << i)) || (f & want) != want) continue;
        if ((f & prefer) == prefer) return i;
        if (fallback == UINT32_MAX) fallback = i;
    }
    return fallback;
}

Device::~Device() {
    if (!device_) return;
    vkDeviceWaitIdle(device_);
    save_pipeline_cache();
    if (pipeline_cache_) vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
    for (auto & [name, p] : pipelines_) {
        vkDestroyPipeline(device_, p->pipeline, nullptr);
        vkDestroyPipelineLayout(device_, p->layout, nullptr);
        vkDestroyDescriptorSetLayout(device_, p->set_layout, nullptr);
    }
    if (fence_) vkDestroyFence(device_, fence_, nullptr);
    if (descriptor_pool_) vkDestroyDescriptorPool(device_, descriptor_pool_, nullptr);
    if (command_pool_) vkDestroyCommandPool(device_, command_pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
}

Result<Buffer> Device::alloc(size_t bytes, Memory memory) {
    if (bytes == 0) return Status::error("vulkan: buffer of 0 bytes");
    Buffer b;
    b.bytes = bytes;
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.size = bytes;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    QUANTA_VK(vkCreateBuffer(device_, &info, nullptr, &b.buffer), "vkCreateBuffer");

    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(device_, b.buffer, &req);
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const uint32_t type = memory == Memory::Host
                              ? memory_type(req.memoryTypeBits, host, unified_ ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT : 0)
                              : memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    if (type == UINT32_MAX) {
        vkDestroyBuffer(device_, b.buffer, nullptr);
        return Status::error("vulkan: device '" + info_.name + "' has no " +
                             (memory == Memory::Host ? "host-visible coherent" : "device-local") + " memory");
    }
    VkMemoryAllocateInfo alloc_info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc_info.allocationSize = req.size;
    alloc_info.memoryTypeIndex = type;
    VkResult r = vkAllocateMemory(device_, &alloc_info, nullptr, &b.memory);
    if (r == VK_SUCCESS) r = vkBindBufferMemory(device_, b.buffer, b.memory, 0);
    const bool map = (memory_.memoryTypes[type].propertyFlags & host) == host && !(force_staging_ && memory == Memory::Device);
    if (r == VK_SUCCESS && map) {
        r = vkMapMemory(device_, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
    }
    if (r != VK_SUCCESS) {
        free(b);
        return Status::error("vulkan: allocating " + std::to_string(bytes) + " bytes on '" + info_.name +
                             "' failed: " + vk_result_name(r));
    }
    return b;
}

void Device::free(Buffer & b) {
    if (b.mapped) vkUnmapMemory(device_, b.memory);
    if (b.buffer) vkDestroyBuffer(device_, b.buffer, nullptr);
    if (b.memory) vkFreeMemory(device_, b.memory, nullptr);
    b = Buffer{};
}

Result<Pipeline *> Device::pipeline(const std::string & shader, uint32_t n_buffers, uint32_t push_bytes,
                                    uint32_t local_size) {
    const uint32_t spec[1] = {local_size};
    return pipeline(shader, n_buffers, push_bytes, spec);
}

Result<Pipeline *> Device::pipeline(const std::string & shader, uint32_t n_buffers, uint32_t push_bytes,
                                    std::span<const uint32_t> spec_values) {
    std::string key = shader + "/" + std::to_string(n_buffers) + "/" + std::to_string(push_bytes);
    for (uint32_t v : spec_values) key += "/" + std::to_string(v);
    if (auto it = pipelines_.find(key); it != pipelines_.end()) return it->second.get();

    std::span<const uint32_t> code = shader_spirv(shader);
    if (code.empty()) return Status::error("vulkan: no embedded shader named '" + shader + "'");

    auto p = std::make_unique<Pipeline>();
    p->n_buffers = n_buffers;
    p->push_bytes = push_bytes;
    std::vector<VkDescriptorSetLayoutBinding> bindings(n_buffers);
    for (uint32_t i = 0; i < n_buffers; ++i) {
        bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    }
    VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    set_info.bindingCount = n_buffers;
    set_info.pBindings = bindings.data();
    QUANTA_VK(vkCreateDescriptorSetLayout(device_, &set_info, nullptr, &p->set_layout), "vkCreateDescriptorSetLayout");

    VkPushConstantRange push_range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    layout_info.setLayoutCount = 1;
    layout_info.pSetLayouts = &p->set_layout;
    layout_info.pushConstantRangeCount = push_bytes ? 1 : 0;
    layout_info.pPushConstantRanges = push_bytes ? &push_range : nullptr;
    QUANTA_VK(vkCreatePipelineLayout(device_, &layout_info, nullptr, &p->layout), "vkCreatePipelineLayout");

    VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    module_info.codeSize = code.size_bytes();
    module_info.pCode = code.data();
    VkShaderModule module = VK_NULL_HANDLE;
    QUANTA_VK(vkCreateShaderModule(device_, &module_info, nullptr, &module), "vkCreateShaderModule");

    std::vector<VkSpecializationMapEntry> entries(spec_values.size());
    for (uint32_t i = 0; i < entries.size(); ++i) entries[i] = {i, i * uint32_t(sizeof(uint32_t)), sizeof(uint32_t)};
    VkSpecializationInfo spec{uint32_t(entries.size()), entries.data(), spec_values.size_bytes(), spec_values.data()};
    VkComputePipelineCreateInfo pipe_info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pipe_info.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_COMPUTE_BIT,
                       module, "main", &spec};
    pipe_info.layout = p->layout;
    VkResult r = vkCreateComputePipelines(device_, pipeline_cache_, 1, &pipe_info, nullptr, &p->pipeline);
    vkDestroyShaderModule(device_, module, nullptr);
    if (r != VK_SUCCESS) return vk_error(("creating pipeline '" + shader + "'").c_str(), r);

    Pipeline * out = p.get();
    pipelines_[key] = std::move(p);
    return out;
}

Status Device::dispatch(const Pipeline & p, std::span<const Buffer * const> buffers, const void * push,
                        uint32_t groups_x, uint32_t groups_y, uint32_t groups_z) {
    QUANTA_CHECK(buffers.size() == p.n_buffers);
    VkDescriptorSetAllocateInfo set_alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    set_alloc.descriptorPool = descriptor_pool_;
    set_alloc.descriptorSetCount = 1;
    set_alloc.pSetLayouts = &p.set_layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    QUANTA_VK(vkAllocateDescriptorSets(device_, &set_alloc, &set), "vkAllocateDescriptorSets");

    std::vector<VkDescriptorBufferInfo> infos(buffers.size());
    std::vector<VkWriteDescriptorSet> writes(buffers.size());
    for (size_t i = 0; i < buffers.size(); ++i) {
        infos[i] = {buffers[i]->buffer, 0, VK_WHOLE_SIZE};
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = set;
        writes[i].dstBinding = uint32_t(i);
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
    }
    vkUpdateDescriptorSets(device_, uint32_t(writes.size()), writes.data(), 0, nullptr);

    VkCommandBufferAllocateInfo cb_alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cb_alloc.commandPool = command_pool_;
    cb_alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cb_alloc.commandBufferCount = 1;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    QUANTA_VK(vkAllocateCommandBuffers(device_, &cb_alloc, &cb), "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vkBeginCommandBuffer(cb, &begin);
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
    if (p.push_bytes) vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p.push_bytes, push);
    vkCmdDispatch(cb, groups_x, groups_y, groups_z);
    vkEndCommandBuffer(cb);

    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cb;
    VkResult r = vkQueueSubmit(queue_, 1, &submit, fence_);
    if (r == VK_SUCCESS) r = vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
    vkResetFences(device_, 1, &fence_);
    vkFreeCommandBuffers(device_, command_pool_, 1, &cb);
    vkFreeDescriptorSets(device_, descriptor_pool_, 1, &set);
    if (r != VK_SUCCESS) return vk_error("running a dispatch", r);
    return ok_status();
}

}  // namespace quanta::backends::vulkan
