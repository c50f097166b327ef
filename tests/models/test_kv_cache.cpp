// The KV cache's two bounded modes (docs/kv-cache.md) on the sliding-window fixtures (window 8):
// sliding layers keep a ring of n_keep + window + n_ubatch - 1 slots whatever n_ctx is, and decoding
// many windows past its length equals the whole-prompt pass; --context-shift keeps the first n_keep
// tokens, drops the oldest half of the rest and continues, with logits right after the shift equal
// to a fresh session fed the kept tokens.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "backends/registry.h"
#include "core/model/generate.h"
#include "tests/models/model_fixtures.h"

using namespace quanta;
using namespace quanta_test;

namespace {

std::unique_ptr<model::Session> make_session(const model::Model & m, core::Backend & cpu, const model::SessionOptions & so) {
    auto s = model::Session::create(m, cpu, so);
    INFO(s.status().message());
    REQUIRE(s.ok());
    return std::move(s.value());
}

model::SessionOptions options(int64_t n_ctx, int64_t n_ubatch, Type kv = Type::F32) {
    model::SessionOptions so;
    so.n_ctx = n_ctx;
    so.n_ubatch = n_ubatch;
    so.kv_type = kv;
    return so;
}

// The prompt followed by its greedy continuation, repeated to n tokens.
std::vector<int32_t> long_text(const Oracle & o, size_t n) {
    std::vector<int32_t> base = o.prompt;
    base.insert(base.end(), o.greedy.begin(), o.greedy.end());
    std::vector<int32_t> out;
    while (out.size() < n) out.push_back(base[out.size() % base.size()]);
    return out;
}

}  // namespace

TEST_CASE("kv cache: sliding-window layers keep a bounded ring whatever n_ctx is", "[oracle]") {
    auto cpu = backends::create_cpu_backend(1);
    auto m = converted("gemma3_text", "f32");
    const arch::HParams & hp = m->hparams();
    REQUIRE(hp.sliding_window == 8);
    auto small = make_session(*m, *cpu, options(256, 4));
    auto large = make_session(*m, *cpu, options(4096, 4));
    int sliding = 0;
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        INFO("layer " << il);
        if (hp.is_sliding(il)) {
            ++sliding;
            CHECK(small->cache_slots(il) == 8 + 4 - 1);
            CHECK(large->cache_bytes(il) == small->cache_bytes(il));
        } else {
            CHECK(large->cache_slots(il) == 4096);
            CHECK(large->cache_bytes(il) == 16 * small->cache_bytes(il));
        }
    }
    CHECK(sliding == 3);
    // A context no longer than the ring: every layer simply keeps n_ctx slots.
    auto tiny = make_session(*m, *cpu, options(10, 4));
    for (int64_t il = 0; il < hp.n_layer; ++il) CHECK(tiny->cache_slots(il) == 10);
}

TEST_CASE("kv cache: decoding token by token through the ring equals the whole-prompt pass", "[oracle]") {
    auto cpu = backends::create_cpu_backend(2);
    for (const char * name : {"mistral_swa", "gemma2_softcap", "gemma3_text"}) {
        INFO("fixture " << name);
        const Oracle o = load_oracle(name);
        auto m = converted(name, "f32");
        const int64_t n_vocab = m->hparams().n_vocab;
        const std::vector<int32_t> text = long_text(o, 100);  // 12 windows of 8
        // Reference: one chunk, every layer with a full-length cache (the ring would not be smaller).
        auto whole = make_session(*m, *cpu, options(128, 128))->eval(text, true);
        REQUIRE(whole.ok());
        // Rings of 8 slots (ubatch 1) and of 8 + 16 - 1 slots (chunks of 16).
        auto by_token = make_session(*m, *cpu, options(128, 1));
        auto by_chunk = make_session(*m, *cpu, options(128, 16));
        REQUIRE(by_token->cache_slots(0) == 8);
        REQUIRE(by_chunk->cache_slots(0) == 8 + 16 - 1);
        auto chunked = by_chunk->eval(text, true);
        REQUIRE(chunked.ok());
        CHECK(max_abs_diff(chunked->data(), whole->data(), whole->size()) <= 1e-4);
        double worst = 0;
        for (size_t t = 0; t < text.size(); ++t) {
            auto step = by_token->eval(std::span(&text[t], 1));
            REQUIRE(step.ok());
            worst = std::max(worst, max_abs_diff(step->data(), whole->data() + t * size_t(n_vocab), size_t(n_vocab)));
        }
        INFO("max |token by token - whole| " << worst);
        CHECK(worst <= 1e-4);
        // Rewinding past what the ring still holds rebuilds it: the next logits match again.
        REQUIRE(by_token->truncate(50).ok());
        auto again = by_token->eval(std::span(&text[50], 1));
        REQUIRE(again.ok());
        CHECK(max_abs_diff(again->data(), whole->data() + 50 * size_t(n_vocab), size_t(n_vocab)) <= 1e-4);
    }
}

TEST_CASE("context shift: kept keys re-rotated exactly, logits equal a fresh session's where the dropped tokens are out of reach", "[oracle]") {
    auto cpu = backends::create_cpu_backend(2);
    struct Case {
        const char * fixture;
        int64_t n_ctx, n_keep, n_ubatch;
        Type kv;
        double tol;  // on layer 0's K and V (relative to the largest value)
    };
    // llama3: global layers only; gemma3_text: ring and global layers; mistral_swa with n_ctx 18 and
    // n_keep 6: after the shift the window reaches back into the pinned n_keep slots. An f32 cache
    // differs from a fresh pass only by float rounding of the re-rotation (K is rotated by -n_discard
    // and stored again); f16 and q8_0 caches round the rotated K once more.
    const Case cases[] = {{"llama3", 40, 4, 4, Type::F32, 1e-5},      {"gemma3_text", 40, 4, 4, Type::F32, 1e-5},
                          {"mistral_swa", 18, 6, 1, Type::F32, 1e-5}, {"gemma3_text", 40, 0, 4, Type::F16, 2e-3},
                          {"gemma3_text", 40, 1, 4, Type::Q8_0, 2e-2}};
    for (const Case & c : cases) {
        INFO("fixture " << c.fixture << ", n_ctx " << c.n_ctx << ", n_keep " << c.n_keep << ", cache "
                        << core::type_name(c.kv));
        const Oracle o = load_oracle(c.fixture);
        auto m = converted(c.fixture, "f32");
        const std::vector<int32_t> text = long_text(o, size_t(c.n_ctx + 1));
        model::SessionOptions so = options(c.n_ctx, c.n_ubatch, c.kv);
        so.n_keep = c.n_keep;
        so.context_shift = true;
        auto s = make_session(*m, *cpu, so);
        REQUIRE(s->eval(std::span(text).first(size_t(c.n_ctx))).ok());
        REQUIRE(s->n_past() == c.n_ctx);
        REQUIRE(s->n_shifts() == 0);
        auto after = s->eval(std::span(&text[size_t(c.n_ctx)], 1));  // full: shifts first
        INFO(after.status().message());
        REQUIRE(after.ok());
        CHECK(s->n_shifts() == 1);
        const int64_t n_discard = (c.n_ctx - c.n_keep) / 2;
        CHECK(s->n_past() == c.n_ctx - n_discard + 1);
        // The kept tokens: the first n_keep, then everything after the discarded ones.
        std::vector<int32_t> kept(text.begin(), text.begin() + c.n_keep);
        kept.insert(kept.end(), text.begin() + c.n_keep + n_discard, text.begin() + c.n_ctx + 1);
        CHECK(s->tokens() == kept);
        // Layer 0's keys and values depend only on the token and its position: after the shift they
        // equal a fresh session's for every kept position the layer still holds.
        auto fresh = make_session(*m, *cpu, so);
        REQUIRE(fresh->eval(kept).ok());
        const int64_t n = s->n_past();
        const int64_t from = s->cache_slots(0) < c.n_ctx ? n - m->hparams().sliding_window : 0;
        for (bool value : {false, true}) {
            auto a = s->cache_rows(0, value, from, n);
            auto b = fresh->cache_rows(0, value, from, n);
            INFO(a.status().message() << b.status().message());
            REQUIRE((a.ok() && b.ok()));
            double err = 0, mag = 1e-6;
            for (size_t i = 0; i < a->size(); ++i) {
                err = std::max(err, double(std::fabs((*a)[i] - (*b)[i])));
                mag = std::max(mag, double(std::fabs((*b)[i])));
            }
            INFO((value ? "V" : "K") << " max relative difference " << err / mag);
            CHECK(err / mag <= c.tol);
        }
    }

    SECTION("a sliding-window model whose receptive field stays in the kept tail: same logits as a fresh pass") {
        // mistral_swa has 2 layers of window 8: the next token's logits depend on the last 2 * 7 + 1
        // positions only, all kept (n_ctx 64, n_keep 0: 32 tokens survive). With global layers the
        // deeper layers' cached keys still carry the dropped tokens' context (as in llama.cpp's context
        // shift), so there a fresh pass differs by design.
        const Oracle o = load_oracle("mistral_swa");
        auto m = converted("mistral_swa", "f32");
        const int64_t n_vocab = m->hparams().n_vocab;
        const std::vector<int32_t> text = long_text(o, 65);
        for (int64_t ub : {1, 4, 64}) {
            INFO("ubatch " << ub);
            model::SessionOptions so = options(64, ub);
            so.context_shift = true;
            auto s = make_session(*m, *cpu, so);
            REQUIRE(s->eval(std::span(text).first(64)).ok());
            auto after = s->eval(std::span(&text[64], 1));
            REQUIRE(after.ok());
            REQUIRE(s->n_shifts() == 1);
            auto fresh = make_session(*m, *cpu, options(64, ub))->eval(s->tokens());
            REQUIRE(fresh.ok());
            const double diff = max_abs_diff(after->data(), fresh->data(), size_t(n_vocab));
            INFO("max |shifted - fresh| " << diff);
            CHECK(diff <= 1e-4);
        }
    }

    SECTION("generate() runs on through several shifts; without --context-shift it stops at n_ctx") {
        const Oracle o = load_oracle("gemma3_text");
        auto m = converted("gemma3_text", "f32");
        auto tok = text::Tokenizer::create(m->tokenizer());
        REQUIRE(tok.ok());
        model::GenerateParams g;
        g.sampling.temperature = 0.0f;
        g.max_tokens = 150;
        g.stop.clear();
        model::SessionOptions so = options(48, 8);
        so.n_keep = 1;
        so.context_shift = true;
        auto s = make_session(*m, *cpu, so);
        const std::vector<int32_t> prompt(o.prompt.begin(), o.prompt.begin() + 20);
        auto stats = model::generate(*s, *tok, prompt, g, [](std::string_view) { return true; });
        INFO(stats.status().message());
        REQUIRE(stats.ok());
        CHECK(stats->stop_reason != "context full");
        // Greedy on this fixture never samples EOS (checked), so both runs are decided by length.
        REQUIRE(stats->stop_reason == "max tokens");
        CHECK(stats->n_generated == 150);
        CHECK(s->n_shifts() >= 2);
        CHECK(s->n_past() <= 48);

        auto plain = make_session(*m, *cpu, options(48, 8));
        auto stopped = model::generate(*plain, *tok, prompt, g, [](std::string_view) { return true; });
        REQUIRE(stopped.ok());
        CHECK(stopped->stop_reason == "context full");
        CHECK(plain->n_past() == 48);
    }
}
