// tests/text/parity.h — the corpus parity check every tokenizer test runs: ids (with and without
// special-token parsing), decode and streaming decode against the Hugging Face expectations in
// tests/fixtures/text/<name>/expected.json.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "core/text/detokenizer.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "tests/text/text_fixtures.h"

namespace quanta::text::testing {

// `family` names the corpus ("bytelevel", "spm", "gemma3"); `name` the expected.json folder.
inline void check_parity(const Tokenizer & tok, const std::string & name, const std::string & family) {
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

}  // namespace quanta::text::testing
