// backends/cuda/probe.h — which CUDA devices this process can use, for `quanta version`.
#pragma once

#include "backends/registry.h"

namespace quanta::backends::cuda {

// Never fails: without a driver or a device the status says why ("no CUDA device: ...").
BackendProbe probe();

}  // namespace quanta::backends::cuda
