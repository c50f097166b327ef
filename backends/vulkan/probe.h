// backends/vulkan/probe.h — which Vulkan devices this process can use, for `quanta version`.
#pragma once

#include "backends/registry.h"

namespace quanta::backends::vulkan {

// Never fails: without a loader, an ICD or a device the status says why.
BackendProbe probe();

}  // namespace quanta::backends::vulkan
