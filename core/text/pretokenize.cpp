// core/text/pretokenize.cpp — normalizer and pre-tokenizer steps of the HF pipeline.
//
// ref: huggingface/tokenizers normalizers (Prepend, Replace), pre_tokenizers (Split, ByteLevel,
// Metaspace) and utils/pattern.rs (find_matches) + normalizer.rs (split behaviours). Regexes run
// through PCRE2 with UTF + UCP and the JIT: it supports the lookahead of `\s+(?!\S)` that the
// GPT-2 / Llama-3 / Qwen-2 split patterns use. Text is sanitized UTF-8 before it gets here, so
// matching skips PCRE2's UTF check.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include <cstdlib>
#include <utf8proc.h>

#include "core/text/tokenizer_impl.h"
#include "core/text/unicode.h"

namespace quanta::text {

// ref: openai/gpt-2 encoder.py, as tokenizers' ByteLevel pre-tokenizer spells it.
static const char kGpt2Pattern[] = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct CompiledRegex {
    pcre2_code * code = nullptr;
    bool jit = false;
    ~CompiledRegex() { if (code) pcre2_code_free(code); }
};

namespace {

Result<std::shared_ptr<CompiledRegex>> compile(const std::string & pattern) {
    int err = 0;
    PCRE2_SIZE off = 0;
    auto re = std::make_shared<CompiledRegex>();
    re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
    if (re->code == nullptr) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        return Status::error("tokenizer: split regex '" + pattern + "' does not compile at offset " + std::to_string(off) + ": " +
                             reinterpret_cast<const char *>(msg));
    }
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    return re;
}

// Per-thread match state; the JIT stack grows to 8 MiB for long whitespace runs.
struct MatchState {
    pcre2_match_data * md = nullptr;
    pcre2_match_context * ctx = nullptr;
    pcre2_jit_stack * stack = nullptr;
    MatchState() {
        md = pcre2_match_data_create(1, nullptr);
        ctx = pcre2_match_context_create(nullptr);
        stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
        if (ctx && stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
    }
    ~MatchState() {
        if (md) pcre2_match_data_free(md);
        if (ctx) pcre2_match_context_free(ctx);
        if (stack) pcre2_jit_stack_free(stack);
    }
};
thread_local MatchState tls_match;

struct Span { size_t begin, end; bool is_match; };

// HF find_matches: alternating non-match / match spans covering s (no empty spans).
void regex_spans(const CompiledRegex & re, std::string_view s, std::vector<Span> & out) {
    out.clear();
    MatchState & ms = tls_match;
    size_t prev = 0, pos = 0;
    while (pos <= s.size()) {
        int rc = re.jit ? pcre2_jit_match(re.code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, PCRE2_NO_UTF_CHECK, ms.md, ms.ctx)
                        : -1;
        if (!re.jit || rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, PCRE2_NO_UTF_CHECK, ms.md, ms.ctx);
        if (rc < 0) break;
        const PCRE2_SIZE * ov = pcre2_get_ovector_pointer(ms.md);
        const size_t b = ov[0], e = ov[1];
        if (e == b) {  // empty match: not a split point; step one character
            if (b >= s.size()) break;
            size_t len = utf8_valid_length(s, b);
            pos = b + (len ? len : 1);
            continue;
        }
        if (prev != b) out.push_back({prev, b, false});
        out.push_back({b, e, true});
        prev = pos = e;
    }
    if (prev != s.size()) out.push_back({prev, s.size(), false});
}

void literal_spans(std::string_view pat, std::string_view s, std::vector<Span> & out) {
    out.clear();
    size_t prev = 0;
    if (!pat.empty()) {
        for (size_t p = s.find(pat); p != std::string_view::npos; p = s.find(pat, p + pat.size())) {
            if (prev != p) out.push_back({prev, p, false});
            out.push_back({p, p + pat.size(), true});
            prev = p + pat.size();
        }
    }
    if (prev != s.size()) out.push_back({prev, s.size(), false});
}

// Applies a split behaviour to spans (HF normalizer.rs NormalizedString::split).
void apply_behavior(std::vector<Span> & spans, SplitBehavior b, bool invert) {
    if (invert) for (auto & s : spans) s.is_match = !s.is_match;
    std::vector<Span> out;
    out.reserve(spans.size());
    switch (b) {
        case SplitBehavior::kRemoved:
            for (const auto & s : spans) if (!s.is_match) out.push_back(s);
            break;
        case SplitBehavior::kIsolated:
            out = spans;
            break;
        case SplitBehavior::kMergedWithPrevious: {
            bool prev_match = false;
            for (const auto & s : spans) {
                if (s.is_match && !prev_match && !out.empty()) out.back().end = s.end;
                else out.push_back({s.begin, s.end, false});
                prev_match = s.is_match;
            }
            break;
        }
        case SplitBehavior::kMergedWithNext: {
            bool prev_match = false;
            for (size_t k = spans.size(); k-- > 0;) {
                const Span & s = spans[k];
                if (s.is_match && !prev_match && !out.empty()) out.back().begin = s.begin;
                else out.push_back({s.begin, s.end, false});
                prev_match = s.is_match;
            }
            std::reverse(out.begin(), out.end());
            break;
        }
        case SplitBehavior::kContiguous: {
            bool prev_match = false;
            for (const auto & s : spans) {
                if (s.is_match && prev_match && !out.empty()) out.back().end = s.end;
                else out.push_back({s.begin, s.end, s.is_match});
                prev_match = s.is_match;
            }
            break;
        }
    }
    spans.swap(out);
}

}  // namespace

void replace_all(std::string & s, std::string_view from, std::string_view to) {
    if (from.empty() || s.find(from) == std::string::npos) return;
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    size_t prev = 0;
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + from.size())) {
        out.append(s, prev, p - prev);
        out.append(to);
        prev = p + from.size();
    }
    out.append(s, prev, std::string::npos);
    s.swap(out);
}

Status compile_pre_tokenizer(TokenizerImpl & t) {
    const auto & steps = t.data.pre_tokenizer;
    t.step_regex.assign(steps.size(), nullptr);
    for (size_t k = 0; k < steps.size(); ++k) {
        const auto & s = steps[k];
        if (s.kind == PreTokenizerKind::kSplit && s.pattern_is_regex) {
            auto re = compile(s.pattern);
            if (!re.ok()) return re.status();
            t.step_regex[k] = *re;
        }
        if (s.kind == PreTokenizerKind::kByteLevel) {
            if (k + 1 != steps.size()) return Status::error("tokenizer: a pre-tokenizer step after ByteLevel is not supported");
            t.byte_level = true;
            t.byte_level_step = static_cast<int32_t>(k);
            if (s.use_regex) {
                auto re = compile(kGpt2Pattern);
                if (!re.ok()) return re.status();
                t.gpt2_regex = *re;
            }
        }
    }
    return ok_status();
}

// Unicode NFC (canonical composition) by Debian's utf8proc, as the tokenizers crate's NFC
// normalizer. Input that is not valid UTF-8 is left as it is.
void nfc(std::string & s) {
    bool ascii = true;
    for (unsigned char c : s) ascii = ascii && c < 0x80;
    if (ascii) return;  // ASCII is its own NFC
    utf8proc_uint8_t * out = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t *>(s.data()),
                                            utf8proc_ssize_t(s.size()), &out, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n >= 0 && out) s.assign(reinterpret_cast<const char *>(out), size_t(n));
    std::free(out);
}

void normalize_piece(const TokenizerImpl & t, std::string & s) {
    for (const auto & n : t.data.normalizer) {
        if (n.kind == NormalizerKind::kNfc) {
            nfc(s);
        } else if (n.kind == NormalizerKind::kPrepend) {
            if (!s.empty()) s.insert(0, n.content);
        } else if (n.kind == NormalizerKind::kReplace) {
            replace_all(s, n.pattern, n.content);
        }
    }
}

void pre_tokenize_encode(const TokenizerImpl & t, TextPiece piece, std::vector<int32_t> & out) {
    const auto & steps = t.data.pre_tokenizer;
    // A final ByteLevel without regex or prefix space splits nothing (the alphabet is applied by
    // BPE), so the step before it is the last one that splits.
    size_t n_split = steps.size();
    if (n_split > 0 && steps[n_split - 1].kind == PreTokenizerKind::kByteLevel && !steps[n_split - 1].use_regex &&
        !steps[n_split - 1].add_prefix_space)
        --n_split;
    if (n_split == 0) { bpe_encode_piece(t, piece.text, out); return; }
    thread_local std::vector<Span> spans;
    std::vector<TextPiece> pieces, next;
    pieces.push_back(std::move(piece));
    for (size_t k = 0; k < n_split; ++k) {
        const PreTokenizerStep & st = steps[k];
        const bool last = k + 1 == n_split;
        next.clear();
        for (auto & p : pieces) {
            bool split = true;
            switch (st.kind) {
                case PreTokenizerKind::kSplit:
                    if (st.pattern_is_regex) regex_spans(*t.step_regex[k], p.text, spans);
                    else literal_spans(st.pattern, p.text, spans);
                    apply_behavior(spans, st.behavior, st.invert);
                    break;
                case PreTokenizerKind::kByteLevel:
                    if (st.add_prefix_space && p.text.compare(0, 1, " ") != 0) p.text.insert(0, " ");
                    if (st.use_regex) regex_spans(*t.gpt2_regex, p.text, spans);
                    else split = false;
                    break;
                case PreTokenizerKind::kMetaspace: {
                    replace_all(p.text, " ", st.pattern);
                    const bool starts = p.text.compare(0, st.pattern.size(), st.pattern) == 0;
                    if ((st.prepend_scheme == PrependScheme::kAlways && !starts) ||
                        (st.prepend_scheme == PrependScheme::kFirst && !starts && p.first))
                        p.text.insert(0, st.pattern);
                    if (st.split) {
                        literal_spans(st.pattern, p.text, spans);
                        apply_behavior(spans, SplitBehavior::kMergedWithNext, false);
                    } else {
                        split = false;
                    }
                    break;
                }
            }
            if (!split) {
                if (p.text.empty()) continue;
                if (last) bpe_encode_piece(t, p.text, out);
                else next.push_back(std::move(p));
                continue;
            }
            const std::string_view text = p.text;
            for (const auto & sp : spans) {
                if (sp.end == sp.begin) continue;
                if (last) bpe_encode_piece(t, text.substr(sp.begin, sp.end - sp.begin), out);
                else next.push_back(TextPiece{p.text.substr(sp.begin, sp.end - sp.begin), p.first && sp.begin == 0});
            }
        }
        pieces.swap(next);
    }
}

}  // namespace quanta::text
