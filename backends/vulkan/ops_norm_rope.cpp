// backends/vulkan/ops_norm_rope.cpp — placeholder registration (filled in by engineer A next).
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

void register_norm_rope(KernelTable & t) { (void)t; }

}  // namespace quanta::backends::vulkan
