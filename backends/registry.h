// backends/registry.h — the backends compiled into this build, found at run time.
// registry.cpp is the one file that names every backend (#if QUANTA_HAVE_* lines).
#pragma once

#include <string>
#include <vector>

namespace quanta::backends {

struct DeviceProbe {
    std::string name;         // "NVIDIA A100-SXM4-80GB", "llvmpipe (LLVM 15.0.6, 256 bits)"
    std::string detail;       // memory, compute capability / API version, features
};

struct BackendProbe {
    std::string name;         // "cpu", "cuda", "vulkan"
    bool compiled = false;    // built into this binary
    std::string status;       // "ok", or why no device is usable ("no CUDA device: ...")
    std::vector<DeviceProbe> devices;
};

// Every backend quanta knows, compiled in or not, with the devices found now. Never fails:
// a missing driver is reported in `status`.
std::vector<BackendProbe> probe_backends();

}  // namespace quanta::backends
