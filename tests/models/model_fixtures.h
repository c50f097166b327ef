// tests/models/model_fixtures.h — the transformers-made fixtures (tests/fixtures/models) as the
// model tests use them: the oracle (prompt, greedy tokens, logits) and the checkpoint converted to
// a .qnt of a given type (cached per test process).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <unistd.h>
#include <vector>

#include "convert/convert.h"
#include "core/model/model.h"
#include "core/model/perplexity.h"
#include "core/model/session.h"
#include "tests/models/npy.h"
#include "tests/support.h"

namespace quanta_test {

using namespace quanta;
namespace fs = std::filesystem;

// Largest |a - b| over n values; a NaN on one side only counts as infinitely far.
inline double max_abs_diff(const float * a, const float * b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) {
        if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
        m = std::max(m, double(std::fabs(a[i] - b[i])));
    }
    return m;
}
inline double max_abs_diff(const std::vector<float> & a, const std::vector<float> & b) {
    REQUIRE(a.size() == b.size());
    return max_abs_diff(a.data(), b.data(), a.size());
}

// How closely logits `got` follow `ref` over n positions of n_vocab: top-1 agreement everywhere and
// on decisive positions (reference top-2 margin >= 0.1 logit: the random fixture models have many
// near-ties, where any rounding flips the winner), and the mean KL(softmax(ref) || softmax(got)).
struct LogitAgreement {
    size_t agree = 0, decisive = 0, agree_decisive = 0;
    double mean_kl = 0.0;
};
inline LogitAgreement logit_agreement(const float * ref, const float * got, size_t n, int64_t n_vocab) {
    LogitAgreement a;
    double kl = 0.0;
    std::vector<double> lp, lq;
    for (size_t t = 0; t < n; ++t) {
        const float * r = ref + t * size_t(n_vocab);
        const float * g = got + t * size_t(n_vocab);
        std::vector<float> top(r, r + n_vocab);
        std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<float>());
        const bool same = std::max_element(r, r + n_vocab) - r == std::max_element(g, g + n_vocab) - g;
        const bool is_decisive = top[0] - top[1] >= 0.1f;
        a.agree += same;
        a.decisive += is_decisive;
        a.agree_decisive += same && is_decisive;
        quanta::model::log_softmax(std::span(r, size_t(n_vocab)), lp);
        quanta::model::log_softmax(std::span(g, size_t(n_vocab)), lq);
        kl += quanta::model::kl_divergence(lp, lq);
    }
    a.mean_kl = n ? kl / double(n) : 0.0;
    return a;
}

inline const char * kFixtures[] = {"llama3", "llama2_linear_tied", "mistral_swa", "qwen2_bias",
                            "qwen3_qknorm", "gemma", "gemma2_softcap", "gemma3_text"};

struct Oracle {
    std::vector<int32_t> prompt, greedy;
    NpyF32 logits;       // [n_tokens, n_vocab]
    NpyF32 logits_q8_0;  // the same model with every matrix rounded through Q8_0
};

inline Oracle load_oracle(const std::string & name) {
    const std::string dir = source_path("tests/fixtures/models/" + name);
    Oracle o;
    nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/oracle.json"));
    o.prompt = j["prompt_tokens"].get<std::vector<int32_t>>();
    o.greedy = j["greedy_tokens"].get<std::vector<int32_t>>();
    REQUIRE(read_npy_f32(dir + "/logits.npy", o.logits));
    REQUIRE(read_npy_f32(dir + "/logits_q8_0.npy", o.logits_q8_0));
    REQUIRE(o.logits.shape.size() == 2);
    REQUIRE(o.logits.shape[0] == int64_t(o.prompt.size()));
    return o;
}

inline std::unique_ptr<model::Model> converted(const std::string & name, const std::string & type) {
    const fs::path dir = fs::temp_directory_path() / ("quanta_oracle_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path out = dir / (name + "." + type + ".qnt");
    if (!fs::exists(out)) {
        convert::ConvertOptions o;
        o.type = type;
        Status s = convert::convert_model(source_path("tests/fixtures/models/" + name), out.string(), o);
        INFO(s.message());
        REQUIRE(s.ok());
    }
    auto m = model::Model::load(out.string());
    INFO(m.status().message());
    REQUIRE(m.ok());
    return std::move(m.value());
}

inline std::unique_ptr<model::Session> session(const model::Model & m, core::Backend & cpu, Type kv, int64_t ubatch = 512) {
    model::SessionOptions so;
    so.n_ctx = 128;
    so.n_ubatch = ubatch;
    so.kv_type = kv;
    auto s = model::Session::create(m, cpu, so);
    INFO(s.status().message());
    REQUIRE(s.ok());
    return std::move(s.value());
}

}  // namespace quanta_test
