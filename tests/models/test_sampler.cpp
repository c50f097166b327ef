// The sampler's documented order (docs/sampling.md): penalties, greedy, top-k, temperature,
// top-p, min-p, seeded draw.
#include <catch2/catch.hpp>

#include <map>

#include "core/model/sampler.h"

using quanta::model::Sampler;
using quanta::model::SamplerParams;

static const std::vector<float> kLogits = {1.0f, 3.0f, 2.5f, -1.0f, 2.9f, 0.0f};

TEST_CASE("sampler: temperature 0 is greedy (first maximum)", "[sampler]") {
    SamplerParams p;
    p.temperature = 0.0f;
    Sampler s(p);
    CHECK(s.sample(kLogits, {}) == 1);
    std::vector<float> tie = {0.5f, 2.0f, 2.0f};
    CHECK(s.sample(tie, {}) == 1);
}

TEST_CASE("sampler: the same seed gives the same tokens", "[sampler]") {
    SamplerParams p;
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 42;
    Sampler a(p), b(p);
    std::vector<int32_t> ta, tb;
    for (int i = 0; i < 50; ++i) {
        ta.push_back(a.sample(kLogits, {}));
        tb.push_back(b.sample(kLogits, {}));
    }
    CHECK(ta == tb);
    p.seed = 43;
    Sampler c(p);
    std::vector<int32_t> tc;
    for (int i = 0; i < 50; ++i) tc.push_back(c.sample(kLogits, {}));
    CHECK(tc != ta);
    // A high temperature over 50 draws visits more than one token.
    std::map<int32_t, int> seen;
    for (int32_t t : ta) ++seen[t];
    CHECK(seen.size() > 1);
}

TEST_CASE("sampler: top-k, top-p and min-p cut the candidates", "[sampler]") {
    SamplerParams p;
    p.temperature = 1.0f;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.top_k = 1;
    Sampler k1(p);
    for (int i = 0; i < 20; ++i) CHECK(k1.sample(kLogits, {}) == 1);

    p.top_k = 2;  // only ids 1 (3.0) and 4 (2.9)
    Sampler k2(p);
    for (int i = 0; i < 50; ++i) {
        int32_t t = k2.sample(kLogits, {});
        CHECK((t == 1 || t == 4));
    }

    p.top_k = 0;
    p.top_p = 0.01f;  // the smallest set reaching 1%: the top token alone
    Sampler tp(p);
    for (int i = 0; i < 20; ++i) CHECK(tp.sample(kLogits, {}) == 1);

    p.top_p = 1.0f;
    p.min_p = 0.95f;  // only tokens within 95% of the top probability: 3.0 and 2.9 (e^-0.1 = 0.905 < 0.95)
    Sampler mp(p);
    for (int i = 0; i < 20; ++i) CHECK(mp.sample(kLogits, {}) == 1);
}

TEST_CASE("sampler: penalties act on the recent history only", "[sampler]") {
    SamplerParams p;
    p.temperature = 0.0f;
    p.repeat_penalty = 2.0f;  // 3.0 -> 1.5 for token 1, so 2.9 (token 4) wins
    Sampler rep(p);
    std::vector<int32_t> history = {1};
    CHECK(rep.sample(kLogits, history) == 4);

    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.1f;  // token 1 seen twice: 3.0 - 0.2 = 2.8 < 2.9
    Sampler freq(p);
    std::vector<int32_t> twice = {1, 1};
    CHECK(freq.sample(kLogits, twice) == 4);

    p.frequency_penalty = 0.0f;
    p.presence_penalty = 1.0f;
    p.penalty_last_n = 1;  // only the last token counts: token 4 is penalised, not token 1
    Sampler pres(p);
    std::vector<int32_t> old_then_new = {1, 4};
    CHECK(pres.sample(kLogits, old_then_new) == 1);
}
