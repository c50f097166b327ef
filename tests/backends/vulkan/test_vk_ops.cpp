// Every non-matmul op on the Vulkan backend against the CPU backend (the reference), at several
// shapes including odd sizes, broadcasts and strided views; new Vulkan buffers are filled with NaN
// first, so an element a kernel forgets to write fails the comparison. Each case also checks that
// its nodes ran on Vulkan (no CPU fallback).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

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

TEST_CASE("vulkan ops: rms_norm", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    uint32_t seed = 200;
    for (const Dims & ne : kShapes) {
        OpCase c(seed++);
        std::vector<float> hx, hw;
        Tensor x = c.f32("x", ne, hx, 2.0f);
        Tensor w = c.f32("w", {ne[0]}, hw);
        INFO("shape " << x.shape_str());
        VkRun r = run_cpu_and_vk(c, {c.g.rms_norm(x, w, 1e-6f), c.g.rms_norm(c.g.slice(x, 0, 0, ne[0]), w, 0.1f)}, *vk);
        require_on_vk(r);
        require_close(r, 1e-5);
    }
}

TEST_CASE("vulkan ops: rope, every variant", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    struct Case {
        int64_t hd, n_rot, n_head, n_tok;
        bool neox;
        core::RopeScaling scaling;
        int32_t pos0;
    };
    const Case cases[] = {
        {64, 64, 4, 5, false, core::RopeScaling::None, 0},      {64, 64, 3, 7, true, core::RopeScaling::None, 3},
        {128, 64, 2, 3, true, core::RopeScaling::Linear, 17},   {128, 128, 2, 4, false, core::RopeScaling::Llama3, 500},
        {256, 256, 1, 2, true, core::RopeScaling::Llama3, 9000}, {80, 32, 3, 3, false, core::RopeScaling::None, 1},
        {64, 64, 2, 3, true, core::RopeScaling::None, 100000},   {96, 96, 5, 1, true, core::RopeScaling::Linear, 70000},
    };
    uint32_t seed = 300;
    for (const Case & k : cases) {
        OpCase c(seed++);
        std::vector<float> hx;
        Tensor x = c.f32("x", {k.hd, k.n_head, k.n_tok}, hx);
        std::vector<int32_t> pos;
        for (int64_t t = 0; t < k.n_tok; ++t) pos.push_back(k.pos0 + int32_t(t * 3));
        Tensor ps = c.i32("pos", pos);
        core::RopeParams p;
        p.n_rot = int32_t(k.n_rot);
        p.neox = k.neox;
        p.base = k.scaling == core::RopeScaling::Llama3 ? 500000.0f : 10000.0f;
        p.scaling = k.scaling;
        p.factor = k.scaling == core::RopeScaling::Linear ? 4.0f : 8.0f;
        INFO("hd " << k.hd << " n_rot " << k.n_rot << " neox " << k.neox << " pos0 " << k.pos0);
        VkRun r = run_cpu_and_vk(c, {c.g.rope(x, ps, p)}, *vk);
        require_on_vk(r);
        require_close(r, 2e-5);
    }
}

TEST_CASE("vulkan ops: copy from strided views into F32, F16, Q8_0 (F32, F16, BF16, Q8_0 sources)", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    const std::vector<Dims> shapes = {{32, 1}, {64, 7}, {96, 5, 3}, {128, 3, 2, 2}};
    uint32_t seed = 400;
    for (const Dims & ne : shapes) {
        for (Type dst : {Type::F32, Type::F16, Type::Q8_0}) {
            OpCase c(seed++);
            std::vector<float> hx, hh, hb, hq;
            Tensor x = c.f32("x", ne, hx, 2.0f);
            Tensor xh = c.typed("xh", Type::F16, ne, hh);
            Tensor xb = c.typed("xb", Type::BF16, ne, hb);
            Tensor xq = c.typed("xq", Type::Q8_0, ne, hq);  // dim 0 is whole blocks in every shape
            std::vector<Tensor> outs = {c.g.copy(x, dst), c.g.copy(xh, Type::F32), c.g.copy(xb, Type::F32),
                                        c.g.copy(xq, Type::F32)};
            if (dst == Type::F32) {
                outs.push_back(c.g.copy(c.g.transpose(x), Type::F32));         // dim 0 strided
                outs.push_back(c.g.copy(c.g.permute(xh, 0, 2, 1, 3), Type::F32));  // F16 rows reordered
                outs.push_back(c.g.copy(c.g.permute(xb, 0, 2, 1, 3), Type::F32));  // BF16 rows reordered
                outs.push_back(c.g.copy(c.g.permute(xq, 0, 2, 1, 3), Type::F32));  // Q8_0 rows reordered
                outs.push_back(c.g.copy(c.g.slice(x, 0, 0, 16), Type::F32));  // rows shorter than the stride
            } else {
                outs.push_back(c.g.copy(c.g.permute(x, 0, 2, 1, 3), dst));
                outs.push_back(c.g.copy(xh, dst));
                outs.push_back(c.g.copy(xb, dst));
                outs.push_back(c.g.copy(xq, dst));
            }
            INFO("shape " << x.shape_str() << " -> " << core::type_name(dst));
            VkRun r = run_cpu_and_vk(c, outs, *vk);
            require_on_vk(r);
            // F16 / Q8_0 rounding may differ by one step where a value sits on a rounding tie.
            require_close(r, dst == Type::Q8_0 ? 1e-2 : dst == Type::F16 ? 1e-3 : 0.0);
        }
    }
}

TEST_CASE("vulkan ops: set_rows appends into an F32, F16 and Q8_0 cache", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    uint32_t seed = 500;
    for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
        for (int64_t n : {int64_t(32), int64_t(128), int64_t(256)}) {
            OpCase c(seed++);
            std::vector<float> hc, hr;
            Tensor cache = c.typed("cache", kv, {n, 9}, hc);
            Tensor rows = c.f32("rows", {n, 4}, hr);
            Tensor ids = c.i32("ids", {7, 0, 3, 8});
            Tensor out = c.g.set_rows(cache, rows, ids);
            INFO(core::type_name(kv) << " n " << n);
            VkRun r = run_cpu_and_vk(c, {out}, *vk);
            require_on_vk(r);
            require_close(r, kv == Type::Q8_0 ? 1e-2 : kv == Type::F16 ? 1e-3 : 0.0);
        }
    }
}

TEST_CASE("vulkan ops: set_rows with a row id out of range is a clear error", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    core::GraphBuilder g;
    Tensor cache = g.input("cache", Type::F32, {32, 4});
    Tensor rows = g.input("rows", Type::F32, {32, 2});
    Tensor ids = g.input("ids", core::kI32, {2});
    g.mark_output(g.set_rows(cache, rows, ids));
    auto graph = g.build();
    REQUIRE(graph.ok());
    backends::cpu::CpuBackend cpu(1);
    core::ExecutorOptions opts;
    opts.cpu = &cpu;
    opts.gpu = vk;
    opts.gpu_outside_layers = true;
    auto ex = core::Executor::create(std::move(graph.value()), opts);
    REQUIRE(ex.ok());
    core::Executor & e = **ex;
    for (const Tensor & t : {cache, rows, ids}) REQUIRE(e.bind_new(t, cpu).ok());
    std::vector<float> zeros(32 * 4, 0.0f);
    REQUIRE(e.write(cache, zeros.data(), 32 * 4 * 4).ok());
    REQUIRE(e.write(rows, zeros.data(), 32 * 2 * 4).ok());
    const int32_t bad[2] = {1, 4};
    REQUIRE(e.write(ids, bad, sizeof bad).ok());
    Status s = e.run();
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("set_rows: row id 4 at 1 is out of range [0, 4)") != std::string::npos);
    REQUIRE(e.stats().nodes_on[1] == 1);
    // The backend is usable again afterwards.
    const int32_t good[2] = {1, 3};
    REQUIRE(e.write(ids, good, sizeof good).ok());
    CHECK(e.run().ok());
}

TEST_CASE("vulkan ops: soft_max with causal, window and key positions", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    uint32_t seed = 600;
    for (int64_t n_kv : {int64_t(1), int64_t(17), int64_t(300)}) {
        for (int variant = 0; variant < 4; ++variant) {
            OpCase c(seed++);
            const int64_t n_q = 3, n_head = 2;
            std::vector<float> hx;
            Tensor x = c.f32("x", {n_kv, n_q, n_head}, hx, 3.0f);
            std::vector<int32_t> pos;
            for (int64_t i = 0; i < n_q; ++i) pos.push_back(int32_t(n_kv - n_q + i));
            Tensor ps = c.i32("pos", pos);
            core::SoftMaxParams p;
            p.causal = variant != 1;
            p.window = variant == 2 ? 5 : 0;
            Tensor out;
            if (variant == 3) {  // a ring buffer: slots hold shuffled positions, some empty
                std::vector<int32_t> kpos(static_cast<size_t>(n_kv));
                for (int64_t j = 0; j < n_kv; ++j) kpos[size_t(j)] = (j % 5 == 4) ? -1 : int32_t((j * 7) % n_kv);
                p.window = 9;
                out = c.g.soft_max(x, ps, p, c.i32("kpos", kpos));
            } else {
                out = c.g.soft_max(x, ps, p);
            }
            INFO("n_kv " << n_kv << " variant " << variant);
            VkRun r = run_cpu_and_vk(c, {out}, *vk);
            require_on_vk(r);
            require_close(r, 1e-5);
        }
    }
}

TEST_CASE("vulkan ops: argmax, ties and NaN as the CPU", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    uint32_t seed = 700;
    for (const Dims & ne : kShapes) {
        OpCase c(seed++);
        std::vector<float> hx;
        Tensor x = c.f32("x", ne, hx);
        VkRun r = run_cpu_and_vk(c, {c.g.argmax(x)}, *vk);
        require_on_vk(r);
        CHECK(r.vk[0] == r.cpu[0]);
    }
    // All-equal rows: ties go to the first index on both.
    OpCase c(seed);
    std::vector<float> hx;
    Tensor x = c.f32("x", {1000, 3}, hx);
    VkRun r = run_cpu_and_vk(c, {c.g.argmax(c.g.scale(x, 0.0f))}, *vk);
    require_on_vk(r);
    CHECK(r.vk[0] == std::vector<float>{0, 0, 0});
}

TEST_CASE("vulkan ops: attention (causal, window, soft-cap, GQA, kpos: F32/F16/Q8_0 K/V)", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    struct Case {
        int64_t hd, n_head, n_head_kv, n_q, n_kv;
        bool causal;
        int32_t window;
        float softcap;
        bool kpos;
    };
    const Case cases[] = {
        {64, 4, 2, 1, 37, true, 0, 0.0f, false},    {128, 4, 1, 5, 70, true, 0, 0.0f, false},
        {256, 2, 2, 3, 9, true, 4, 50.0f, false},  {64, 8, 2, 4, 200, true, 16, 0.0f, false},
        {96, 3, 3, 2, 33, false, 0, 30.0f, false}, {128, 2, 1, 3, 90, true, 0, 0.0f, true},
        {64, 4, 2, 2, 65, true, 7, 20.0f, true},   {32, 1, 1, 1, 1, true, 0, 0.0f, false},
    };
    uint32_t seed = 800;
    for (const Case & k : cases) {
        for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
            OpCase c(seed++);
            std::vector<float> hq, hk, hv;
            Tensor q = c.f32("q", {k.hd, k.n_head, k.n_q}, hq);
            Tensor kk = c.typed("k", kv, {k.hd, k.n_head_kv, k.n_kv}, hk);
            Tensor vv = c.typed("v", kv, {k.hd, k.n_head_kv, k.n_kv}, hv);
            std::vector<int32_t> pos;
            for (int64_t i = 0; i < k.n_q; ++i) pos.push_back(int32_t(k.n_kv - k.n_q + i));
            Tensor ps = c.i32("pos", pos);
            core::AttentionParams p;
            p.scale = 1.0f / std::sqrt(float(k.hd));
            p.softcap = k.softcap;
            p.window = k.window;
            p.causal = k.causal;
            Tensor kp;
            if (k.kpos) {  // ring buffer: slot j holds a shuffled position, every 6th slot empty
                std::vector<int32_t> kpos(static_cast<size_t>(k.n_kv));
                for (int64_t j = 0; j < k.n_kv; ++j) kpos[size_t(j)] = j % 6 == 5 ? -1 : int32_t((j * 11 + 3) % k.n_kv);
                kp = c.i32("kpos", kpos);
            }
            Tensor out = c.g.attention(q, kk, vv, ps, p, kp);
            INFO("hd " << k.hd << " heads " << k.n_head << "/" << k.n_head_kv << " n_q " << k.n_q << " n_kv " << k.n_kv
                       << " window " << k.window << " softcap " << k.softcap << " kpos " << k.kpos << " "
                       << core::type_name(kv));
            VkRun r = run_cpu_and_vk(c, {out}, *vk);
            require_on_vk(r);
            require_close(r, kv == Type::Q8_0 ? 2e-3 : 2e-5);
        }
    }
}

TEST_CASE("vulkan ops: tensors larger than one binding are split by rows, same results", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    // Bindings capped at 4 KiB: a [100, 37] F32 tensor (14.8 KB) needs several windows.
    for (uint64_t cap : {uint64_t(0), uint64_t(4096)}) {
        OpCase c(900);
        std::vector<float> ha, hb, hw;
        Tensor a = c.f32("a", {100, 37}, ha);
        Tensor b = c.f32("b", {100, 37}, hb);
        Tensor w = c.f32("w", {100}, hw);
        Tensor a3 = c.g.reshape(a, {100, 1, 37});
        std::vector<Tensor> outs = {c.g.add(a, b), c.g.mul(a, w), c.g.silu(a), c.g.rms_norm(a, w, 1e-5f),
                                    c.g.copy(c.g.transpose(c.g.slice(a, 1, 0, 8)), Type::F32), c.g.scale(a3, 2.0f),
                                    c.g.copy(a, Type::F16)};
        vk->limit_binding_range(cap);
        const int64_t d0 = vk->dispatches();
        VkRun r = run_cpu_and_vk(c, outs, *vk);
        const int64_t used = vk->dispatches() - d0;
        vk->limit_binding_range(0);
        INFO("cap " << cap << ": " << used << " dispatches");
        require_on_vk(r);
        require_close(r, 1e-3);  // F16 copy: one rounding step
        if (cap == 0) CHECK(used == int64_t(outs.size()));
        else CHECK(used >= 3 * int64_t(outs.size()));
    }
}

TEST_CASE("vulkan ops: the discrete-GPU path (device-local buffers, staging copies) gives the same results", "[vulkan]") {
    QUANTA_VK_OR_SKIP(shared);
    ::setenv("QUANTA_VK_STAGING", "1", 1);
    auto created = backends::vulkan::VkBackend::create(0);
    ::unsetenv("QUANTA_VK_STAGING");
    REQUIRE(created.ok());
    backends::vulkan::VkBackend & vk = **created;
    REQUIRE_FALSE(vk.device().unified_memory());
    vk.poison_new_buffers(true);
    OpCase c(1000);
    std::vector<float> hq, hk, hv, hx, hw;
    Tensor q = c.f32("q", {64, 4, 3}, hq);
    Tensor k = c.typed("k", Type::F16, {64, 2, 40}, hk);
    Tensor v = c.typed("v", Type::F16, {64, 2, 40}, hv);
    Tensor ps = c.i32("pos", {37, 38, 39});
    Tensor x = c.f32("x", {320, 70}, hx);
    Tensor w = c.f32("w", {320}, hw);
    core::AttentionParams p;
    p.scale = 0.125f;
    std::vector<Tensor> outs = {c.g.attention(q, k, v, ps, p), c.g.rms_norm(x, w, 1e-6f), c.g.copy(x, Type::Q8_0)};
    VkRun r = run_cpu_and_vk(c, outs, vk);
    require_on_vk(r);
    require_close(r, 1e-2);
    // Same results as the unified-memory backend, bit for bit (only the copies differ).
    VkRun u = run_cpu_and_vk(c, outs, *shared);
    for (size_t i = 0; i < outs.size(); ++i) CHECK(bitwise_equal(r.vk[i], u.vk[i]));
}
