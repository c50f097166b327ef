// core/text/tokenizer_data.h — everything a tokenizer is, as plain data.
//
// TokenizerData describes a Hugging Face `tokenizers` BPE pipeline:
//   added tokens (matched first) -> normalizer steps -> pre-tokenizer steps -> BPE model
//   -> template (BOS/EOS) ; decoding: id -> piece -> decoder steps.
// Two families are expressed with it: SentencePiece-style BPE with byte fallback (Gemma, Llama 2,
// Mistral: pieces spelled with U+2581 "▁", <0xNN> byte tokens) and byte-level BPE (GPT-2, Llama 3,
// Qwen 2: pieces spelled in GPT-2's byte alphabet, a split regex as pre-tokenizer).
//
// It is filled from a tokenizer.json (+ tokenizer_config.json), from a GGUF's tokenizer.ggml.*
// metadata (following transformers' GGUF rules) or from quanta's flat metadata; all three give the
// same struct. The flat form (FlatMetadata) holds only typed arrays — strings, f32, i32 — which is
// what the .qnt metadata stores; scalars are arrays of one element, booleans are i32 0/1.
//
// Ownership: plain values, no pointers; copy or move freely. Not thread-safe to mutate.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quant/status.h"

namespace quanta::text {

// GGUF token types (llama.cpp's values, stable on disk).
enum class TokenType : int32_t { kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// Which family the pipeline belongs to (for GGUF export and for users; the pipeline steps decide).
enum class ModelKind : int32_t { kSpmBpe = 0, kByteLevelBpe = 1 };

// An added token, with the matching rules of HF tokenizers' AddedToken.
struct AddedToken {
    int32_t id = -1;
    std::string content;       // UTF-8, matched literally
    bool lstrip = false;       // the match absorbs Unicode whitespace on its left
    bool rstrip = false;       // ... and on its right
    bool normalized = false;   // matched in the normalized text instead of the raw text
    bool special = true;       // skipped by decode(skip_special); not matched when parse_special is off
    bool single_word = false;  // only matched when not inside a word
    bool model_piece = true;   // also a piece of the BPE vocabulary (false: only the added vocabulary has it)
};

enum class NormalizerKind : int32_t { kPrepend = 1, kReplace = 2, kNfc = 3 };
struct NormalizerStep {
    NormalizerKind kind = NormalizerKind::kReplace;
    std::string pattern;  // kReplace: literal string to find
    std::string content;  // kPrepend: prefix; kReplace: replacement
};

enum class SplitBehavior : int32_t { kRemoved = 0, kIsolated = 1, kMergedWithPrevious = 2, kMergedWithNext = 3, kContiguous = 4 };
enum class PrependScheme : int32_t { kFirst = 0, kNever = 1, kAlways = 2 };
enum class PreTokenizerKind : int32_t { kSplit = 1, kByteLevel = 2, kMetaspace = 3 };
struct PreTokenizerStep {
    PreTokenizerKind kind = PreTokenizerKind::kSplit;
    std::string pattern;             // kSplit: the pattern; kMetaspace: the replacement (U+2581)
    bool pattern_is_regex = false;   // kSplit: PCRE2 regex (UTF, UCP) instead of a literal string
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;             // kSplit
    bool add_prefix_space = false;   // kByteLevel
    bool use_regex = true;           // kByteLevel: split with the GPT-2 regex first
    PrependScheme prepend_scheme = PrependScheme::kAlways;  // kMetaspace
    bool split = true;               // kMetaspace: split on the replacement (merged with next)
};

enum class DecoderKind : int32_t { kReplace = 1, kByteFallback = 2, kFuse = 3, kStrip = 4, kByteLevel = 5, kMetaspace = 6 };
struct DecoderStep {
    DecoderKind kind = DecoderKind::kFuse;
    std::string pattern;   // kReplace: find; kStrip: the character; kMetaspace: the replacement
    std::string content;   // kReplace: replacement
    int32_t start = 0;     // kStrip: at most this many leading characters removed
    int32_t stop = 0;      // kStrip: ... trailing characters (only 0 is supported by the decoder)
    PrependScheme prepend_scheme = PrependScheme::kAlways;  // kMetaspace
};

struct TokenizerData {
    ModelKind model = ModelKind::kSpmBpe;
    // Vocabulary, indexed by token id: pieces[i] is the piece as the model spells it.
    std::vector<std::string> pieces;
    std::vector<float> scores;          // per id; 0 when the source has none
    std::vector<TokenType> token_types; // per id
    // Merges in rank order (rank 0 first) as (left id, right id); the merged piece is
    // pieces[left] + pieces[right] and must be in the vocabulary. GGUF spells them "left right".
    std::vector<std::pair<int32_t, int32_t>> merges;
    std::vector<AddedToken> added;      // in the order they were added (HF added_tokens)

    bool byte_fallback = false;  // unknown characters become <0xNN> tokens
    bool ignore_merges = false;  // a whole pre-token found in the vocabulary is one token (Llama 3)
    bool fuse_unk = false;       // consecutive unknowns become one unk token
    int32_t unk_id = -1;

    std::vector<NormalizerStep> normalizer;
    std::vector<PreTokenizerStep> pre_tokenizer;
    std::vector<DecoderStep> decoder;
    bool has_decoder = true;     // false: decode joins pieces with " " (HF's behaviour without one)

    int32_t bos_id = -1, eos_id = -1, pad_id = -1;
    bool add_bos = false, add_eos = false;
    std::string chat_template;   // Jinja source from tokenizer_config.json (may be empty)
};

// Loads tokenizer.json text and, optionally, tokenizer_config.json text (empty: none).
// Supports the BPE model with the normalizer, pre-tokenizer and decoder types listed above.
Result<TokenizerData> tokenizer_from_hf_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json);
// Same, reading `dir`/tokenizer.json and `dir`/tokenizer_config.json (the latter optional).
Result<TokenizerData> load_hf_tokenizer_dir(const std::string & dir);

// Typed arrays keyed by name: the shape of .qnt and GGUF metadata.
struct FlatMetadata {
    std::map<std::string, std::vector<std::string>> strings;
    std::map<std::string, std::vector<float>> f32;
    std::map<std::string, std::vector<int32_t>> i32;
};

// Writes `data` as GGUF-named keys (tokenizer.ggml.model/tokens/scores/token_type/merges/
// bos_token_id/eos_token_id/padding_token_id/unknown_token_id/add_bos_token/add_eos_token,
// tokenizer.chat_template) plus tokenizer.quanta.* keys for the pipeline and added-token flags.
FlatMetadata tokenizer_to_flat(const TokenizerData & data);

// Reads what tokenizer_to_flat wrote. Without tokenizer.quanta.* keys the input is treated as a
// GGUF's metadata and the pipeline is rebuilt as transformers does for `architecture`
// (gemma/gemma2/gemma3 SentencePiece, "gpt2" byte-level with tokenizer.ggml.pre's split regex).
Result<TokenizerData> tokenizer_from_flat(const FlatMetadata & md, std::string_view architecture);

// Checks ids and sizes (every id in range, per-id arrays the vocabulary's length, merges of
// known pieces). Loaders call it; call it again after editing a TokenizerData by hand.
Status validate(const TokenizerData & data);

}  // namespace quanta::text
