// backends/vulkan/ops_matmul.h — what the mul_mat and get_rows kernels expose to tests
// (ops_matmul.cpp, ops_get_rows.cpp).
#pragma once

#include <cstdint>

#include "backends/vulkan/device.h"

namespace quanta::backends::vulkan {

// True when the device runs subgroup arithmetic (subgroupAdd) in compute shaders: mul_mat's
// mat-vec kernel then reduces with it (mul_mat_vec_sg_<type>), else in shared memory.
bool has_subgroup_arithmetic(const Device & device);

// Caps the bytes of one binding that these kernels make (weights, get_rows tables, mul_mat
// activations and outputs) below the device's maxStorageBufferRange, so a test can drive the
// split paths with small tensors instead of allocating 128 MiB+ on lavapipe. 0 (the default) = no
// cap. Not thread-safe: set it before recording.
void set_weight_binding_limit(uint64_t bytes);

// min(cap, device_range): the bytes one binding of these kernels may span.
uint64_t weight_binding_limit(uint64_t device_range);

}  // namespace quanta::backends::vulkan
