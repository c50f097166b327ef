// backends/vulkan/device.h — one logical Vulkan device: the queue, memory, compute pipelines from
// the embedded SPIR-V (with an on-disk pipeline cache), and a one-shot dispatch for tests. Not
// thread-safe: one thread drives a Device.
//
// Memory: alloc(bytes, Memory::Host) is host-visible and coherent (mapped; staging buffers, and
// every buffer on unified-memory devices: lavapipe, integrated GPUs); Memory::Device is device-local
// (mapped too when the type happens to be host-visible). The backend (vk_backend.h) chooses.
// Command batching per graph lives in the backend; dispatch() here submits and waits (tests only).
// QUANTA_VK_STAGING=1 makes a unified-memory device behave as a discrete one (device-local buffers
// left unmapped, so the backend's staging copies run): tests cover that path on lavapipe.
#pragma once

#include <vulkan/vulkan.h>

#include <map>
#include <memory>
#include <span>
#include <string>

#include "backends/vulkan/instance.h"
#include "backends/vulkan/tuning.h"

namespace quanta::backends::vulkan {

struct Buffer {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    size_t bytes = 0;
    void * mapped = nullptr;       // host pointer to the whole buffer; nullptr for device-only memory
};

enum class Memory : uint8_t { Host, Device };

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
    const Instance & instance() const { return *instance_; }

    Result<Buffer> alloc(size_t bytes, Memory memory = Memory::Host);
    void free(Buffer & buffer);

    // The pipeline of shaders/<shader>.comp with `n_buffers` storage buffers at bindings 0..n-1,
    // `push_bytes` of push constants and workgroup size `local_size` (specialization constant 0).
    Result<Pipeline *> pipeline(const std::string & shader, uint32_t n_buffers, uint32_t push_bytes,
                                uint32_t local_size);
    // The same with specialization constants 0..spec.size()-1 (constant 0 is the workgroup size by
    // convention; the rest select variants: op, types, flags). Created once per distinct key.
    Result<Pipeline *> pipeline(const std::string & shader, uint32_t n_buffers, uint32_t push_bytes,
                                std::span<const uint32_t> spec);

    VkDevice handle() const { return device_; }
    VkQueue queue() const { return queue_; }
    uint32_t queue_family() const { return queue_family_; }
    const VkPhysicalDeviceLimits & limits() const { return limits_; }
    // True when device memory is host memory (lavapipe, integrated GPUs): no staging copies needed.
    bool unified_memory() const { return unified_; }
    // Bits of a timestamp on the compute queue (0: no timestamps).
    uint32_t timestamp_bits() const { return timestamp_bits_; }
    // Kernel shapes chosen for this device at open (tuning.h); the kernels read them when they
    // create pipelines. set_shapes (tests) checks `s` against the device and replaces them.
    const KernelShapes & shapes() const { return shapes_; }
    Status set_shapes(const KernelShapes & s);
    // Writes the pipeline cache to disk now (also done by the destructor). Errors are warnings.
    void save_pipeline_cache();

    // Records one dispatch, submits it and waits for it to finish.
    Status dispatch(const Pipeline & p, std::span<const Buffer * const> buffers, const void * push,
                    uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1);

private:
    Device() = default;
    Status init(int index);
    uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags want, VkMemoryPropertyFlags prefer) const;

    std::shared_ptr<Instance> instance_;
    PhysicalDevice info_;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t queue_family_ = 0;
    VkCommandPool command_pool_ = VK_NULL_HANDLE;
    VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
    std::string pipeline_cache_path_;
    size_t pipeline_cache_loaded_ = 0;   // bytes read at start; saved again only when it grew
    VkPhysicalDeviceLimits limits_{};
    VkPhysicalDeviceMemoryProperties memory_{};
    bool unified_ = false;
    bool force_staging_ = false;  // QUANTA_VK_STAGING=1
    uint32_t timestamp_bits_ = 0;
    KernelShapes shapes_;
    std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace quanta::backends::vulkan
