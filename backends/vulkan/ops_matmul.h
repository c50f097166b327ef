// backends/vulkan/ops_matmul.h — a test hook of the mul_mat and get_rows kernels
// (ops_matmul.cpp, ops_get_rows.cpp).
#pragma once

#include <cstdint>

namespace quanta::backends::vulkan {

// Caps the bytes of one binding that these kernels make (weights, get_rows tables, mul_mat
// activations and outputs) below the device's maxStorageBufferRange, so a test can drive the
// split paths with small tensors instead of allocating 128 MiB+ on lavapipe. 0 (the default) = no
// cap. Not thread-safe: set it before recording.
void set_weight_binding_limit(uint64_t bytes);

// min(cap, device_range): the bytes one binding of these kernels may span.
uint64_t weight_binding_limit(uint64_t device_range);

}  // namespace quanta::backends::vulkan
