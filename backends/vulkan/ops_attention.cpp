// backends/vulkan/ops_attention.cpp — placeholder registration (filled in by engineer A next).
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

void register_attention(KernelTable & t) { (void)t; }

}  // namespace quanta::backends::vulkan
