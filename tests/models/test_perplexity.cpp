// Perplexity is scored as llama-perplexity scores it: fresh cache per chunk, BOS first, the second
// half of each chunk. Checked against transformers' logits of the fixture prompt's first chunk.
#include <catch2/catch.hpp>

#include <cmath>

#include "backends/registry.h"
#include "core/model/perplexity.h"
#include "tests/models/model_fixtures.h"

using namespace quanta;
using namespace quanta_test;

TEST_CASE("perplexity: first chunk's score equals transformers' log-probs", "[oracle]") {
    auto cpu = backends::create_cpu_backend(2);
    const Oracle o = load_oracle("llama3");  // its prompt starts with BOS, as a chunk does
    auto m = converted("llama3", "f32");
    const int64_t n_vocab = o.logits.shape[1], n_ctx = 16;
    REQUIRE(o.prompt[0] == m->tokenizer().bos_id);

    model::PerplexityOptions po;
    po.n_ctx = n_ctx;
    po.max_chunks = 1;
    std::vector<int32_t> seen_targets;
    auto s = session(*m, *cpu, Type::F32);
    auto r = model::perplexity(*s, o.prompt, m->tokenizer().bos_id, po,
                               [&](int64_t, std::span<const float>, std::span<const int32_t> targets) {
                                   seen_targets.assign(targets.begin(), targets.end());
                                   return ok_status();
                               });
    REQUIRE(r.ok());
    CHECK(r->n_chunks == 1);
    CHECK(r->n_scored == n_ctx - 1 - n_ctx / 2);

    double nll = 0;
    std::vector<double> lp;
    for (int64_t j = n_ctx / 2; j < n_ctx - 1; ++j) {
        model::log_softmax(std::span<const float>(o.logits.data.data() + j * n_vocab, size_t(n_vocab)), lp);
        nll -= lp[size_t(o.prompt[size_t(j + 1)])];
    }
    CHECK(r->nll_sum == Approx(nll).epsilon(1e-4));
    CHECK(seen_targets == std::vector<int32_t>(o.prompt.begin() + n_ctx / 2 + 1, o.prompt.begin() + n_ctx));
    CHECK(r->ppl() == Approx(std::exp(nll / double(r->n_scored))).epsilon(1e-4));

    po.n_ctx = 120;  // longer than the whole text: a clear error, not a silent zero
    auto too_long = model::perplexity(*session(*m, *cpu, Type::F32), o.prompt, 0, po);
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.status().message().find("fewer than one chunk") != std::string::npos);
}
