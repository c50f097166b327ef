// tests/backends/cuda/test_cuda_model.cpp — whole models on CUDA against the CPU: every oracle
// fixture (tests/fixtures/models), converted to f32 / q8_0 / q4_k, evaluated on the CPU alone and
// with every layer on CUDA (--ngl all) and with half of them (the executor's layer split), prompt
// then a few decode steps through the cache. Without a CUDA device: QUANTA_SKIP with the reason.
//
// Tolerances: f32 weights with an f32 cache: the backends differ only in summation order
// (max |diff| <= 1e-3 of the logit scale, the oracle test's own bound against transformers).
// Quantized weights: the CPU quantizes activations (Q8_0 / Q8_K), the GPU keeps them f32, so the
// logits differ by that rounding: within 5e-2 of the logit range, same top-1 token.
#include <catch2/catch.hpp>

#include <algorithm>

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "tests/models/model_fixtures.h"

using namespace quanta;
using namespace quanta_test;

namespace {

int32_t top1(const float * p, int64_t n) { return int32_t(std::max_element(p, p + n) - p); }

struct Logits {
    std::vector<float> prompt;  // [n_prompt][n_vocab]
    std::vector<float> steps;   // [n_steps][n_vocab]
};

Logits evaluate(const model::Model & m, core::Backend & cpu, core::Backend * gpu, int n_gpu_layers, Type kv,
                const std::vector<int32_t> & prompt) {
    model::SessionOptions so;
    so.n_ctx = 128;
    so.n_ubatch = 16;
    so.kv_type = kv;
    auto s = model::Session::create(m, cpu, so, gpu, n_gpu_layers);
    INFO(s.status().message());
    REQUIRE(s.ok());
    Logits out;
    auto l = s.value()->eval(prompt, true);
    INFO(l.status().message());
    REQUIRE(l.ok());
    out.prompt = *l;
    const int64_t n_vocab = m.hparams().n_vocab;
    int32_t next = top1(out.prompt.data() + (prompt.size() - 1) * size_t(n_vocab), n_vocab);
    for (int i = 0; i < 4; ++i) {
        auto step = s.value()->eval(std::span(&next, 1));
        INFO(step.status().message());
        REQUIRE(step.ok());
        out.steps.insert(out.steps.end(), step->begin(), step->end());
        next = top1(step->data(), n_vocab);
    }
    return out;
}

double max_rel_diff(const std::vector<float> & a, const std::vector<float> & b) {
    REQUIRE(a.size() == b.size());
    double err = 0.0, mag = 1e-6;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i])) return INFINITY;
        err = std::max(err, std::fabs(double(a[i]) - double(b[i])));
        mag = std::max(mag, std::fabs(double(b[i])));
    }
    return err / mag;
}

}  // namespace

TEST_CASE("cuda: whole-model logits (all layers and a layer split) match the CPU on every oracle fixture", "[cuda]") {
    auto gpu = backends::cuda::CudaBackend::create(0);
    if (!gpu.ok()) QUANTA_SKIP(gpu.status().message());
    backends::cpu::CpuBackend cpu(2);
    struct Mode {
        const char * type;
        Type kv;
        double tol;
    } modes[] = {{"f32", Type::F32, 1e-3}, {"q8_0", Type::F16, 5e-2}, {"q4_k", Type::Q8_0, 5e-2}};
    for (const char * name : kFixtures) {
        const Oracle o = load_oracle(name);
        for (const Mode & mode : modes) {
            INFO("fixture " << name << " weights " << mode.type << " cache " << core::type_name(mode.kv));
            auto m = converted(name, mode.type);
            const int n_layer = int(m->hparams().n_layer);
            const int64_t n_vocab = m->hparams().n_vocab;
            const Logits ref = evaluate(*m, cpu, nullptr, 0, mode.kv, o.prompt);
            for (int ngl : {n_layer, n_layer / 2}) {
                INFO("ngl " << ngl);
                const Logits got = evaluate(*m, cpu, gpu.value().get(), ngl, mode.kv, o.prompt);
                CHECK(max_rel_diff(got.prompt, ref.prompt) < mode.tol);
                CHECK(max_rel_diff(got.steps, ref.steps) < mode.tol);
                const size_t last = o.prompt.size() - 1;
                CHECK(top1(got.prompt.data() + last * size_t(n_vocab), n_vocab) ==
                      top1(ref.prompt.data() + last * size_t(n_vocab), n_vocab));
            }
        }
    }
}
