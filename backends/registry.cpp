// backends/registry.cpp — the one file that names every backend. A backend joins with one
// #if QUANTA_HAVE_* line here and a CMake option; core never includes a backend header.
#include "backends/registry.h"

#include <algorithm>

#include "backends/cpu/cpu_backend.h"
#include "quant/dispatch.h"

#if QUANTA_HAVE_CUDA
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/probe.h"
#endif
#if QUANTA_HAVE_VULKAN
#include "backends/vulkan/probe.h"
#include "backends/vulkan/vk_backend.h"
#endif

namespace quanta::backends {

std::vector<BackendProbe> probe_backends() {
    std::vector<BackendProbe> out;

    BackendProbe cpu{"cpu", true, "ok", {}};
    cpu.devices.push_back({"cpu", std::string("SIMD: ") + std::string(quant::cpu_isa())});
    out.push_back(cpu);

#if QUANTA_HAVE_CUDA
    out.push_back(cuda::probe());
#else
    out.push_back({"cuda", false, "not compiled in (configure with the CUDA toolkit installed)", {}});
#endif
#if QUANTA_HAVE_VULKAN
    out.push_back(vulkan::probe());
#else
    out.push_back({"vulkan", false, "not compiled in (install libvulkan-dev and glslc: make deps)", {}});
#endif
    return out;
}

std::unique_ptr<core::Backend> create_cpu_backend(int n_threads) {
    return std::make_unique<cpu::CpuBackend>(n_threads);
}

Result<DeviceMemoryInfo> device_memory(core::Backend & backend) {
#if QUANTA_HAVE_CUDA
    if (auto * c = dynamic_cast<cuda::CudaBackend *>(&backend)) {
        auto m = c->memory();
        if (!m.ok()) return m.status();
        return DeviceMemoryInfo{m->free_bytes, m->total_bytes};
    }
#endif
#if QUANTA_HAVE_VULKAN
    if (auto * v = dynamic_cast<vulkan::VkBackend *>(&backend)) {
        const size_t total = v->total_memory(), used = std::min(v->allocated_bytes(), total);
        return DeviceMemoryInfo{total - used, total};
    }
#endif
    return Status::error("backends: '" + std::string(backend.name()) + "' does not report its free memory");
}

int layers_that_fit(const std::vector<int64_t> & layer_bytes, int64_t fixed_bytes, int64_t reserve_bytes,
                    int64_t free_bytes) {
    int64_t used = fixed_bytes + reserve_bytes;
    if (used > free_bytes) return 0;
    int n = 0;
    for (int64_t b : layer_bytes) {
        if (used + b > free_bytes) break;
        used += b;
        ++n;
    }
    return n;
}

Result<std::unique_ptr<core::Backend>> create_backend(std::string_view name, int device) {
    if (name == "cpu") return create_cpu_backend(0);
#if QUANTA_HAVE_VULKAN
    if (name == "vulkan") {
        auto vk = vulkan::VkBackend::create(device);
        if (!vk.ok()) return vk.status();
        return std::unique_ptr<core::Backend>(std::move(vk.value()));
    }
#endif
#if QUANTA_HAVE_CUDA
    if (name == "cuda") return cuda::create_backend(device);
#endif
    (void)device;
    if (name == "cuda" || name == "vulkan") {
        return Status::error("backends: '" + std::string(name) +
                             "' finds devices but runs no model ops yet; use --backend cpu");
    }
    return Status::error("backends: unknown backend '" + std::string(name) + "' (cpu, cuda, vulkan)");
}

}  // namespace quanta::backends
