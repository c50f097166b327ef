// tests/backends/vulkan/vk_harness.h — one Vulkan backend shared by the tests of this executable,
// and "run the op case on the CPU and on Vulkan, compare" for the op tests.
#pragma once

#include <string>

#include "backends/vulkan/vk_backend.h"
#include "tests/backends/op_harness.h"
#include "tests/support.h"

namespace quanta::test {

// The backend of device 0 (or $QUANTA_VK_DEVICE), created once; nullptr and `why` when none.
inline backends::vulkan::VkBackend * vk_backend(std::string & why) {
    static std::unique_ptr<backends::vulkan::VkBackend> backend;
    static std::string reason;
    static bool tried = false;
    if (!tried) {
        tried = true;
        const char * env = std::getenv("QUANTA_VK_DEVICE");
        auto b = backends::vulkan::VkBackend::create(env ? std::atoi(env) : 0);
        if (b.ok()) {
            backend = std::move(b.value());
            backend->poison_new_buffers(true);  // unwritten outputs read as NaN
        } else {
            reason = b.status().message();
        }
    }
    why = reason;
    return backend.get();
}

#define QUANTA_VK_OR_SKIP(var)                                                   \
    std::string var##_why;                                                       \
    quanta::backends::vulkan::VkBackend * var = quanta::test::vk_backend(var##_why); \
    if (!var) QUANTA_SKIP("no Vulkan device: " << var##_why)

// The device's tiled mat-mat uses f32 tiles (f16 = false) or f16 tiles for the scope, then its
// shapes are restored. Tests that compare Vulkan with the CPU (or with itself) to f32 rounding
// pin f32 tiles; f16 tiles, the default where the device has shaderFloat16, move a prompt's
// logits by ~1e-2 and are held to their own criteria (test_vk_model.cpp, test_vk_matmul.cpp).
struct TilesScope {
    backends::vulkan::Device & dev;
    backends::vulkan::KernelShapes saved;
    TilesScope(backends::vulkan::VkBackend & vk, bool f16) : dev(vk.device()), saved(vk.device().shapes()) {
        backends::vulkan::KernelShapes s = saved;
        s.mm_f16 = f16;
        ok = dev.set_shapes(s).ok();
    }
    ~TilesScope() { (void)dev.set_shapes(saved); }
    TilesScope(const TilesScope &) = delete;
    TilesScope & operator=(const TilesScope &) = delete;
    bool ok = false;  // false: the device cannot run that choice (f16 without shaderFloat16)
};

// Every node of the case on Vulkan (no layer tags: gpu_outside_layers), results next to the CPU's.
struct VkRun {
    std::vector<std::vector<float>> cpu, vk;
    core::ExecutorStats stats;
};

inline VkRun run_cpu_and_vk(OpCase & c, const std::vector<core::Tensor> & outs, core::Backend & vk) {
    VkRun r;
    r.cpu = c.run(outs, 1);
    core::ExecutorOptions opts;
    opts.gpu = &vk;
    opts.gpu_outside_layers = true;
    r.vk = c.run(outs, 1, &opts);
    r.stats = c.last_stats;
    return r;
}

// max |a - b| / max(1e-6, max |b|) over two f32 vectors (NaN: infinity).
inline double rel_err(const std::vector<float> & got, const std::vector<float> & ref) {
    std::vector<double> r(ref.begin(), ref.end());
    return rel_max_err(got, r);
}

}  // namespace quanta::test
