// convert/spm_tokenizer.h — the tokenizer of a checkpoint that ships only a SentencePiece
// `tokenizer.model` (no tokenizer.json): Llama 1/2, Mistral and others of that era.
//
// The vocabulary, scores and special ids come from the model file through libsentencepiece
// (Debian libsentencepiece-dev; the build works without it and then says so here). The pipeline is
// the one transformers builds for these files (ref: transformers convert_slow_tokenizer.py,
// LlamaConverter in its legacy form, SentencePieceExtractor): BPE with byte fallback; merges are
// every split of a piece into two pieces, ordered by the merged piece's score (highest first), then
// by the ids of the two parts. With "legacy": true in tokenizer_config.json, normalizer Prepend("▁")
// (when the model adds a dummy prefix) and Replace(" ", "▁"), which is SentencePiece's own
// behaviour; otherwise (transformers 5's default) a Metaspace pre-tokenizer, prepend scheme
// "first" (or "never" without the dummy prefix), which adds no "▁" before text that starts with a
// space. Decoder Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0). Control and unknown
// pieces become special added tokens. tokenizer_config.json also gives add_bos_token (default:
// true when the model has a BOS), add_eos_token and the chat template.
//
// Only BPE models are accepted (Unigram models such as T5's have no BPE equivalent), and only those
// that keep whitespace as it is (remove_extra_whitespaces false, as Llama's do): any other model is
// an error naming the setting, never a tokenizer that silently gives other ids.
#pragma once

#include <string>

#include "core/text/tokenizer_data.h"
#include "quant/status.h"

namespace quanta::convert {

// True when quanta was built with libsentencepiece (tokenizer.model can be read).
bool spm_tokenizer_available();

// Reads `dir`/tokenizer.model (and `dir`/tokenizer_config.json when present).
Result<text::TokenizerData> load_spm_tokenizer_dir(const std::string & dir);

}  // namespace quanta::convert
