// tests/text/test_tokenizer_gguf.cpp — tokenizers rebuilt from GGUF metadata: byte-level
// (model "gpt2", pre "qwen2") and Llama-2 SPM (model "llama", merges from scores), each against
// transformers' GGUF loader.
#include <catch2/catch.hpp>

#include "core/text/tokenizer.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/gguf.h"
#include "tests/text/text_fixtures.h"

using namespace quanta;
using namespace quanta::text;
using namespace quanta::text::testing;

TEST_CASE("gguf_qwen2: byte-level tokenizer from GGUF metadata matches transformers' GGUF loader", "[text]") {
    auto gguf = formats::GgufReader::open(source_path("tests/fixtures/text/gguf_qwen2/tokenizer.gguf"));
    INFO(gguf.status().message());
    REQUIRE(gguf.ok());
    auto data = tokenizer_from_metadata(gguf->metadata());
    INFO(data.status().message());
    REQUIRE(data.ok());
    CHECK(data->model == ModelKind::kByteLevelBpe);
    CHECK_FALSE(data->add_bos);
    auto tok = Tokenizer::create(std::move(data.value()));
    REQUIRE(tok.ok());
    const auto lines = corpus_lines("bytelevel");
    const Expected e = expected("gguf_qwen2");
    REQUIRE(lines.size() == e.ids.size());
    size_t bad = 0, plain_bad = 0, dec_bad = 0, total = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto ids = tok->encode(lines[i]);
        total += ids.size();
        if (ids != e.ids[i] && ++bad <= 5) WARN("line " << i << " ids " << show_ids(ids) << " expected " << show_ids(e.ids[i]));
        EncodeOptions plain;
        plain.parse_special = false;
        if (tok->encode(lines[i], plain) != e.ids_no_special[i]) ++plain_bad;
        if (tok->decode(e.ids[i]) != e.decoded[i]) ++dec_bad;
    }
    CHECK(total > 10 * lines.size());
    CHECK(bad == 0);
    CHECK(plain_bad == 0);
    CHECK(dec_bad == 0);
}

TEST_CASE("gguf_llama: Llama-2 SPM tokenizer from GGUF metadata (merges from scores) matches transformers' GGUF loader", "[text]") {
    auto gguf = formats::GgufReader::open(source_path("tests/fixtures/text/gguf_llama/tokenizer.gguf"));
    INFO(gguf.status().message());
    REQUIRE(gguf.ok());
    auto data = tokenizer_from_metadata(gguf->metadata());
    INFO(data.status().message());
    REQUIRE(data.ok());
    CHECK(data->model == ModelKind::kSpmBpe);
    CHECK(data->add_bos);
    CHECK(data->byte_fallback);
    auto tok = Tokenizer::create(std::move(data.value()));
    REQUIRE(tok.ok());
    const auto lines = corpus_lines("spm");
    const Expected e = expected("gguf_llama");
    REQUIRE(lines.size() == e.ids.size());
    size_t bad = 0, plain_bad = 0, dec_bad = 0, total = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto ids = tok->encode(lines[i]);
        total += ids.size();
        if (ids != e.ids[i] && ++bad <= 5) WARN("line " << i << " ids " << show_ids(ids) << " expected " << show_ids(e.ids[i]));
        EncodeOptions plain;
        plain.parse_special = false;
        if (tok->encode(lines[i], plain) != e.ids_no_special[i] && ++plain_bad <= 5) {
            WARN("line " << i << " (parse_special off) expected " << show_ids(e.ids_no_special[i]));
        }
        const std::string dec = tok->decode(e.ids[i]);
        if (dec != e.decoded[i] && ++dec_bad <= 5) WARN("line " << i << " decoded '" << dec << "' expected '" << e.decoded[i] << "'");
    }
    CHECK(total > 10 * lines.size());
    CHECK(bad == 0);
    CHECK(plain_bad == 0);
    CHECK(dec_bad == 0);
}
