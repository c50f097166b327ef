#include "backends/vulkan/instance.h"
#include "backends/vulkan/tuning.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace quanta::backends::vulkan {

const char * vk_result_name(VkResult r) {
    switch (r) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER (no Vulkan driver installed?)";
        default: return "VkResult error";
    }
}

static const char * type_name(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
        default: return "other";
    }
}

static PhysicalDevice read_device(VkPhysicalDevice handle) {
    PhysicalDevice d;
    d.handle = handle;

    VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroup};
    vkGetPhysicalDeviceProperties2(handle, &props);
    d.name = props.properties.deviceName;
    d.type = type_name(props.properties.deviceType);
    d.api_version = props.properties.apiVersion;
    d.features.subgroup_size = subgroup.subgroupSize;
    const VkSubgroupFeatureFlags arith = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    d.features.subgroup_arithmetic = d.api_version >= VK_API_VERSION_1_1 && subgroup.subgroupSize > 0 &&
                                     (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                     (subgroup.supportedOperations & arith) == arith;
    d.features.max_workgroup_invocations = props.properties.limits.maxComputeWorkGroupInvocations;
    d.features.max_storage_buffer_range = props.properties.limits.maxStorageBufferRange;
    d.features.max_shared_memory = props.properties.limits.maxComputeSharedMemorySize;

    VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, &f11};
    VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f12};
    if (d.api_version >= VK_API_VERSION_1_2) {
        vkGetPhysicalDeviceFeatures2(handle, &features);
        d.features.float16 = f12.shaderFloat16;
        d.features.int8 = f12.shaderInt8;
        d.features.storage8 = f12.storageBuffer8BitAccess;
        d.features.storage16 = f11.storageBuffer16BitAccess;
        d.features.int16 = features.features.shaderInt16;
    }

    VkPhysicalDeviceMemoryProperties mem{};
    vkGetPhysicalDeviceMemoryProperties(handle, &mem);
    for (uint32_t i = 0; i < mem.memoryHeapCount; ++i) {
        if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) d.device_local_bytes += mem.memoryHeaps[i].size;
    }
    return d;
}

namespace {

std::atomic<uint64_t> g_validation_errors{0};

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT * data, void *) {
    const bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    if (error) ++g_validation_errors;
    std::fprintf(stderr, "vulkan validation %s: %s\n", error ? "error" : "warning",
                 data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;
}

bool layer_installed(const char * name) {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, nullptr);
    std::vector<VkLayerProperties> layers(n);
    vkEnumerateInstanceLayerProperties(&n, layers.data());
    for (const VkLayerProperties & l : layers) {
        if (std::strcmp(l.layerName, name) == 0) return true;
    }
    return false;
}

}  // namespace

uint64_t validation_errors() { return g_validation_errors.load(); }

Result<std::shared_ptr<Instance>> Instance::get() {
    static std::mutex mutex;
    static std::weak_ptr<Instance> cached;
    std::lock_guard lock(mutex);
    if (auto live = cached.lock()) return live;

    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "quanta";
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    info.pApplicationInfo = &app;

    const char * want_validation = std::getenv("QUANTA_VK_VALIDATION");
    const char * layer = "VK_LAYER_KHRONOS_validation";
    const char * extension = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    const bool validate = want_validation && std::strcmp(want_validation, "1") == 0 && layer_installed(layer);
    VkDebugUtilsMessengerCreateInfoEXT messenger_info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    messenger_info.messageSeverity =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    messenger_info.pfnUserCallback = on_validation_message;
    if (validate) {
        info.enabledLayerCount = 1;
        info.ppEnabledLayerNames = &layer;
        info.enabledExtensionCount = 1;
        info.ppEnabledExtensionNames = &extension;
        info.pNext = &messenger_info;  // also reports instance creation and destruction
    }

    auto instance = std::shared_ptr<Instance>(new Instance());
    VkResult r = vkCreateInstance(&info, nullptr, &instance->instance_);
    if (r != VK_SUCCESS) {
        instance->instance_ = VK_NULL_HANDLE;
        return Status::error(std::string("vulkan: cannot create an instance: ") + vk_result_name(r));
    }
    if (validate) {
        auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance->instance_, "vkCreateDebugUtilsMessengerEXT"));
        if (create) create(instance->instance_, &messenger_info, nullptr, &instance->messenger_);
    }
    uint32_t count = 0;
    vkEnumeratePhysicalDevices(instance->instance_, &count, nullptr);
    std::vector<VkPhysicalDevice> handles(count);
    vkEnumeratePhysicalDevices(instance->instance_, &count, handles.data());
    for (VkPhysicalDevice h : handles) instance->devices_.push_back(read_device(h));
    cached = instance;
    return instance;
}

Instance::~Instance() {
    if (messenger_) {
        auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroy) destroy(instance_, messenger_, nullptr);
    }
    if (instance_) vkDestroyInstance(instance_, nullptr);
}

std::string describe(const PhysicalDevice & d) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s, Vulkan %u.%u, %.1f GiB, subgroup %u, f16 %s, int8/16 %s/%s, 8/16-bit storage %s/%s, binding max %.0f MiB",
                  d.type.c_str(), VK_API_VERSION_MAJOR(d.api_version), VK_API_VERSION_MINOR(d.api_version),
                  double(d.device_local_bytes) / (1024.0 * 1024.0 * 1024.0), d.features.subgroup_size,
                  d.features.float16 ? "yes" : "no", d.features.int8 ? "yes" : "no", d.features.int16 ? "yes" : "no",
                  d.features.storage8 ? "yes" : "no", d.features.storage16 ? "yes" : "no",
                  double(d.features.max_storage_buffer_range) / (1024.0 * 1024.0));
    auto shapes = choose_shapes(d.features, d.type);
    return std::string(buf) + "; kernels: " + (shapes.ok() ? describe(*shapes) : shapes.status().message());
}

}  // namespace quanta::backends::vulkan
