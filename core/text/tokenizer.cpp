// core/text/tokenizer.cpp — building the tables and the encode pipeline around added tokens.
//
// ref: huggingface/tokenizers tokenizer/added_vocabulary.rs (find_matches, extract_and_normalize):
// non-normalized added tokens are matched in the raw text, then each remaining piece is normalized
// and normalized added tokens are matched in it; only what is left reaches the pre-tokenizer.
// Matching is leftmost-longest (aho-corasick's LeftmostLongest), here with a byte trie.
#include "core/text/tokenizer.h"

#include <algorithm>
#include <atomic>

#include "core/text/detokenizer.h"
#include "core/text/tokenizer_impl.h"
#include "core/text/unicode.h"

namespace quanta::text {

// ---- TokenTrie ----------------------------------------------------------------------------------

int32_t TokenTrie::child(int32_t node, uint8_t b) const {
    if (node == 0) return root_[b];
    for (const auto & [k, v] : nodes_[node].next)
        if (k == b) return v;
    return -1;
}

void TokenTrie::add(std::string_view s, int32_t index) {
    int32_t node = 0;
    for (char ch : s) {
        const auto b = static_cast<uint8_t>(ch);
        int32_t c = child(node, b);
        if (c < 0) {
            c = static_cast<int32_t>(nodes_.size());
            nodes_.push_back(Node{});
            if (node == 0) root_[b] = c;
            else nodes_[node].next.emplace_back(b, c);
        }
        node = c;
    }
    if (nodes_[node].token < 0) nodes_[node].token = index;  // first added wins for a duplicate content
}

int32_t TokenTrie::longest(std::string_view text, size_t pos, size_t * len) const {
    int32_t node = 0, best = -1;
    for (size_t i = pos; i < text.size(); ++i) {
        node = child(node, static_cast<uint8_t>(text[i]));
        if (node < 0) break;
        if (nodes_[node].token >= 0) { best = nodes_[node].token; *len = i + 1 - pos; }
    }
    return best;
}

// ---- building -----------------------------------------------------------------------------------

Result<Tokenizer> Tokenizer::create(TokenizerData data) {
    QUANTA_TRY(validate(data));
    auto t = std::make_shared<TokenizerImpl>();
    t->data = std::move(data);
    const TokenizerData & d = t->data;
    const size_t n = d.pieces.size();

    std::vector<uint8_t> skip(n, 0);  // ids the BPE vocabulary does not have
    for (const auto & a : d.added) if (!a.model_piece) skip[a.id] = 1;
    for (size_t i = 0; i < n; ++i) if (d.token_types[i] == TokenType::kUndefined) skip[i] = 1;
    t->vocab.build(d.pieces, &skip);
    t->id_to_token = d.pieces;
    t->special.assign(n, 0);
    for (const auto & a : d.added) {
        t->id_to_token[a.id] = a.content;
        if (a.special) t->special[a.id] = 1;
    }

    // Merge table: merged id = vocab[left + right].
    std::vector<int32_t> merged(d.merges.size(), -1);
    std::string joined;
    for (size_t r = 0; r < d.merges.size(); ++r) {
        joined.assign(d.pieces[d.merges[r].first]);
        joined += d.pieces[d.merges[r].second];
        merged[r] = t->vocab.find(joined);
        if (merged[r] < 0)
            return Status::error("tokenizer: merge " + std::to_string(r) + " ('" + d.pieces[d.merges[r].first] + "', '" +
                                 d.pieces[d.merges[r].second] + "') makes a piece not in the vocabulary");
    }
    t->merges.build(d.merges, merged);

    QUANTA_TRY(compile_pre_tokenizer(*t));
    static const char kHex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        std::string key;
        if (t->byte_level) {
            utf8_append(key, byte_to_unicode(static_cast<uint8_t>(b)));
        } else {
            key = "<0x";
            key.push_back(kHex[b >> 4]);
            key.push_back(kHex[b & 15]);
            key.push_back('>');
        }
        t->byte_ids[b] = t->vocab.find(key);
    }
    for (int c = 0; c < 128; ++c) {
        t->ascii_ids[c] = t->vocab.find(std::string(1, static_cast<char>(c)));
    }
    if (!t->byte_level) {
        for (const auto & p : d.pieces) {
            for (size_t i = 0, prev_len = 0; i < p.size();) {
                size_t len = utf8_valid_length(p, i);
                if (len == 0) len = 1;
                if (i > 0 && p.compare(i, 3, "\xE2\x96\x81") == 0 && p.compare(i - prev_len, prev_len, "\xE2\x96\x81") != 0)
                    t->joins_before_space.push_back(utf8_decode(p, i - prev_len, prev_len));
                prev_len = len;
                i += len;
            }
        }
        std::sort(t->joins_before_space.begin(), t->joins_before_space.end());
        t->joins_before_space.erase(std::unique(t->joins_before_space.begin(), t->joins_before_space.end()), t->joins_before_space.end());
    }
    for (const auto & st : d.decoder) {
        if (st.kind != DecoderKind::kByteLevel) continue;
        t->byte_level_bytes.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const std::string & tok = t->id_to_token[i];
            std::string bytes;
            bool all = true;
            for (size_t k = 0; k < tok.size() && all;) {
                const size_t len = utf8_valid_length(tok, k);
                const int b = len ? unicode_to_byte(utf8_decode(tok, k, len)) : -1;
                if (b < 0) all = false;
                else bytes.push_back(static_cast<char>(b));
                k += len;
            }
            t->byte_level_bytes[i] = all ? bytes : tok;
        }
        break;
    }
    while (t->n_leading_replace < d.decoder.size() && d.decoder[t->n_leading_replace].kind == DecoderKind::kReplace) ++t->n_leading_replace;
    if (t->n_leading_replace > 0) {
        t->replaced_pieces = t->id_to_token;
        for (auto & p : t->replaced_pieces) {
            for (size_t k = 0; k < t->n_leading_replace; ++k) {
                const DecoderStep & st = d.decoder[k];
                std::string r;
                size_t prev = 0;
                for (size_t at = p.find(st.pattern); at != std::string::npos; at = p.find(st.pattern, at + st.pattern.size())) {
                    r.append(p, prev, at - prev);
                    r += st.content;
                    prev = at + st.pattern.size();
                }
                r.append(p, prev, std::string::npos);
                p.swap(r);
            }
        }
    }
    static std::atomic<uint64_t> next_serial{1};
    t->serial = next_serial++;
    for (size_t k = 0; k < d.added.size(); ++k)
        (d.added[k].normalized ? t->normalized_trie : t->raw_trie).add(d.added[k].content, static_cast<int32_t>(k));
    return Tokenizer(std::move(t));
}

// ---- added-token splitting ----------------------------------------------------------------------

namespace {

// A segment of text, or an added token (id >= 0).
struct Segment {
    std::string text;
    int32_t id = -1;
    bool first = false;
};

uint32_t cp_at(std::string_view s, size_t i, size_t * len) {
    size_t l = utf8_valid_length(s, i);
    if (l == 0) l = 1;
    *len = l;
    return utf8_decode(s, i, l);
}

uint32_t cp_before(std::string_view s, size_t end, size_t * len) {
    size_t i = end - 1;
    while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
    return cp_at(s, i, len);
}

// Approximates Rust's char::is_alphanumeric: ASCII letters and digits, and any non-ASCII
// character that is not whitespace or general punctuation.
bool is_word_char(uint32_t cp) {
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
    return !is_unicode_whitespace(cp) && !(cp >= 0x2000 && cp <= 0x206F) && !(cp >= 0x3000 && cp <= 0x303F);
}

// HF find_matches on one piece: splits `s` into text and added-token segments.
void split_added(const TokenizerImpl & t, const TokenTrie & trie, std::string_view s, bool first, bool parse_special,
                 std::vector<Segment> & out) {
    if (trie.empty()) { out.push_back(Segment{std::string(s), -1, first}); return; }
    size_t start_offset = 0;  // end of the last emitted segment
    size_t pos = 0;           // where the matcher resumes (aho-corasick's iterator position)
    while (pos < s.size()) {
        if (!trie.can_start(static_cast<uint8_t>(s[pos]))) { ++pos; continue; }
        size_t len = 0;
        const int32_t k = trie.longest(s, pos, &len);
        if (k < 0) { ++pos; continue; }
        const AddedToken & a = t.data.added[k];
        size_t start = pos, stop = pos + len;
        pos = stop;
        if (!parse_special && a.special) continue;
        if (start < start_offset) continue;  // inside a previous token's rstrip
        if (a.single_word) {
            size_t l = 0;
            const bool start_space = start == 0 || !is_word_char(cp_before(s, start, &l));
            const bool stop_space = stop == s.size() || !is_word_char(cp_at(s, stop, &l));
            if (!start_space || !stop_space) continue;
        }
        if (a.lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t l = 0;
                const uint32_t cp = cp_before(s, ns, &l);
                if (!is_unicode_whitespace(cp)) break;
                ns -= l;
            }
            start = std::max(ns, start_offset);
        }
        if (a.rstrip) {
            while (stop < s.size()) {
                size_t l = 0;
                const uint32_t cp = cp_at(s, stop, &l);
                if (!is_unicode_whitespace(cp)) break;
                stop += l;
            }
            pos = std::max(pos, stop);
        }
        if (start_offset < start) out.push_back(Segment{std::string(s.substr(start_offset, start - start_offset)), -1, first && start_offset == 0});
        out.push_back(Segment{std::string(), a.id, false});
        start_offset = stop;
    }
    if (start_offset < s.size()) out.push_back(Segment{std::string(s.substr(start_offset)), -1, first && start_offset == 0});
}

}  // namespace

// ---- encode -------------------------------------------------------------------------------------

void Tokenizer::encode_into(std::string_view text, const EncodeOptions & options, std::vector<int32_t> & out) const {
    const TokenizerImpl & t = *impl_;
    const TokenizerData & d = t.data;
    if (options.add_special && d.add_bos) out.push_back(d.bos_id);

    std::string repaired;
    const bool valid = utf8_is_valid(text);
    if (!valid) repaired = utf8_sanitize(text);
    const std::string_view clean = valid ? text : std::string_view(repaired);
    std::vector<Segment> raw, segs;
    split_added(t, t.raw_trie, clean, true, options.parse_special, raw);
    for (auto & r : raw) {
        if (r.id >= 0) { segs.push_back(std::move(r)); continue; }
        normalize_piece(t, r.text);
        if (r.text.empty()) continue;
        split_added(t, t.normalized_trie, r.text, r.first, options.parse_special, segs);
    }
    for (auto & s : segs) {
        if (s.id >= 0) { out.push_back(s.id); continue; }
        pre_tokenize_encode(t, TextPiece{std::move(s.text), s.first}, out);
    }
    if (options.add_special && d.add_eos) out.push_back(d.eos_id);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions & options) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 2);
    encode_into(text, options, out);
    return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    Detokenizer dt(*this, skip_special);
    std::string out;
    for (int32_t id : ids) out += dt.push(id);
    out += dt.finish();
    return out;
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->data.pieces.size()); }

const std::string & Tokenizer::piece(int32_t id) const {
    static const std::string kEmpty;
    return (id >= 0 && id < n_vocab()) ? impl_->id_to_token[id] : kEmpty;
}

int32_t Tokenizer::token_id(std::string_view p) const {
    for (const auto & a : impl_->data.added) if (a.content == p) return a.id;
    return impl_->vocab.find(p);
}

bool Tokenizer::is_special(int32_t id) const { return id >= 0 && id < n_vocab() && impl_->special[id]; }

const TokenizerData & Tokenizer::data() const { return impl_->data; }

}  // namespace quanta::text
