// tests/text/test_tokenizer.cpp — id and decode parity with HF tokenizers on every corpus line,
// for each tokenizer trained by tests/fixtures/text/make_text_fixtures.py.
#include <catch2/catch.hpp>

#include "core/text/tokenizer.h"
#include "tests/text/parity.h"

using namespace quanta::text;
using namespace quanta::text::testing;

namespace {

Tokenizer load(const std::string & name) {
    auto d = load_hf_tokenizer_dir(source_path("tests/fixtures/text/" + name));
    INFO(d.status().message());
    REQUIRE(d.ok());
    auto t = Tokenizer::create(std::move(d.value()));
    INFO(t.status().message());
    REQUIRE(t.ok());
    return std::move(t.value());
}

void check_parity(const std::string & name) {
    const std::string family = name.rfind("bytelevel", 0) == 0 ? "bytelevel" : "spm";
    testing::check_parity(load(name), name, family);
}

}  // namespace

TEST_CASE("bytelevel_llama3: ids and decode match HF on the corpus", "[text]") { check_parity("bytelevel_llama3"); }
TEST_CASE("bytelevel_gpt2: ids and decode match HF on the corpus", "[text]") { check_parity("bytelevel_gpt2"); }
TEST_CASE("bytelevel_qwen2: ids and decode match HF on the corpus", "[text]") { check_parity("bytelevel_qwen2"); }
TEST_CASE("bytelevel_qwen2_nfc: Qwen's NFC normalizer, ids and decode match HF on the corpus and NFC lines", "[text]") {
    check_parity("bytelevel_qwen2_nfc");
    // The normalizer really acts: decomposed and composed spellings encode alike.
    Tokenizer tok = load("bytelevel_qwen2_nfc");
    CHECK(tok.encode("cafe\u0301") == tok.encode("caf\u00e9"));
    CHECK(tok.encode("\u1112\u1161\u11ab") == tok.encode("\ud55c"));
    CHECK(load("bytelevel_qwen2").encode("cafe\u0301") != tok.encode("cafe\u0301"));
}
TEST_CASE("spm_llama2: ids and decode match HF on the corpus", "[text]") { check_parity("spm_llama2"); }
TEST_CASE("spm_metaspace: ids and decode match HF on the corpus", "[text]") { check_parity("spm_metaspace"); }
TEST_CASE("spm_gemma: ids and decode match HF on the corpus", "[text]") { check_parity("spm_gemma"); }
