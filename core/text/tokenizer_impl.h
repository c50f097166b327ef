// core/text/tokenizer_impl.h — internal tables shared by the tokenizer's translation units.
// Not a public header: include core/text/tokenizer.h instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/text/tokenizer_data.h"

namespace quanta::text {

// Replaces every occurrence of `from` in s by `to` (nothing when `from` is empty).
void replace_all(std::string & s, std::string_view from, std::string_view to);

// String-keyed map that accepts string_view lookups without allocating.
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using PieceMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Piece -> id over a vocabulary it does not own (pieces must outlive it and stay unchanged):
// open addressing over ids, compared against the pieces themselves, so building and looking up
// allocate nothing per piece. A repeated piece maps to its last id (as a Python dict built in id
// order does).
class PieceIndex {
public:
    void build(const std::vector<std::string> & pieces, const std::vector<uint8_t> * skip = nullptr);
    int32_t find(std::string_view s) const {
        if (slots_.empty()) return -1;
        const uint64_t h = hash(s);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            const int32_t id = slots_[i];
            if (id < 0) return -1;
            if (tags_[i] == static_cast<uint32_t>(h >> 32) && (*pieces_)[static_cast<size_t>(id)] == s) return id;
        }
    }
    static uint64_t hash(std::string_view s) {  // FNV-1a, then a final mix
        uint64_t h = 1469598103934665603ULL;
        for (char c : s) { h ^= static_cast<uint8_t>(c); h *= 1099511628211ULL; }
        h ^= h >> 29; h *= 0xbf58476d1ce4e5b9ULL; h ^= h >> 32;
        return h;
    }
private:
    const std::vector<std::string> * pieces_ = nullptr;
    std::vector<int32_t> slots_;   // id, or -1 for empty
    std::vector<uint32_t> tags_;   // high hash bits of the slot's piece: most mismatches skip the compare
    size_t mask_ = 0;
};

// Open-addressing map (left id, right id) -> (rank, merged id): the BPE hot loop's only lookup.
class MergeTable {
public:
    struct Value { int32_t rank; int32_t id; };
    void build(const std::vector<std::pair<int32_t, int32_t>> & merges, const std::vector<int32_t> & merged_ids);
    const Value * find(int32_t a, int32_t b) const {
        if (slots_.empty()) return nullptr;
        const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
        for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            const Slot & s = slots_[i];
            if (s.key == key) return &s.value;
            if (s.key == kEmpty) return nullptr;
        }
    }
private:
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    static size_t hash(uint64_t k) { k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; return static_cast<size_t>(k); }
    struct Slot { uint64_t key = kEmpty; Value value{}; };
    std::vector<Slot> slots_;
    size_t mask_ = 0;
};

// Byte trie of added-token contents for leftmost-longest matching.
class TokenTrie {
public:
    void add(std::string_view s, int32_t index);
    // Longest match starting at text[pos]: returns the token index or -1; *len receives its length.
    int32_t longest(std::string_view text, size_t pos, size_t * len) const;
    bool empty() const { return nodes_.size() <= 1; }
    // True when byte b can start a match (fast pre-check).
    bool can_start(uint8_t b) const { return nodes_.size() > 1 && root_[b] >= 0; }
private:
    struct Node { std::vector<std::pair<uint8_t, int32_t>> next; int32_t token = -1; };
    std::vector<Node> nodes_{Node{}};
    std::vector<int32_t> root_ = std::vector<int32_t>(256, -1);  // children of the root by byte
    int32_t child(int32_t node, uint8_t b) const;
};

struct CompiledRegex;  // PCRE2 code, JIT-compiled (pretokenize.cpp)

struct TokenizerImpl {
    TokenizerData data;
    PieceIndex vocab;               // BPE vocabulary piece -> id (later ids win, as a Python dict built in id order)
    std::vector<std::string> id_to_token;  // HF id_to_token: added content or vocabulary piece
    std::vector<uint8_t> special;   // per id: special added token
    MergeTable merges;
    int32_t byte_ids[256];          // <0xNN> ids (byte fallback) or byte-level single-char ids; -1 absent
    int32_t ascii_ids[128];         // SPM: id of each ASCII char piece; -1 absent
    TokenTrie raw_trie, normalized_trie;   // added tokens with normalized=false / true (index into data.added)
    std::vector<std::shared_ptr<CompiledRegex>> step_regex;  // per pre-tokenizer step (null when none)
    std::shared_ptr<CompiledRegex> gpt2_regex;               // ByteLevel(use_regex) split
    bool byte_level = false;        // last pre-tokenizer step is ByteLevel: pieces are raw bytes
    int32_t byte_level_step = -1;
    // SPM speed-up: a U+2581 whose preceding character X is not in this set starts a new word
    // that no merge can cross (no piece contains X followed by U+2581), so BPE runs per word.
    std::vector<uint32_t> joins_before_space;  // sorted code points X with "X\u2581" inside a piece
    uint64_t serial = 0;            // identifies this tokenizer to per-thread caches
    std::vector<std::string> byte_level_bytes;  // per id: bytes of id_to_token under the ByteLevel decoder
    // Leading Replace decoder steps are per token and stateless: pieces with them applied, and
    // how many steps that covers (the streaming decoder starts after them).
    std::vector<std::string> replaced_pieces;
    size_t n_leading_replace = 0;
};

// A piece of text on its way to the model. `first` says it starts at offset 0 of the original
// text (HF's offsets_original().0 == 0, used by Metaspace's "first" prepend scheme).
struct TextPiece {
    std::string text;
    bool first = false;
};

// Normalizer steps applied to one piece (pretokenize.cpp).
void normalize_piece(const TokenizerImpl & t, std::string & s);
// Pre-tokenizer steps: splits `in` into pieces ready for BPE (pretokenize.cpp). For a byte-level
// pipeline the pieces stay raw UTF-8 bytes; the byte alphabet is applied by the BPE step.
// Runs the pre-tokenizer steps on `piece` and BPE on every resulting pre-token, appending ids.
void pre_tokenize_encode(const TokenizerImpl & t, TextPiece piece, std::vector<int32_t> & out);
Status compile_pre_tokenizer(TokenizerImpl & t);

// BPE on one pre-token, appending ids (bpe.cpp); results are cached per thread.
void bpe_encode_piece(const TokenizerImpl & t, std::string_view piece, std::vector<int32_t> & out);

}  // namespace quanta::text
