// The generation loop on a fixture: greedy generate() reproduces transformers' continuation,
// stop strings end the text before them, and the token limit is honoured.
#include <catch2/catch.hpp>

#include "backends/registry.h"
#include "core/model/generate.h"
#include "tests/models/model_fixtures.h"

using namespace quanta;
using namespace quanta_test;

TEST_CASE("generate: greedy continuation equals transformers' and stop strings cut the text", "[oracle]") {
    auto cpu = backends::create_cpu_backend(2);
    const Oracle o = load_oracle("mistral_swa");
    auto m = converted("mistral_swa", "f32");
    auto tok = text::Tokenizer::create(m->tokenizer());
    REQUIRE(tok.ok());

    model::GenerateParams g;
    g.sampling.temperature = 0.0f;
    g.max_tokens = int32_t(o.greedy.size());
    std::string text;
    auto s = session(*m, *cpu, Type::F32);
    auto stats = model::generate(*s, *tok, o.prompt, g, [&](std::string_view t) {
        text += t;
        return true;
    });
    REQUIRE(stats.ok());
    CHECK(stats->tokens == o.greedy);
    CHECK(stats->stop_reason == "max tokens");
    CHECK(text == tok->decode(o.greedy, true));
    REQUIRE(text.size() > 4);

    // Stop on a piece of that text: what comes back is exactly the text before it.
    const std::string stop = text.substr(text.size() / 2, 3);
    g.stop = {stop};
    std::string cut;
    auto again = model::generate(*session(*m, *cpu, Type::F32), *tok, o.prompt, g, [&](std::string_view t) {
        cut += t;
        return true;
    });
    REQUIRE(again.ok());
    CHECK(again->stop_reason == "stop string");
    CHECK(cut == text.substr(0, text.find(stop)));
}
