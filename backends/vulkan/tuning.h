// backends/vulkan/tuning.h — the kernel shapes chosen for a device when its pipelines are created:
// workgroup size, rows per workgroup and reduction variant of the mat-vec (mul_mat_vec.glsl's
// specialization constants), and whether the tiled mat-mat keeps its tiles in f16
// (mul_mat_mm.glsl). Chosen from the device's properties (subgroup size, subgroup arithmetic,
// maxComputeWorkGroupInvocations, shared memory, shaderFloat16); `quanta version` and the
// QUANTA_VK_PROFILE table print them.
//
// Overrides (read when a Device opens; a malformed value fails Device::open naming it):
//   QUANTA_VK_MATVEC=<wg>x<rows>[,shared]  e.g. 32x4 or 64x2,shared (shared-memory reduction)
//   QUANTA_VK_F16=0                         f32 tiles in the mat-mat even where f16 is available
// Tests set shapes directly (Device::set_shapes) to run several choices on one device.
#pragma once

#include <cstdint>
#include <string>

#include "backends/vulkan/instance.h"

namespace quanta::backends::vulkan {

struct MatVecShape {
    uint32_t wg = 64;        // invocations per workgroup (spec constant 0), power of two, 8..256
    uint32_t rows = 4;       // weight rows per workgroup (spec constant 1), 1..8
    bool subgroup = false;   // reduce with subgroupAdd (mul_mat_vec_sg_<type>) instead of a shared tree
    // Partial sums per output kept in shared memory (spec constant 2): subgroups per workgroup,
    // or wg for the tree.
    uint32_t partials(const DeviceFeatures & f) const;
    uint32_t shared_bytes(const DeviceFeatures & f) const { return rows * 8u * partials(f) * 4u; }
};

struct KernelShapes {
    MatVecShape vec;
    bool mm_f16 = false;     // mat-mat: f16 shared-memory tiles and f16 products (needs shaderFloat16)
};

// The shapes for a device: its defaults, then the environment overrides above.
Result<KernelShapes> choose_shapes(const DeviceFeatures & f, const std::string & device_type);
// Checks `s` against the device (power-of-two sizes, limits, features); the error names the value.
Status check_shapes(const KernelShapes & s, const DeviceFeatures & f);
// "mat-vec 64x4 subgroup, mat-mat f16 tiles" (the line `quanta version` and the profile print).
std::string describe(const KernelShapes & s);

}  // namespace quanta::backends::vulkan
