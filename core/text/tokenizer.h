// core/text/tokenizer.h — encode text to token ids and back, with Hugging Face `tokenizers` parity.
//
// A Tokenizer is built once from a TokenizerData (which it keeps) and is then immutable:
// encode/decode are const and safe to call from several threads at once.
//
// encode(text):
//   1. invalid UTF-8 in `text` becomes U+FFFD (as Python's bytes.decode("utf-8", "replace"));
//   2. added tokens are matched first (leftmost-longest; lstrip/rstrip/single_word/normalized as
//      in HF's AddedVocabulary); with parse_special off, *special* added tokens are not matched and
//      are tokenized as plain text — use that for untrusted input;
//   3. the rest is normalized, pre-tokenized and run through BPE (merge ranks, byte fallback);
//   4. BOS/EOS are added when add_special is on and the data says so.
// decode(ids) applies the data's decoder steps exactly as tokenizers.decode does; ids out of
// range are skipped (as HF skips ids it cannot map).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/text/tokenizer_data.h"
#include "quant/status.h"

namespace quanta::text {

struct EncodeOptions {
    bool add_special = true;    // add BOS/EOS per TokenizerData::add_bos/add_eos
    bool parse_special = true;  // match special added tokens in the text (false for untrusted text)
};

struct TokenizerImpl;

class Tokenizer {
public:
    // Compiles regexes (PCRE2 JIT) and builds the lookup tables. Fails on data that does not
    // validate or on pipeline steps the encoder cannot run (NFC normalizer; a step after ByteLevel).
    static Result<Tokenizer> create(TokenizerData data);

    std::vector<int32_t> encode(std::string_view text, const EncodeOptions & options = {}) const;
    // Appends to `out` instead of returning a new vector.
    void encode_into(std::string_view text, const EncodeOptions & options, std::vector<int32_t> & out) const;

    std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

    int32_t n_vocab() const;
    // The token as HF's id_to_token spells it (added-token content or vocabulary piece); empty
    // for an id out of range.
    const std::string & piece(int32_t id) const;
    // Id of a vocabulary piece or added-token content; -1 when absent.
    int32_t token_id(std::string_view piece) const;
    bool is_special(int32_t id) const;  // an added token marked special
    const TokenizerData & data() const;

    const TokenizerImpl & impl() const { return *impl_; }

private:
    explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const TokenizerImpl> impl_;
};

}  // namespace quanta::text
