// backends/vulkan/instance.h — the Vulkan instance and what each physical device offers.
#pragma once

#include <vulkan/vulkan.h>

#include <memory>
#include <string>
#include <vector>

#include "quant/status.h"

namespace quanta::backends::vulkan {

// Optional capabilities, checked at device creation and shown by `quanta version`.
struct DeviceFeatures {
    bool float16 = false;          // shaderFloat16
    bool int8 = false;             // shaderInt8
    bool storage8 = false;         // storageBuffer8BitAccess
    bool storage16 = false;        // storageBuffer16BitAccess
    bool int16 = false;            // shaderInt16 (16-bit stores convert through it)
    // Subgroup size of compute shaders. Our SPIR-V is 1.5 (--target-env=vulkan1.2) and pipelines
    // do not ask for varying sizes, so every compute subgroup has exactly this size.
    uint32_t subgroup_size = 0;
    bool subgroup_arithmetic = false;  // subgroupAdd etc. in compute shaders
    uint32_t max_workgroup_invocations = 0;
    uint64_t max_storage_buffer_range = 0;
    uint32_t max_shared_memory = 0;
};

struct PhysicalDevice {
    VkPhysicalDevice handle = VK_NULL_HANDLE;
    std::string name;
    std::string type;              // "discrete", "integrated", "cpu", ...
    uint32_t api_version = 0;
    uint64_t device_local_bytes = 0;
    DeviceFeatures features;
};

// One VkInstance per process, created on first use; shared by probe and devices.
//
// QUANTA_VK_VALIDATION=1 (read when the instance is created) enables VK_LAYER_KHRONOS_validation
// with a VK_EXT_debug_utils messenger that prints each error and warning to stderr and counts
// the errors (validation_errors()); the tests run their Vulkan work this way and fail on any.
class Instance {
public:
    static Result<std::shared_ptr<Instance>> get();
    ~Instance();
    VkInstance handle() const { return instance_; }
    const std::vector<PhysicalDevice> & devices() const { return devices_; }
    // True when the validation layer was asked for and is installed, and the messenger is live.
    bool validating() const { return messenger_ != VK_NULL_HANDLE; }

private:
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    std::vector<PhysicalDevice> devices_;
};

// Validation-layer errors reported so far in this process (0 without QUANTA_VK_VALIDATION).
uint64_t validation_errors();

std::string describe(const PhysicalDevice & d);
const char * vk_result_name(VkResult r);

}  // namespace quanta::backends::vulkan
