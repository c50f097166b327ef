// backends/vulkan/ops_matmul.cpp — mul_mat kernels (engineer B, issue #11). Registers nothing yet:
// until it does, the executor runs mul_mat on the CPU backend (a per-node fallback).
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

void register_matmul(KernelTable & t) { (void)t; }

}  // namespace quanta::backends::vulkan
