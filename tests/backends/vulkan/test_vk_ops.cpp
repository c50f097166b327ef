// Every non-matmul op on the Vulkan backend against the CPU backend (the reference), at several
// shapes including odd sizes, broadcasts and strided views; new Vulkan buffers are filled with NaN
// first, so an element a kernel forgets to write fails the comparison. Each case also checks that
// its nodes ran on Vulkan (no CPU fallback).
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/backends/vulkan/vk_harness.h"

using namespace quanta;
using namespace quanta::test;
using core::Dims;
using core::Tensor;

namespace {

void require_on_vk(const VkRun & r) {
    REQUIRE(r.stats.nodes_on.size() == 2);
    CHECK(r.stats.fallbacks == 0);
    CHECK(r.stats.nodes_on[0] == 0);
    CHECK(r.stats.nodes_on[1] > 0);
}

void require_close(const VkRun & r, double tol) {
    REQUIRE(r.cpu.size() == r.vk.size());
    for (size_t i = 0; i < r.cpu.size(); ++i) {
        const double e = rel_err(r.vk[i], r.cpu[i]);
        INFO("output " << i << " rel err " << e);
        CHECK(e <= tol);
    }
}

const std::vector<Dims> kShapes = {{1}, {7}, {64, 3}, {33, 5, 3}, {128, 4, 2, 2}, {1000, 17}, {4099, 2}};

}  // namespace

TEST_CASE("vulkan ops: add and mul with broadcast", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    uint32_t seed = 1;
    for (const Dims & ne : kShapes) {
        // b: same shape, one row, one element, or broadcast over dims 2..3
        std::vector<Dims> bshapes = {ne, {ne[0]}, {1}, {ne[0], ne[1]}};
        for (const Dims & bne : bshapes) {
            for (int op = 0; op < 2; ++op) {
                OpCase c(seed++);
                std::vector<float> ha, hb;
                Tensor a = c.f32("a", ne, ha);
                Tensor b = c.f32("b", bne, hb);
                Tensor out = op == 0 ? c.g.add(a, b) : c.g.mul(a, b);
                INFO("shape " << a.shape_str() << " b " << b.shape_str() << " op " << op);
                VkRun r = run_cpu_and_vk(c, {out}, *vk);
                require_on_vk(r);
                require_close(r, 1e-6);
            }
        }
    }
}

TEST_CASE("vulkan ops: unary activations, scale, soft_cap, glu", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    uint32_t seed = 100;
    for (const Dims & ne : kShapes) {
        OpCase c(seed++);
        std::vector<float> hx, hu;
        Tensor x = c.f32("x", ne, hx, 3.0f);
        Tensor u = c.f32("u", ne, hu);
        std::vector<Tensor> outs = {c.g.scale(x, -0.37f), c.g.silu(x),         c.g.gelu(x, false),
                                    c.g.gelu(x, true),    c.g.soft_cap(x, 2.5f), c.g.glu(x, u, core::Activation::Silu),
                                    c.g.glu(x, u, core::Activation::GeluTanh), c.g.glu(x, u, core::Activation::GeluErf)};
        INFO("shape " << x.shape_str());
        VkRun r = run_cpu_and_vk(c, outs, *vk);
        require_on_vk(r);
        require_close(r, 2e-6);
    }
}

TEST_CASE("vulkan ops: elementwise on strided views", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    OpCase c(7);
    std::vector<float> ha, hb;
    Tensor a = c.f32("a", {40, 6, 5}, ha);
    Tensor b = c.f32("b", {40, 3, 5}, hb);
    Tensor av = c.g.slice(a, 1, 2, 5);  // rows 2..4 of each plane: strided in dims 1 and 2
    Tensor bp = c.g.permute(c.g.slice(b, 0, 0, 40), 0, 1, 2, 3);
    std::vector<Tensor> outs = {c.g.add(av, bp), c.g.silu(av), c.g.mul(av, c.g.slice(b, 1, 0, 1))};
    VkRun r = run_cpu_and_vk(c, outs, *vk);
    require_on_vk(r);
    require_close(r, 1e-6);
}
