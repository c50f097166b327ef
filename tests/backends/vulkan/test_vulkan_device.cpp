// The Vulkan plumbing end to end on whatever device is present (lavapipe in CI): embedded SPIR-V,
// pipeline with specialization constants and push constants, buffers, dispatch, read-back.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "backends/vulkan/device.h"
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
