// The Vulkan plumbing end to end on whatever device is present (lavapipe in CI): embedded SPIR-V,
// pipeline with specialization constants and push constants, buffers, dispatch, read-back.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "backends/vulkan/device.h"
#include "backends/vulkan/pipeline_cache.h"
#include "backends/vulkan/probe.h"
#include "tests/support.h"

using namespace quanta::backends::vulkan;

TEST_CASE("vulkan: probe lists devices or says why not", "[vulkan]") {
    auto probe_result = probe();
    CHECK(probe_result.name == "vulkan");
    CHECK(probe_result.compiled);
    if (probe_result.devices.empty()) {
        CHECK(probe_result.status.find("no Vulkan device") != std::string::npos);
    } else {
        CHECK(probe_result.status == "ok");
        CHECK(!probe_result.devices[0].name.empty());
    }
}

TEST_CASE("vulkan: scale shader runs and matches the host", "[vulkan]") {
    auto device = Device::open(0);
    if (!device.ok()) QUANTA_SKIP("no Vulkan device: " << device.status().message());

    const uint32_t n = 1000;  // not a multiple of the workgroup size: the tail is guarded
    auto x = (*device)->alloc(n * sizeof(float));
    auto y = (*device)->alloc(n * sizeof(float));
    REQUIRE(x.ok());
    REQUIRE(y.ok());
    std::vector<float> host(n);
    for (uint32_t i = 0; i < n; ++i) host[i] = float(i) * 0.5f - 100.0f;
    std::memcpy(x->mapped, host.data(), n * sizeof(float));
    std::memset(y->mapped, 0xff, n * sizeof(float));  // NaN poison: every element must be written

    auto pipeline = (*device)->pipeline("scale_f32", 2, 8, 64);
    REQUIRE(pipeline.ok());
    struct { uint32_t n; float s; } push{n, -3.0f};
    const Buffer * buffers[] = {&x.value(), &y.value()};
    REQUIRE((*device)->dispatch(**pipeline, buffers, &push, (n + 63) / 64).ok());

    const float * out = static_cast<const float *>(y->mapped);
    for (uint32_t i = 0; i < n; ++i) REQUIRE(out[i] == -3.0f * host[i]);
    (*device)->free(x.value());
    (*device)->free(y.value());
}

TEST_CASE("vulkan: unknown shader and bad device index are clean errors", "[vulkan]") {
    auto bad = Device::open(1000);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().message().find("no device 1000") != std::string::npos);

    auto device = Device::open(0);
    if (!device.ok()) QUANTA_SKIP("no Vulkan device: " << device.status().message());
    auto missing = (*device)->pipeline("no_such_shader", 1, 0, 64);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().message().find("no_such_shader") != std::string::npos);
}

TEST_CASE("vulkan: a corrupt pipeline cache file is ignored with a warning and rewritten", "[vulkan]") {
    const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                             "/quanta_vk_cache_test_" + std::to_string(::getpid()) + ".bin";
    {
        std::FILE * f = std::fopen(path.c_str(), "wb");
        REQUIRE(f);
        std::fputs("not a pipeline cache at all, just text of some length", f);
        std::fclose(f);
    }
    ::setenv("QUANTA_VK_PIPELINE_CACHE", path.c_str(), 1);
    {
        auto device = Device::open(0);
        if (!device.ok()) {
            ::unsetenv("QUANTA_VK_PIPELINE_CACHE");
            std::remove(path.c_str());
            QUANTA_SKIP("no Vulkan device: " << device.status().message());
        }
        VkPhysicalDeviceProperties props{};
        vkGetPhysicalDeviceProperties((*device)->info().handle, &props);
        CHECK(load_pipeline_cache(path, props).empty());  // the garbage is rejected
        REQUIRE((*device)->pipeline("scale_f32", 2, 8, 64).ok());
        (*device)->save_pipeline_cache();
        // Rewritten by the driver's blob, whose header names this device.
        CHECK_FALSE(load_pipeline_cache(path, props).empty());
    }
    ::unsetenv("QUANTA_VK_PIPELINE_CACHE");
    std::remove(path.c_str());
}
