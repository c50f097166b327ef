// backends/registry.h — the backends compiled into this build, found at run time.
// registry.cpp is the one file that names every backend (#if QUANTA_HAVE_* lines).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend.h"

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

// Creates a backend by name: "cpu" (device ignored; threads = physical cores), later "cuda" and
// "vulkan" (device index). Fails with a Status naming the backend when it is not compiled in or
// the device cannot be opened.
Result<std::unique_ptr<core::Backend>> create_backend(std::string_view name, int device = 0);

// The CPU backend with an explicit thread count (<= 0: physical cores).
std::unique_ptr<core::Backend> create_cpu_backend(int n_threads = 0);

struct DeviceMemoryInfo {
    size_t free_bytes = 0;
    size_t total_bytes = 0;
};

// Free and total memory of a GPU backend's device now (for `--ngl auto` and the fit check); an
// error naming the backend when it cannot say (cpu, and GPU backends without a query yet).
Result<DeviceMemoryInfo> device_memory(core::Backend & backend);

// The most leading layers that fit in free_bytes: the largest n with fixed_bytes + reserve_bytes +
// layer_bytes[0] + ... + layer_bytes[n-1] <= free_bytes (0 when even the fixed part does not fit).
int layers_that_fit(const std::vector<int64_t> & layer_bytes, int64_t fixed_bytes, int64_t reserve_bytes,
                    int64_t free_bytes);

}  // namespace quanta::backends
