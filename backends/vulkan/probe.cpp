#include "backends/vulkan/probe.h"

#include "backends/vulkan/instance.h"

namespace quanta::backends::vulkan {

BackendProbe probe() {
    BackendProbe out{"vulkan", true, "ok", {}};
    auto instance = Instance::get();
    if (!instance.ok()) {
        out.status = "no Vulkan device (" + instance.status().message() + ")";
        return out;
    }
    for (const PhysicalDevice & d : (*instance)->devices()) out.devices.push_back({d.name, describe(d)});
    if (out.devices.empty()) out.status = "no Vulkan device (the loader found no driver with a device)";
    return out;
}

}  // namespace quanta::backends::vulkan
