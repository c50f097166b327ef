// core/text/tokenizer_gguf.cpp — TokenizerData from a GGUF's tokenizer.ggml.* metadata.
//
// A GGUF carries the vocabulary, scores, token types and (byte-level only) merges, but not the
// HF pipeline. We rebuild it the way transformers does when it loads a GGUF
// (ref: transformers integrations/gguf/gguf_tokenizer_mapping.py, tokenization_utils_base.py
// generate_merges), so that ids match `AutoTokenizer.from_pretrained(dir, gguf_file=...)`:
//   gemma, gemma2, gemma3 ("llama" model): tokens made only of whitespace that contain a space are
//     respelled as that many U+2581; merges are every split of a piece into two pieces, ordered by
//     the merged piece's position in the file, then longer left part first; Gemma's pipeline
//     (Replace " "->U+2581, Split " " merged-with-previous, decoder Replace/ByteFallback/Fuse).
//   other "llama" files (Llama 2, Mistral): LlamaTokenizer's pipeline (Metaspace, byte fallback),
//     merges from the file or generated from the scores as transformers' generate_merges does;
//   "gpt2" model: merges from the file; split regex chosen by tokenizer.ggml.pre (llama3 family,
//     qwen2 family) or GPT-2's ByteLevel regex; ByteLevel decoder.
// Control tokens (type 3) become special added tokens, user-defined ones (type 4) plain added tokens.
#include <algorithm>
#include <unordered_set>
#include <unordered_map>

#include "core/text/tokenizer_data.h"
#include "core/text/tokenizer_impl.h"
#include "core/text/unicode.h"

namespace quanta::text {

Result<TokenizerData> tokenizer_from_gguf_keys(const FlatMetadata & md, std::string_view architecture);

namespace {

const char kLlama3Split[] = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char kQwen2Split[] = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

Status fail(const std::string & what) { return Status::error("gguf tokenizer: " + what); }

// Python's str.isspace() for one code point.
bool py_isspace(uint32_t cp) { return is_unicode_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

// Code point boundaries (byte offsets) of valid UTF-8 s, including s.size().
void boundaries(const std::string & s, std::vector<size_t> & out) {
    out.clear();
    for (size_t i = 0; i < s.size();) {
        out.push_back(i);
        const size_t len = utf8_valid_length(s, i);
        i += len ? len : 1;
    }
    out.push_back(s.size());
}

// SentencePiece-style decoding shared by the Gemma and llama GGUF tokenizers: "▁" back to a
// space, <0xNN> pieces back to bytes, then the pieces joined.
std::vector<DecoderStep> spm_decoder() {
    DecoderStep rep;
    rep.kind = DecoderKind::kReplace;
    rep.pattern = "\xE2\x96\x81";
    rep.content = " ";
    DecoderStep bf;
    bf.kind = DecoderKind::kByteFallback;
    DecoderStep fuse;
    fuse.kind = DecoderKind::kFuse;
    return {rep, bf, fuse};
}

void gemma_pipeline(TokenizerData & d) {
    d.normalizer = {NormalizerStep{NormalizerKind::kReplace, " ", "\xE2\x96\x81"}};
    PreTokenizerStep split;
    split.kind = PreTokenizerKind::kSplit;
    split.pattern = " ";
    split.behavior = SplitBehavior::kMergedWithPrevious;
    d.pre_tokenizer = {split};
    d.decoder = spm_decoder();
    d.byte_fallback = true;
    d.fuse_unk = true;
}

}  // namespace

Result<TokenizerData> tokenizer_from_gguf_keys(const FlatMetadata & md, std::string_view architecture) {
    const auto get_s = [&](const char * k) { auto it = md.strings.find(k); return it == md.strings.end() ? nullptr : &it->second; };
    const auto get_i = [&](const char * k, int32_t dflt) { auto it = md.i32.find(k); return (it == md.i32.end() || it->second.size() != 1) ? dflt : it->second[0]; };
    const auto * model = get_s("tokenizer.ggml.model");
    const auto * tokens = get_s("tokenizer.ggml.tokens");
    if (!model || model->size() != 1 || !tokens) return fail("tokenizer.ggml.model or tokenizer.ggml.tokens missing");
    const std::string kind = (*model)[0];
    const size_t n = tokens->size();
    if (n == 0 || n > (size_t{1} << 24)) return fail("vocabulary of " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i)
        if (!utf8_is_valid((*tokens)[i])) return fail("token " + std::to_string(i) + " is not valid UTF-8");

    TokenizerData d;
    d.scores.assign(n, 0.0f);
    if (auto it = md.f32.find("tokenizer.ggml.scores"); it != md.f32.end()) {
        if (it->second.size() != n) return fail(std::to_string(it->second.size()) + " scores for " + std::to_string(n) + " tokens");
        d.scores = it->second;
    }
    d.token_types.assign(n, TokenType::kNormal);
    if (auto it = md.i32.find("tokenizer.ggml.token_type"); it != md.i32.end()) {
        if (it->second.size() != n) return fail(std::to_string(it->second.size()) + " token types for " + std::to_string(n) + " tokens");
        for (size_t i = 0; i < n; ++i) {
            const int32_t t = it->second[i];
            if (t < 0 || t > 6) return fail("token " + std::to_string(i) + " has type " + std::to_string(t));
            d.token_types[i] = static_cast<TokenType>(t);
        }
    }
    d.bos_id = get_i("tokenizer.ggml.bos_token_id", -1);
    d.eos_id = get_i("tokenizer.ggml.eos_token_id", -1);
    d.pad_id = get_i("tokenizer.ggml.padding_token_id", -1);
    d.unk_id = get_i("tokenizer.ggml.unknown_token_id", -1);
    d.add_eos = get_i("tokenizer.ggml.add_eos_token", 0) != 0;
    if (const auto * ct = get_s("tokenizer.chat_template"); ct && ct->size() == 1) d.chat_template = (*ct)[0];

    PieceIndex vocab;  // over d.pieces, built once they are final
    // "left right" merges of the file, in rank order, as ids of `vocab`.
    const auto parse_merges = [&](const std::vector<std::string> & merges) -> Status {
        for (size_t r = 0; r < merges.size(); ++r) {
            const std::string & s = merges[r];
            const size_t sp = s.find(' ');
            if (sp == std::string::npos) return fail("merge " + std::to_string(r) + " '" + s + "' has no space");
            const std::string_view sv(s);
            const int32_t a = vocab.find(sv.substr(0, sp)), b = vocab.find(sv.substr(sp + 1));
            if (a < 0 || b < 0) return fail("merge " + std::to_string(r) + " '" + s + "' uses an unknown piece");
            d.merges.emplace_back(a, b);
        }
        return ok_status();
    };
    const bool gemma = kind == "llama" && (architecture == "gemma" || architecture == "gemma2" || architecture == "gemma3");
    if (gemma) {
        d.model = ModelKind::kSpmBpe;
        d.add_bos = get_i("tokenizer.ggml.add_bos_token", 1) != 0;  // transformers defaults "llama" files to BOS
        std::vector<size_t> cut;
        d.pieces.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const std::string & t = (*tokens)[i];
            boundaries(t, cut);
            bool only_space = !t.empty(), has_space = false;
            for (size_t k = 0; k + 1 < cut.size(); ++k) {
                const uint32_t cp = utf8_decode(t, cut[k], cut[k + 1] - cut[k]);
                only_space = only_space && py_isspace(cp);
                has_space = has_space || cp == ' ';
            }
            if (only_space && has_space) {
                std::string r;
                for (size_t k = 0; k + 1 < cut.size(); ++k) r += "\xE2\x96\x81";
                d.pieces[i] = r;
            } else {
                d.pieces[i] = t;
            }
        }
        vocab.build(d.pieces);  // later ids win, as in the Python dict
        // Merges: (position of merged piece, -len(left) in code points) ascending.
        struct M { int32_t merged, left_len, a, b; };
        std::vector<M> ms;
        for (size_t i = 0; i < n; ++i) {
            const std::string & piece = d.pieces[i];
            const auto id = static_cast<int32_t>(i);
            if (vocab.find(piece) != id) continue;  // a repeated piece counts once, at its last id
            boundaries(piece, cut);
            for (size_t k = 1; k + 1 < cut.size(); ++k) {
                const std::string_view sv(piece);
                const int32_t il = vocab.find(sv.substr(0, cut[k]));
                if (il < 0) continue;
                const int32_t ir = vocab.find(sv.substr(cut[k]));
                if (ir < 0) continue;
                ms.push_back(M{id, static_cast<int32_t>(k), il, ir});
            }
        }
        std::sort(ms.begin(), ms.end(), [](const M & x, const M & y) { return x.merged != y.merged ? x.merged < y.merged : x.left_len > y.left_len; });
        d.merges.reserve(ms.size());
        for (const auto & m : ms) d.merges.emplace_back(m.a, m.b);
        gemma_pipeline(d);
        if (d.unk_id < 0) return fail("gemma vocabulary without tokenizer.ggml.unknown_token_id");
    } else if (kind == "llama" && architecture != "phi3") {
        // ref: transformers integrations/gguf sentencepiece_tokenizer -> LlamaTokenizer (Llama 2,
        // Mistral): pieces as spelled; merges from the file, else generate_merges over the vocabulary
        // ranked by score (then by the lengths of the two halves), each piece's candidate splits in
        // (left id, right id) order, stable; Metaspace (prefix on the first section, no split); decoder
        // Replace U+2581 -> " ", ByteFallback, Fuse, Strip one leading space.
        d.model = ModelKind::kSpmBpe;
        d.add_bos = get_i("tokenizer.ggml.add_bos_token", 1) != 0;
        d.pieces.assign(tokens->begin(), tokens->end());
        vocab.build(d.pieces);
        if (const auto * merges = get_s("tokenizer.ggml.merges")) {
            QUANTA_TRY(parse_merges(*merges));
        } else {
            struct M { float score; int32_t len_l, len_r, a, b; };
            std::vector<M> ms;
            std::vector<M> local;
            std::vector<size_t> cut;
            std::unordered_set<std::string_view> seen;
            for (size_t i = 0; i < n; ++i) {
                const std::string_view piece = d.pieces[i];
                if (!seen.insert(piece).second) continue;  // a dict key: first position, last id's score
                const float score = d.scores[size_t(vocab.find(piece))];
                boundaries(d.pieces[i], cut);
                local.clear();
                for (size_t k = 1; k + 1 < cut.size(); ++k) {
                    const int32_t il = vocab.find(piece.substr(0, cut[k]));
                    if (il < 0) continue;
                    const int32_t ir = vocab.find(piece.substr(cut[k]));
                    if (ir < 0) continue;
                    local.push_back(M{score, static_cast<int32_t>(k), static_cast<int32_t>(cut.size() - 1 - k), il, ir});
                }
                std::stable_sort(local.begin(), local.end(), [](const M & x, const M & y) { return x.a != y.a ? x.a < y.a : x.b < y.b; });
                ms.insert(ms.end(), local.begin(), local.end());
            }
            std::stable_sort(ms.begin(), ms.end(), [](const M & x, const M & y) {
                if (x.score != y.score) return x.score > y.score;
                if (x.len_l != y.len_l) return x.len_l > y.len_l;
                return x.len_r > y.len_r;
            });
            d.merges.reserve(ms.size());
            for (const auto & m : ms) d.merges.emplace_back(m.a, m.b);
        }
        PreTokenizerStep meta;
        meta.kind = PreTokenizerKind::kMetaspace;
        meta.pattern = "\xE2\x96\x81";
        meta.prepend_scheme = PrependScheme::kFirst;
        meta.split = false;
        d.pre_tokenizer = {meta};
        DecoderStep strip;  // the space the Metaspace step prepended to the first word
        strip.kind = DecoderKind::kStrip;
        strip.pattern = " ";
        strip.start = 1;
        d.decoder = spm_decoder();
        d.decoder.push_back(strip);
        d.byte_fallback = true;
        d.fuse_unk = true;
        if (d.unk_id < 0) d.unk_id = vocab.find("<unk>");
    } else if (kind == "gpt2") {
        d.model = ModelKind::kByteLevelBpe;
        d.add_bos = get_i("tokenizer.ggml.add_bos_token", 0) != 0;
        d.pieces.resize(n);
        for (size_t i = 0; i < n; ++i) {
            const std::string & t = (*tokens)[i];
            bool in_alphabet = true;
            for (size_t k = 0; k < t.size() && in_alphabet;) {
                const size_t len = utf8_valid_length(t, k);
                in_alphabet = unicode_to_byte(utf8_decode(t, k, len)) >= 0;
                k += len;
            }
            if (in_alphabet) {
                d.pieces[i] = t;
            } else {
                for (char ch : t) utf8_append(d.pieces[i], byte_to_unicode(static_cast<uint8_t>(ch)));
            }
        }
        vocab.build(d.pieces);
        const auto * merges = get_s("tokenizer.ggml.merges");
        if (!merges) return fail("byte-level vocabulary without tokenizer.ggml.merges");
        QUANTA_TRY(parse_merges(*merges));
        const auto * pre = get_s("tokenizer.ggml.pre");
        const std::string p = (pre && pre->size() == 1) ? (*pre)[0] : std::string();
        const char * split = nullptr;
        for (const char * x : {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "dbrx", "smaug-bpe"}) if (p == x) split = kLlama3Split;
        for (const char * x : {"qwen2", "deepseek-r1-qwen"}) if (p == x) split = kQwen2Split;
        PreTokenizerStep bl;
        bl.kind = PreTokenizerKind::kByteLevel;
        bl.add_prefix_space = false;
        bl.use_regex = split == nullptr;
        if (split) {
            PreTokenizerStep s;
            s.kind = PreTokenizerKind::kSplit;
            s.pattern = split;
            s.pattern_is_regex = true;
            s.behavior = SplitBehavior::kIsolated;
            d.pre_tokenizer.push_back(s);
        }
        d.pre_tokenizer.push_back(bl);
        DecoderStep dec;
        dec.kind = DecoderKind::kByteLevel;
        d.decoder = {dec};
    } else {
        return fail("tokenizer.ggml.model '" + kind + "' for architecture '" + std::string(architecture) + "' is not supported");
    }

    // Control tokens as special added tokens, then user-defined ones present in the vocabulary.
    for (size_t i = 0; i < n; ++i) {
        if (d.token_types[i] != TokenType::kControl) continue;
        const std::string & t = (*tokens)[i];
        if (d.model == ModelKind::kByteLevelBpe && d.pieces[i] != t) continue;  // mislabelled, as transformers skips
        AddedToken a;
        a.content = t;
        const int32_t at = vocab.find(t);
        a.id = at >= 0 ? at : static_cast<int32_t>(i);
        a.special = true;
        d.added.push_back(std::move(a));
    }
    for (size_t i = 0; i < n; ++i) {
        if (d.token_types[i] != TokenType::kUserDefined) continue;
        const int32_t at = vocab.find((*tokens)[i]);
        if (at < 0) continue;
        AddedToken a;
        a.content = (*tokens)[i];
        a.id = at;
        a.special = false;
        d.added.push_back(std::move(a));
    }
    if (d.add_bos && d.bos_id < 0) return fail("add_bos_token without tokenizer.ggml.bos_token_id");
    if (d.add_eos && d.eos_id < 0) return fail("add_eos_token without tokenizer.ggml.eos_token_id");
    QUANTA_TRY(validate(d));
    return d;
}

}  // namespace quanta::text
