// backends/vulkan/device.h — one logical Vulkan device: buffers, compute pipelines from the
// embedded SPIR-V, and dispatch. Not thread-safe: one thread drives a Device.
//
// Buffers are host-visible and coherent for now (true of lavapipe and integrated GPUs); discrete
// GPUs will get device-local buffers with staging, and per-graph command batching, in the backend.
#pragma once

#include <vulkan/vulkan.h>

#include <map>
#include <memory>
#include <span>
#include <string>

#include "backends/vulkan/instance.h"

namespace quanta::backends::vulkan {

struct Buffer {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    size_t bytes = 0;
    void * mapped = nullptr;       // host pointer to the whole buffer
};

struct Pipeline {
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    uint32_t n_buffers = 0;
    uint32_t push_bytes = 0;
};

class Device {
public:
    // Opens physical device `index` of the instance (0 = first listed by `quanta version`).
    static Result<std::unique_ptr<Device>> open(int index);
    ~Device();
    Device(const Device &) = delete;
    Device & operator=(const Device &) = delete;

    const PhysicalDevice & info() const { return info_; }

    Result<Buffer> alloc(size_t bytes);
    void free(Buffer & buffer);

    // The pipeline of shaders/<shader>.comp with `n_buffers` storage buffers at bindings 0..n-1,
    // `push_bytes` of push constants and workgroup size `local_size` (specialization constant 0).
    Result<Pipeline *> pipeline(const std::string & shader, uint32_t n_buffers, uint32_t push_bytes,
                                uint32_t local_size);

    // Records one dispatch, submits it and waits for it to finish.
    Status dispatch(const Pipeline & p, std::span<const Buffer * const> buffers, const void * push,
                    uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1);

private:
    Device() = default;
    Status init(int index);

    std::shared_ptr<Instance> instance_;
    PhysicalDevice info_;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t queue_family_ = 0;
    VkCommandPool command_pool_ = VK_NULL_HANDLE;
    VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace quanta::backends::vulkan
