// tests/text/test_tokenizer_data.cpp — the flat (.qnt) form, hostile tokenizer files, random bytes.
#include <catch2/catch.hpp>

#include <random>

#include "core/text/detokenizer.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "tests/text/text_fixtures.h"

using namespace quanta::text;
using namespace quanta::text::testing;

namespace {

TokenizerData load_data(const std::string & name) {
    auto d = load_hf_tokenizer_dir(source_path("tests/fixtures/text/" + name));
    INFO(d.status().message());
    REQUIRE(d.ok());
    return std::move(d.value());
}

const char * const kAll[] = {"bytelevel_llama3", "bytelevel_gpt2", "bytelevel_qwen2", "spm_llama2", "spm_metaspace", "spm_gemma"};

}  // namespace

TEST_CASE("flat metadata round-trips every fixture tokenizer to the same ids", "[text]") {
    for (const char * name : kAll) {
        INFO(name);
        TokenizerData d = load_data(name);
        const FlatMetadata flat = tokenizer_to_flat(d);
        CHECK(flat.strings.at("tokenizer.ggml.tokens").size() == d.pieces.size());
        CHECK(flat.strings.at("tokenizer.ggml.merges").size() == d.merges.size());
        auto back = tokenizer_from_flat(flat, "");
        INFO(back.status().message());
        REQUIRE(back.ok());
        CHECK(back->pieces == d.pieces);
        CHECK(back->merges == d.merges);
        CHECK(back->added.size() == d.added.size());
        auto t1 = Tokenizer::create(d);
        auto t2 = Tokenizer::create(std::move(back.value()));
        REQUIRE(t1.ok());
        REQUIRE(t2.ok());
        const std::string family = std::string(name).rfind("bytelevel", 0) == 0 ? "bytelevel" : "spm";
        const auto lines = corpus_lines(family);
        size_t bad = 0;
        for (const auto & l : lines) {
            const auto ids = t1->encode(l);
            if (ids != t2->encode(l)) ++bad;
            if (t1->decode(ids) != t2->decode(ids)) ++bad;
        }
        CHECK(bad == 0);
    }
}

TEST_CASE("hostile tokenizer.json and flat metadata give a Status, not a crash", "[text]") {
    CHECK_FALSE(tokenizer_from_hf_json("{not json", "").ok());
    CHECK_FALSE(tokenizer_from_hf_json("[]", "").ok());
    CHECK_FALSE(tokenizer_from_hf_json(R"({"model": {"type": "Unigram", "vocab": []}})", "").ok());
    const auto bad_merge = tokenizer_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}})", "");
    REQUIRE_FALSE(bad_merge.ok());
    CHECK(bad_merge.status().message().find("merge 0") != std::string::npos);
    CHECK_FALSE(tokenizer_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": -4}, "merges": []}})", "").ok());
    CHECK_FALSE(tokenizer_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 99999999999}, "merges": []}})", "").ok());
    CHECK_FALSE(tokenizer_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": {"type": "Lowercase"}})", "").ok());
    // A regex that does not compile is caught when the tokenizer is built.
    auto bad_re = tokenizer_from_hf_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(("}, "behavior": "Isolated"}})", "");
    REQUIRE(bad_re.ok());
    CHECK_FALSE(Tokenizer::create(bad_re.value()).ok());

    TokenizerData d = load_data("spm_llama2");
    FlatMetadata flat = tokenizer_to_flat(d);
    flat.i32["tokenizer.quanta.merge_ids"][0] = 1 << 30;
    CHECK_FALSE(tokenizer_from_flat(flat, "").ok());
    flat = tokenizer_to_flat(d);
    flat.f32["tokenizer.ggml.scores"].pop_back();
    CHECK_FALSE(tokenizer_from_flat(flat, "").ok());
    flat = tokenizer_to_flat(d);
    flat.i32["tokenizer.quanta.pre.ints"].push_back(3);
    CHECK_FALSE(tokenizer_from_flat(flat, "").ok());
    flat = tokenizer_to_flat(d);
    flat.i32["tokenizer.ggml.bos_token_id"] = {static_cast<int32_t>(d.pieces.size())};
    CHECK_FALSE(tokenizer_from_flat(flat, "").ok());
    flat = tokenizer_to_flat(d);
    flat.i32.erase("tokenizer.quanta.version");  // now read as GGUF keys: a "llama" vocabulary for Phi-3
    CHECK_FALSE(tokenizer_from_flat(flat, "phi3").ok());   // (its normalizer pipeline is not rebuilt)
    flat.strings["tokenizer.ggml.model"] = {"t5"};
    CHECK_FALSE(tokenizer_from_flat(flat, "t5").ok());
}

// Random strings: raw bytes (must not crash; ids in range) and valid UTF-8 from mixed scripts,
// which must round-trip through encode/decode where the pipeline is lossless.
TEST_CASE("random bytes: no crash, ids in range, lossless round trip on valid UTF-8", "[text]") {
    std::mt19937 rng(7);
    const uint32_t ranges[][2] = {{0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x17F}, {0x400, 0x4FF}, {0x600, 0x6FF}, {0x900, 0x97F},
                                  {0x4E00, 0x4FFF}, {0x1F300, 0x1F64F}, {0x200B, 0x200D}, {0x3000, 0x3003}, {0xFFF0, 0xFFFD}};
    for (const char * name : kAll) {
        INFO(name);
        auto t = Tokenizer::create(load_data(name));
        REQUIRE(t.ok());
        // Where HF itself is lossy: gpt2 adds a prefix space to every piece; Metaspace's decoder
        // drops the spaces of the first token. (The random text never holds U+2581.)
        const std::string n = name;
        const auto lossless = [&](const std::string & s) {
            if (n == "bytelevel_gpt2") return false;
            if (n == "spm_metaspace") return !s.empty() && s[0] != ' ';
            return true;
        };
        size_t out_of_range = 0, not_lossless = 0, invalid_decode = 0;
        for (int iter = 0; iter < 1500; ++iter) {
            std::string s;
            const int len = static_cast<int>(rng() % 48);
            if (iter % 3 == 0) {
                for (int i = 0; i < len; ++i) s.push_back(static_cast<char>(rng() & 0xFF));
            } else {
                for (int i = 0; i < len; ++i) {
                    const auto & r = ranges[rng() % (sizeof(ranges) / sizeof(ranges[0]))];
                    utf8_append(s, r[0] + rng() % (r[1] - r[0] + 1));
                }
            }
            EncodeOptions o;
            o.add_special = false;
            o.parse_special = false;
            const auto ids = t->encode(s, o);
            for (int32_t id : ids) out_of_range += (id < 0 || id >= t->n_vocab());
            const std::string back = t->decode(ids);
            invalid_decode += !utf8_is_valid(back);
            if (lossless(s) && utf8_is_valid(s) && back != s) {
                if (++not_lossless <= 3) WARN("round trip differs for '" << s << "': '" << back << "'");
            }
        }
        CHECK(out_of_range == 0);
        CHECK(invalid_decode == 0);
        CHECK(not_lossless == 0);
    }
}

TEST_CASE("utf8_sanitize replaces maximal subparts like Python's errors='replace'", "[text]") {
    CHECK(utf8_sanitize("abc") == "abc");
    CHECK(utf8_sanitize("\xff") == "\xEF\xBF\xBD");
    CHECK(utf8_sanitize("\xe2\x82x") == "\xEF\xBF\xBDx");              // one U+FFFD for the cut sequence
    CHECK(utf8_sanitize("\xed\xa0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: 3
    CHECK(utf8_sanitize("\xf0\x9f\x98") == "\xEF\xBF\xBD");
    CHECK(utf8_incomplete_tail("a\xf0\x9f\x98") == 3);
    CHECK(utf8_incomplete_tail("a\xe2\x82") == 2);
    CHECK(utf8_incomplete_tail("a\xff") == 0);
    CHECK(utf8_incomplete_tail("a\xc3\xa9") == 0);
}
