// backends/vulkan/pipeline_cache.h — the on-disk Vulkan pipeline cache, so pipelines compiled by
// the driver once are reused by the next process (lavapipe compiles each pipeline with LLVM: the
// first run of a model pays ~0.1 s per pipeline).
//
// File: $QUANTA_VK_PIPELINE_CACHE if set (empty or "0": no cache), else
// $XDG_CACHE_HOME/quanta/vulkan-<vendor>-<device>.bin, else ~/.cache/quanta/... . The bytes are
// the driver's own blob (VkPipelineCacheHeaderVersionOne first); a file whose header does not name
// this device and driver (another GPU, a driver update, a truncated write) is ignored with a warning
// on stderr. Saved as a temporary file renamed over the old one, so a crash never leaves half a file.
#pragma once

#include <vulkan/vulkan.h>

#include <string>
#include <vector>

namespace quanta::backends::vulkan {

// The cache file for this device; empty when caching is off or no cache directory is known.
std::string pipeline_cache_path(const VkPhysicalDeviceProperties & props);

// The saved blob when it exists and its header matches `props`; empty otherwise (a mismatch or a
// corrupt file prints one warning line).
std::vector<char> load_pipeline_cache(const std::string & path, const VkPhysicalDeviceProperties & props);

// Writes `data` to `path` (temp + rename, creating the directory); a failure is a warning only.
void save_pipeline_cache(const std::string & path, const std::vector<char> & data);

}  // namespace quanta::backends::vulkan
