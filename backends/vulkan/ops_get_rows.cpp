// backends/vulkan/ops_get_rows.cpp — get_rows kernels (engineer B, issue #11). Registers nothing
// yet: until it does, the executor runs get_rows on the CPU backend (a per-node fallback).
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

void register_get_rows(KernelTable & t) { (void)t; }

}  // namespace quanta::backends::vulkan
