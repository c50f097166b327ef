// tests/text/test_tokenizer_gguf.cpp — tokenizers rebuilt from GGUF metadata: byte-level
// (model "gpt2", pre "qwen2") and Llama-2 SPM (model "llama", merges from scores), each against
// transformers' GGUF loader.
#include <catch2/catch.hpp>

#include "core/text/tokenizer.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/gguf.h"
#include "tests/text/parity.h"

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
    check_parity(*tok, "gguf_qwen2", "bytelevel");
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
    check_parity(*tok, "gguf_llama", "spm");
}
