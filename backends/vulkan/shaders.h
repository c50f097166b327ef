// backends/vulkan/shaders.h — the SPIR-V of every shaders/*.comp, compiled by glslc at build time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace quanta::backends::vulkan {

// The SPIR-V words of shaders/<name>.comp; empty when there is no such shader.
std::span<const uint32_t> shader_spirv(std::string_view name);

}  // namespace quanta::backends::vulkan
