// core/text/detokenizer.cpp — HF decoder chains, run token by token.
//
// ref: huggingface/tokenizers decoders (replace.rs, byte_fallback.rs, fuse.rs, strip.rs,
// byte_level.rs, metaspace.rs). Each HF decoder maps a list of token strings to a list; here each
// step is a stage that receives strings one at a time and passes strings on. Fuse joins the list
// into one string, so a stage after it sees "the first token" as the whole stream — that is how
// Strip(" ", 1, 0) after Fuse removes the single leading space of Llama 2 output.
#include "core/text/detokenizer.h"

#include "core/text/tokenizer_impl.h"
#include "core/text/unicode.h"

namespace quanta::text {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// "<0xNN>" -> NN, else -1 (HF: len 6, "<0x" prefix, ">" suffix, two hex digits).
int byte_token(const std::string & t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
    return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

}  // namespace

Detokenizer::Detokenizer(const Tokenizer & tokenizer, bool skip_special) : tok_(&tokenizer), skip_special_(skip_special) {
    bool fused = false;
    for (const auto & s : tokenizer.data().decoder) {
        Stage st;
        st.step = s;
        st.after_fuse = fused;
        if (s.kind == DecoderKind::kFuse || s.kind == DecoderKind::kByteLevel) fused = true;
        stages_.push_back(std::move(st));
    }
}

void Detokenizer::emit(const std::string & s, std::string & out) { out += s; }

void Detokenizer::run(size_t k, std::string token, std::string & out) {
    if (k == stages_.size()) { emit(token, out); return; }
    // (Leading Replace stages are applied in advance: tokenizer_impl.h replaced_pieces.)
    Stage & st = stages_[k];
    const DecoderStep & step = st.step;
    switch (step.kind) {
        case DecoderKind::kReplace:
            replace_all(token, step.pattern, step.content);
            break;
        case DecoderKind::kFuse:
            break;
        case DecoderKind::kMetaspace: {
            // HF drops every replacement character of the first token (prepend scheme not never).
            const bool first = st.after_fuse ? true : st.seen == 0;
            const std::string with = (first && step.prepend_scheme != PrependScheme::kNever) ? std::string() : std::string(" ");
            replace_all(token, step.pattern, with);
            break;
        }
        case DecoderKind::kStrip: {
            if (st.after_fuse) {
                size_t cut = 0;
                while (!st.strip_done && st.stripped < step.start && cut < token.size()) {
                    if (token.compare(cut, step.pattern.size(), step.pattern) == 0 && !step.pattern.empty()) {
                        cut += step.pattern.size();
                        ++st.stripped;
                    } else {
                        st.strip_done = true;
                    }
                }
                if (cut < token.size()) st.strip_done = true;
                token.erase(0, cut);
            } else {
                size_t cut = 0;
                for (int32_t i = 0; i < step.start && !step.pattern.empty() && token.compare(cut, step.pattern.size(), step.pattern) == 0; ++i)
                    cut += step.pattern.size();
                token.erase(0, cut);
            }
            break;
        }
        case DecoderKind::kByteFallback: {
            const int b = byte_token(token);
            if (b >= 0) {
                st.bytes.push_back(static_cast<uint8_t>(b));
                ++st.seen;
                return;
            }
            flush(k, out);
            break;
        }
        case DecoderKind::kByteLevel: {
            // Bytes of the token, precomputed by the tokenizer (alphabet chars -> bytes; a token
            // with any other char keeps its UTF-8).
            const std::string & bytes = tok_->impl().byte_level_bytes[static_cast<size_t>(current_id_)];
            lossy_tail_ += bytes;
            const size_t hold = utf8_incomplete_tail(lossy_tail_);
            const std::string_view head = std::string_view(lossy_tail_).substr(0, lossy_tail_.size() - hold);
            std::string ready = utf8_is_valid(head) ? std::string(head) : utf8_sanitize(head);
            lossy_tail_.erase(0, lossy_tail_.size() - hold);
            ++st.seen;
            if (!ready.empty()) run(k + 1, std::move(ready), out);
            return;
        }
    }
    ++st.seen;
    run(k + 1, std::move(token), out);
}

void Detokenizer::flush(size_t k, std::string & out) {
    Stage & st = stages_[k];
    if (st.step.kind == DecoderKind::kByteFallback && !st.bytes.empty()) {
        std::string s(st.bytes.begin(), st.bytes.end());
        const size_t count = st.bytes.size();
        st.bytes.clear();
        if (utf8_is_valid(s)) {
            run(k + 1, std::move(s), out);
        } else {
            for (size_t i = 0; i < count; ++i) run(k + 1, "\xEF\xBF\xBD", out);
        }
    } else if (st.step.kind == DecoderKind::kByteLevel && !lossy_tail_.empty()) {
        std::string s = utf8_sanitize(lossy_tail_);
        lossy_tail_.clear();
        run(k + 1, std::move(s), out);
    }
}

std::string Detokenizer::push(int32_t id) {
    std::string out;
    if (id < 0 || id >= tok_->n_vocab()) return out;
    if (skip_special_ && tok_->is_special(id)) return out;
    const std::string & piece = tok_->piece(id);
    if (!tok_->data().has_decoder) {
        if (joined_++ > 0) out += ' ';
        out += piece;
        return out;
    }
    current_id_ = id;
    const TokenizerImpl & t = tok_->impl();
    if (t.n_leading_replace > 0) run(t.n_leading_replace, t.replaced_pieces[static_cast<size_t>(id)], out);
    else run(0, piece, out);
    return out;
}

std::string Detokenizer::finish() {
    std::string out;
    for (size_t k = 0; k < stages_.size(); ++k) flush(k, out);
    return out;
}

}  // namespace quanta::text
