// tests/text/test_tokenizer.cpp — id and decode parity with HF tokenizers on every corpus line,
// for each tokenizer trained by tests/fixtures/text/make_text_fixtures.py.
#include <catch2/catch.hpp>

#include "core/text/detokenizer.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "tests/text/text_fixtures.h"

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
    Tokenizer tok = load(name);
    auto lines = corpus_lines(family);
    const Expected e = expected(name);
    lines.insert(lines.end(), e.extra_lines.begin(), e.extra_lines.end());
    REQUIRE(lines.size() == e.ids.size());
    size_t id_bad = 0, plain_bad = 0, dec_bad = 0, stream_bad = 0, total_ids = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto ids = tok.encode(lines[i]);
        total_ids += ids.size();
        if (ids != e.ids[i]) {
            if (++id_bad <= 5) WARN(name << " line " << i << " ids " << show_ids(ids) << " expected " << show_ids(e.ids[i]));
        }
        EncodeOptions plain;
        plain.parse_special = false;
        const auto ids2 = tok.encode(lines[i], plain);
        if (ids2 != e.ids_no_special[i]) {
            if (++plain_bad <= 5) WARN(name << " line " << i << " (parse_special off) ids " << show_ids(ids2) << " expected " << show_ids(e.ids_no_special[i]));
        }
        const std::string dec = tok.decode(e.ids[i]);
        if (dec != e.decoded[i]) {
            if (++dec_bad <= 5) WARN(name << " line " << i << " decoded '" << dec << "' expected '" << e.decoded[i] << "'");
        }
        // Streaming: every chunk valid UTF-8, all chunks together the full decode.
        Detokenizer dt(tok);
        std::string joined;
        bool chunks_valid = true;
        for (int32_t id : e.ids[i]) {
            const std::string c = dt.push(id);
            chunks_valid = chunks_valid && utf8_is_valid(c);
            joined += c;
        }
        joined += dt.finish();
        if (joined != e.decoded[i] || !chunks_valid) ++stream_bad;
    }
    INFO(name << ": " << lines.size() << " lines");
    CHECK(total_ids > 10 * lines.size());  // the corpus really was tokenized
    CHECK(id_bad == 0);
    CHECK(plain_bad == 0);
    CHECK(dec_bad == 0);
    CHECK(stream_bad == 0);
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
