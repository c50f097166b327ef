// Whole models on Vulkan: every oracle fixture (tests/fixtures/models) runs with every layer and the
// embedding/head on the Vulkan backend (--backend vulkan --ngl all) and must give the CPU backend's
// logits; decoding token by token must equal the whole-prompt pass; the executor's stats must show
// every node on Vulkan (no CPU fallback: mul_mat and get_rows included).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "backends/registry.h"
#include "core/model/perplexity.h"
#include "tests/backends/vulkan/vk_harness.h"
#include "tests/models/model_fixtures.h"

using namespace quanta;
using namespace quanta_test;

namespace {

std::unique_ptr<model::Session> vk_session(const model::Model & m, core::Backend & cpu, core::Backend & vk, Type kv,
                                           int64_t ubatch = 512) {
    model::SessionOptions so;
    so.n_ctx = 128;
    so.n_ubatch = ubatch;
    so.kv_type = kv;
    auto s = model::Session::create(m, cpu, so, &vk, int(m.hparams().n_layer));
    INFO(s.status().message());
    REQUIRE(s.ok());
    return std::move(s.value());
}

// Every node of the session's last run on Vulkan.
void require_all_on_vk(const model::Session & s) {
    const core::ExecutorStats * st = s.last_stats();
    REQUIRE(st != nullptr);
    REQUIRE(st->nodes_on.size() == 2);
    INFO("nodes on cpu " << st->nodes_on[0] << ", on vulkan " << st->nodes_on[1] << ", fallbacks " << st->fallbacks);
    CHECK(st->fallbacks == 0);
    CHECK(st->nodes_on[0] == 0);
    CHECK(st->nodes_on[1] > 0);
}

}  // namespace

TEST_CASE("vulkan model: every fixture's logits match the CPU backend (f32, f16 and q8_0 caches)", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    const test::TilesScope f32_tiles(*vk, false);  // f32 rounding only (f16 tiles: their own test)
    REQUIRE(f32_tiles.ok);
    auto cpu = backends::create_cpu_backend(2);
    for (const char * name : kFixtures) {
        const Oracle o = load_oracle(name);
        auto m = converted(name, "f32");
        const int64_t n_vocab = m->hparams().n_vocab;
        // f32: the same maths in another order. q8_0 cache (where a head is whole blocks): the
        // query is rounded through Q8_0 on both, but a rounding tie apart moves a logit more.
        std::vector<std::pair<Type, double>> caches = {{Type::F32, 1e-3}, {Type::F16, 2e-3}};
        if (m->hparams().head_dim % 32 == 0) caches.push_back({Type::Q8_0, 2e-2});
        for (const auto & [kv, tol] : caches) {
            INFO("fixture " << name << ", f32 weights, cache " << core::type_name(kv));
            auto ref = session(*m, *cpu, kv, 16)->eval(o.prompt, true);
            REQUIRE(ref.ok());
            auto s = vk_session(*m, *cpu, *vk, kv, 16);  // chunks of 16: the prompt spans several ubatches
            auto got = s->eval(o.prompt, true);
            INFO(got.status().message());
            REQUIRE(got.ok());
            require_all_on_vk(*s);
            CHECK(max_abs_diff(*got, *ref) <= tol);
            if (kv != Type::F32) continue;
            // Greedy continuation through the Vulkan cache, one token at a time: the oracle's tokens.
            auto last = [&](const std::vector<float> & l, size_t rows) {
                const float * r = l.data() + (rows - 1) * size_t(n_vocab);
                return int32_t(std::max_element(r, r + n_vocab) - r);
            };
            int32_t next = last(*got, o.prompt.size());
            std::vector<int32_t> greedy;
            for (size_t i = 0; i < o.greedy.size(); ++i) {
                greedy.push_back(next);
                auto step = s->eval(std::span(&next, 1));
                REQUIRE(step.ok());
                next = last(*step, 1);
            }
            CHECK(greedy == o.greedy);
        }
    }
}

// Q8_0 weights: Vulkan's mul_mat multiplies f32 activations by the Q8_0 weights (the CPU rounds
// activations through Q8_0 too), so it is held to transformers running the same Q8_0-rounded
// weights, with the CPU oracle test's criteria: top-1 on decisive positions and mean KL.
TEST_CASE("vulkan model: q8_0 weights agree with transformers on the Q8_0-rounded model", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    auto cpu = backends::create_cpu_backend(2);
    for (const char * name : kFixtures) {
        INFO("fixture " << name);
        const Oracle o = load_oracle(name);
        auto m = converted(name, "q8_0");
        const int64_t n_vocab = m->hparams().n_vocab;
        auto s = vk_session(*m, *cpu, *vk, Type::F16, 16);
        auto logits = s->eval(o.prompt, true);
        INFO(logits.status().message());
        REQUIRE(logits.ok());
        require_all_on_vk(*s);
        const size_t n = o.prompt.size();
        const LogitAgreement a = logit_agreement(o.logits_q8_0.data.data(), logits->data(), n, n_vocab);
        INFO("decisive top-1 " << a.agree_decisive << "/" << a.decisive << ", mean KL " << a.mean_kl);
        REQUIRE(a.decisive >= n / 2);
        CHECK(double(a.agree_decisive) >= 0.99 * double(a.decisive));
        CHECK(a.mean_kl <= 1e-3);
    }
}

// f16 tiles in the prompt's mat-mats (the default where the device has shaderFloat16): every
// fixture on Vulkan against the CPU backend. f16 rounding moves logits by ~1e-2 (measured on
// lavapipe with an f32 cache: up to 0.014), so the criteria are the oracle tests' ones: top-1 on
// decisive positions (top-2 gap >= 0.1) and mean KL, and a loose bound on the largest change.
TEST_CASE("vulkan model: f16 mat-mat tiles keep every fixture's top-1 and KL against the CPU", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    const test::TilesScope f16_tiles(*vk, true);
    if (!f16_tiles.ok) QUANTA_SKIP("device has no shaderFloat16: f32 tiles only");
    auto cpu = backends::create_cpu_backend(2);
    for (const char * name : kFixtures) {
        INFO("fixture " << name);
        const Oracle o = load_oracle(name);
        auto m = converted(name, "f32");
        const int64_t n_vocab = m->hparams().n_vocab;
        auto ref = session(*m, *cpu, Type::F32, 16)->eval(o.prompt, true);
        REQUIRE(ref.ok());
        auto s = vk_session(*m, *cpu, *vk, Type::F32, 16);
        auto got = s->eval(o.prompt, true);
        INFO(got.status().message());
        REQUIRE(got.ok());
        require_all_on_vk(*s);
        const size_t n = o.prompt.size();
        const LogitAgreement a = logit_agreement(ref->data(), got->data(), n, n_vocab);
        INFO("max |delta logit| " << max_abs_diff(*got, *ref) << ", decisive top-1 " << a.agree_decisive << "/"
                                  << a.decisive << ", mean KL " << a.mean_kl);
        REQUIRE(a.decisive >= n / 2);
        CHECK(double(a.agree_decisive) >= 0.99 * double(a.decisive));
        CHECK(a.mean_kl <= 1e-4);
        CHECK(max_abs_diff(*got, *ref) <= 0.2);
    }
}

// Part of the layers on Vulkan, the rest (and the head) on the CPU: same logits, both backends used.
TEST_CASE("vulkan model: partial offload (--ngl N) matches the CPU", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    const test::TilesScope f32_tiles(*vk, false);  // f32 rounding only (f16 tiles: their own test)
    REQUIRE(f32_tiles.ok);
    auto cpu = backends::create_cpu_backend(2);
    for (const char * name : {"llama3", "gemma3_text"}) {
        INFO("fixture " << name);
        const Oracle o = load_oracle(name);
        auto m = converted(name, "f32");
        auto ref = session(*m, *cpu, Type::F32)->eval(o.prompt, true);
        REQUIRE(ref.ok());
        model::SessionOptions so;
        so.n_ctx = 128;
        so.kv_type = Type::F32;
        auto s = model::Session::create(*m, *cpu, so, vk, int(m->hparams().n_layer / 2));
        REQUIRE(s.ok());
        auto got = (*s)->eval(o.prompt, true);
        REQUIRE(got.ok());
        const core::ExecutorStats * st = (*s)->last_stats();
        REQUIRE(st != nullptr);
        CHECK(st->nodes_on[0] > 0);
        CHECK(st->nodes_on[1] > 0);
        CHECK(st->fallbacks == 0);
        CHECK(max_abs_diff(*got, *ref) <= 1e-3);
    }
}

TEST_CASE("vulkan model: decode token by token equals the whole-prompt pass", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    const test::TilesScope f32_tiles(*vk, false);  // f32 rounding only (f16 tiles: their own test)
    REQUIRE(f32_tiles.ok);
    auto cpu = backends::create_cpu_backend(2);
    for (const char * name : {"mistral_swa", "gemma2_softcap", "gemma3_text", "qwen2_bias"}) {
        INFO("fixture " << name);
        const Oracle o = load_oracle(name);
        auto m = converted(name, "f32");
        const int64_t n_vocab = m->hparams().n_vocab;
        auto whole = vk_session(*m, *cpu, *vk, Type::F32)->eval(o.prompt, true);
        REQUIRE(whole.ok());
        auto s = vk_session(*m, *cpu, *vk, Type::F32);
        for (size_t t = 0; t < o.prompt.size(); ++t) {
            auto step = s->eval(std::span(&o.prompt[t], 1));
            REQUIRE(step.ok());
            std::vector<float> row(whole->begin() + long(t * size_t(n_vocab)), whole->begin() + long((t + 1) * size_t(n_vocab)));
            INFO("position " << t);
            CHECK(max_abs_diff(*step, row) <= 1e-4);
        }
        require_all_on_vk(*s);
    }
}
