// core/text/bpe.cpp — the BPE model step: one pre-token in, token ids out.
//
// ref: huggingface/tokenizers models/bpe (model.rs merge_word, word.rs merge_all). The word starts
// as one symbol per character (vocabulary lookup; else <0xNN> byte tokens with byte fallback; else
// unk, fused when fuse_unk). Pairs are merged lowest rank first, ties to the leftmost, with a
// binary heap whose stale entries are skipped when popped — the same order HF applies, so the ids
// match exactly. For a byte-level vocabulary each byte starts as its GPT-2 alphabet symbol.
//
// Cost: O(n log n) in the pre-token's length n; no allocation per symbol beyond two vectors that
// are reused across calls on one thread.
#include <algorithm>
#include <queue>

#include "core/text/tokenizer_impl.h"
#include "core/text/unicode.h"

namespace quanta::text {

void PieceIndex::build(const std::vector<std::string> & pieces, const std::vector<uint8_t> * skip) {
    pieces_ = &pieces;
    size_t cap = 16;
    while (cap < pieces.size() * 2 + 16) cap <<= 1;
    slots_.assign(cap, -1);
    tags_.assign(cap, 0);
    mask_ = cap - 1;
    for (size_t id = 0; id < pieces.size(); ++id) {
        if (skip && (*skip)[id]) continue;
        const uint64_t h = hash(pieces[id]);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            if (slots_[i] < 0 || (tags_[i] == static_cast<uint32_t>(h >> 32) && pieces[static_cast<size_t>(slots_[i])] == pieces[id])) {
                slots_[i] = static_cast<int32_t>(id);
                tags_[i] = static_cast<uint32_t>(h >> 32);
                break;
            }
        }
    }
}

void MergeTable::build(const std::vector<std::pair<int32_t, int32_t>> & merges, const std::vector<int32_t> & merged_ids) {
    size_t cap = 16;
    while (cap < merges.size() * 2 + 16) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (size_t r = 0; r < merges.size(); ++r) {
        if (merged_ids[r] < 0) continue;
        const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(merges[r].first)) << 32) | static_cast<uint32_t>(merges[r].second);
        for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
            Slot & s = slots_[i];
            if (s.key == kEmpty || s.key == key) {  // a repeated pair keeps the later rank, as HF's map insert does
                s.key = key;
                s.value = Value{static_cast<int32_t>(r), merged_ids[r]};
                break;
            }
        }
    }
}

namespace {

struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
};

struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t id;
    bool operator<(const Candidate & o) const {  // std::priority_queue pops the largest: invert
        return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
};

struct Scratch {
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    std::string spelled;
};

thread_local Scratch tls_scratch;

void push_symbol(std::vector<Symbol> & syms, int32_t id) {
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back(Symbol{id, n - 1, -1, true});
    if (n > 0) syms[n - 1].next = n;
}

// Initial symbols of an SPM-style (character) vocabulary.
void init_chars(const TokenizerImpl & t, std::string_view piece, std::vector<Symbol> & syms) {
    const TokenizerData & d = t.data;
    int32_t pending_unk = -1;  // HF keeps one pending unk to fuse consecutive ones
    for (size_t i = 0; i < piece.size();) {
        const uint8_t c = static_cast<uint8_t>(piece[i]);
        size_t len = c < 0x80 ? 1 : utf8_valid_length(piece, i);
        if (len == 0) len = 1;  // cannot happen on sanitized text; stay safe
        int32_t id = -1;
        if (c < 0x80) {
            id = t.ascii_ids[c];
        } else {
            id = t.vocab.find(piece.substr(i, len));
        }
        if (id >= 0) {
            if (pending_unk >= 0) { push_symbol(syms, pending_unk); pending_unk = -1; }
            push_symbol(syms, id);
        } else {
            bool done = false;
            if (d.byte_fallback) {
                bool all = true;
                for (size_t k = 0; k < len; ++k) all = all && t.byte_ids[static_cast<uint8_t>(piece[i + k])] >= 0;
                if (all) {
                    // HF adds the byte tokens without flushing a pending unk first.
                    for (size_t k = 0; k < len; ++k) push_symbol(syms, t.byte_ids[static_cast<uint8_t>(piece[i + k])]);
                    done = true;
                }
            }
            if (!done && d.unk_id >= 0) {
                if (pending_unk >= 0 && !d.fuse_unk) push_symbol(syms, pending_unk);
                pending_unk = d.unk_id;
            }
        }
        i += len;
    }
    if (pending_unk >= 0) push_symbol(syms, pending_unk);
}

void init_bytes(const TokenizerImpl & t, std::string_view piece, std::vector<Symbol> & syms) {
    int32_t pending_unk = -1;
    for (char ch : piece) {
        const int32_t id = t.byte_ids[static_cast<uint8_t>(ch)];
        if (id >= 0) {
            if (pending_unk >= 0) { push_symbol(syms, pending_unk); pending_unk = -1; }
            push_symbol(syms, id);
        } else if (t.data.unk_id >= 0) {
            if (pending_unk >= 0 && !t.data.fuse_unk) push_symbol(syms, pending_unk);
            pending_unk = t.data.unk_id;
        }
    }
    if (pending_unk >= 0) push_symbol(syms, pending_unk);
}

}  // namespace

namespace {

// Plain BPE of one word: initial symbols, then merges by rank.
void bpe_word(const TokenizerImpl & t, std::string_view piece, std::vector<int32_t> & out) {
    Scratch & sc = tls_scratch;
    std::vector<Symbol> & syms = sc.symbols;
    syms.clear();
    if (t.byte_level) init_bytes(t, piece, syms);
    else init_chars(t, piece, syms);

    std::vector<Candidate> & heap = sc.heap;
    heap.clear();
    for (size_t i = 0; i + 1 < syms.size(); ++i) {
        if (const auto * m = t.merges.find(syms[i].id, syms[i + 1].id)) heap.push_back({m->rank, static_cast<int32_t>(i), m->id});
    }
    std::make_heap(heap.begin(), heap.end());
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end());
        const Candidate top = heap.back();
        heap.pop_back();
        Symbol & left = syms[top.pos];
        if (!left.alive || left.next < 0) continue;
        Symbol & right = syms[left.next];
        const auto * m = t.merges.find(left.id, right.id);
        if (m == nullptr || m->id != top.id) continue;  // stale entry
        left.id = top.id;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) syms[right.next].prev = top.pos;
        if (left.prev >= 0) {
            if (const auto * p = t.merges.find(syms[left.prev].id, left.id)) {
                heap.push_back({p->rank, left.prev, p->id});
                std::push_heap(heap.begin(), heap.end());
            }
        }
        if (left.next >= 0) {
            if (const auto * p = t.merges.find(left.id, syms[left.next].id)) {
                heap.push_back({p->rank, top.pos, p->id});
                std::push_heap(heap.begin(), heap.end());
            }
        }
    }
    for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

// Whole-word lookup of ignore_merges (Llama 3): the word as the vocabulary spells it.
bool whole_word(const TokenizerImpl & t, std::string_view piece, std::vector<int32_t> & out) {
    std::string_view key = piece;
    if (t.byte_level) {
        std::string & sp = tls_scratch.spelled;
        sp.clear();
        for (char ch : piece) utf8_append(sp, byte_to_unicode(static_cast<uint8_t>(ch)));
        key = sp;
    }
    const int32_t id = t.vocab.find(key);
    if (id < 0) return false;
    out.push_back(id);
    return true;
}

// Per-thread memo of word -> ids; natural text repeats its words, so most lookups hit.
struct WordCache {
    uint64_t serial = 0;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
};
thread_local WordCache tls_cache;
constexpr size_t kCacheMaxWord = 64;        // bytes; longer words are not memoized
constexpr size_t kCacheMaxEntries = 1 << 16;

void word_cached(const TokenizerImpl & t, std::string_view word, bool allow_whole, std::vector<int32_t> & out) {
    WordCache & c = tls_cache;
    const bool cacheable = word.size() <= kCacheMaxWord;
    if (cacheable) {
        if (c.serial != t.serial) { c.map.clear(); c.serial = t.serial; }
        auto it = c.map.find(word);
        if (it != c.map.end()) { out.insert(out.end(), it->second.begin(), it->second.end()); return; }
    }
    const size_t start = out.size();
    if (!(allow_whole && whole_word(t, word, out))) bpe_word(t, word, out);
    if (cacheable) {
        if (c.map.size() >= kCacheMaxEntries) c.map.clear();
        c.map.emplace(std::string(word), std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
    }
}

bool joins(const TokenizerImpl & t, uint32_t cp) {
    return std::binary_search(t.joins_before_space.begin(), t.joins_before_space.end(), cp);
}

}  // namespace

void bpe_encode_piece(const TokenizerImpl & t, std::string_view piece, std::vector<int32_t> & out) {
    if (piece.empty()) return;
    if (t.byte_level) { word_cached(t, piece, t.data.ignore_merges, out); return; }
    if (t.data.ignore_merges && whole_word(t, piece, out)) return;
    // SPM: cut before each U+2581 that no piece can join to the character before it. A character
    // that is not itself a piece (byte fallback, unk) may join through its <0xNN> spelling, so only
    // in-vocabulary characters end a word.
    size_t word_start = 0, prev = 0, prev_len = 0;
    for (size_t i = 0; i < piece.size();) {
        size_t len = utf8_valid_length(piece, i);
        if (len == 0) len = 1;
        if (i > 0 && len == 3 && piece.compare(i, 3, "\xE2\x96\x81") == 0 && piece.compare(prev, prev_len, "\xE2\x96\x81") != 0) {
            const uint32_t cp = utf8_decode(piece, prev, prev_len);
            const bool in_vocab = cp < 0x80 ? t.ascii_ids[cp] >= 0 : t.vocab.find(piece.substr(prev, prev_len)) >= 0;
            if (in_vocab && !joins(t, cp)) {
                word_cached(t, piece.substr(word_start, i - word_start), false, out);
                word_start = i;
            }
        }
        prev = i;
        prev_len = len;
        i += len;
    }
    word_cached(t, piece.substr(word_start), false, out);
}

}  // namespace quanta::text
