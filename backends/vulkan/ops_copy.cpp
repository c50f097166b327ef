// backends/vulkan/ops_copy.cpp — placeholder registration (filled in by engineer A next).
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

void register_copy(KernelTable & t) { (void)t; }

}  // namespace quanta::backends::vulkan
