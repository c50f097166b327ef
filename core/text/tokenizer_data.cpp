// core/text/tokenizer_data.cpp — validation and the flat (typed-array) form of TokenizerData.
//
// Flat keys (all arrays; scalars have one element, booleans are i32 0/1):
//   tokenizer.ggml.model            str  "llama" (SentencePiece-style BPE) or "gpt2" (byte-level BPE)
//   tokenizer.ggml.tokens           str  pieces by id
//   tokenizer.ggml.scores           f32  per id
//   tokenizer.ggml.token_type       i32  per id (TokenType)
//   tokenizer.ggml.merges           str  "left right" in rank order (for GGUF readers)
//   tokenizer.ggml.{bos,eos,padding,unknown}_token_id   i32 (absent when none)
//   tokenizer.ggml.add_bos_token / add_eos_token        i32
//   tokenizer.chat_template         str  (absent when none)
//   tokenizer.quanta.version        i32  1
//   tokenizer.quanta.merge_ids      i32  2 per merge: left id, right id (exact; pieces may hold spaces)
//   tokenizer.quanta.flags          i32  byte_fallback, ignore_merges, fuse_unk, has_decoder, model
//   tokenizer.quanta.added.id / .content / .flags   i32 / str / i32 bit set
//                                   (1 lstrip, 2 rstrip, 4 normalized, 8 special, 16 single_word, 32 model_piece)
//   tokenizer.quanta.normalizer.kind / .a / .b      i32 / str (pattern or prefix) / str (content)
//   tokenizer.quanta.pre.kind / .pattern / .ints    i32 / str / i32 5 per step:
//                                   is_regex, behavior, invert, (add_prefix_space | use_regex<<1 | split<<2), prepend_scheme
//   tokenizer.quanta.decoder.kind / .a / .b / .ints i32 / str / str / i32 3 per step: start, stop, prepend_scheme
#include "core/text/tokenizer_data.h"

namespace quanta::text {

Status validate(const TokenizerData & d) {
    const size_t n = d.pieces.size();
    const auto in_range = [n](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n; };
    if (n == 0) return Status::error("tokenizer: empty vocabulary");
    if (n > (size_t{1} << 24)) return Status::error("tokenizer: vocabulary of " + std::to_string(n) + " pieces is too large");
    if (d.scores.size() != n) return Status::error("tokenizer: " + std::to_string(d.scores.size()) + " scores for " + std::to_string(n) + " pieces");
    if (d.token_types.size() != n) return Status::error("tokenizer: " + std::to_string(d.token_types.size()) + " token types for " + std::to_string(n) + " pieces");
    for (size_t r = 0; r < d.merges.size(); ++r)
        if (!in_range(d.merges[r].first) || !in_range(d.merges[r].second))
            return Status::error("tokenizer: merge " + std::to_string(r) + " has an id out of range (" + std::to_string(d.merges[r].first) + ", " +
                                 std::to_string(d.merges[r].second) + ") for " + std::to_string(n) + " pieces");
    for (const auto & a : d.added) {
        if (!in_range(a.id)) return Status::error("tokenizer: added token '" + a.content + "' has id " + std::to_string(a.id) + " out of range");
        if (a.content.empty()) return Status::error("tokenizer: added token " + std::to_string(a.id) + " is empty");
    }
    const struct { const char * name; int32_t id; } ids[] = {{"bos", d.bos_id}, {"eos", d.eos_id}, {"pad", d.pad_id}, {"unk", d.unk_id}};
    for (const auto & x : ids)
        if (x.id != -1 && !in_range(x.id)) return Status::error(std::string("tokenizer: ") + x.name + " id " + std::to_string(x.id) + " out of range");
    if (d.add_bos && d.bos_id < 0) return Status::error("tokenizer: add_bos without a BOS id");
    if (d.add_eos && d.eos_id < 0) return Status::error("tokenizer: add_eos without an EOS id");
    return ok_status();
}

FlatMetadata tokenizer_to_flat(const TokenizerData & d) {
    FlatMetadata m;
    m.strings["tokenizer.ggml.model"] = {d.model == ModelKind::kByteLevelBpe ? "gpt2" : "llama"};
    m.strings["tokenizer.ggml.tokens"] = d.pieces;
    m.f32["tokenizer.ggml.scores"] = d.scores;
    auto & tt = m.i32["tokenizer.ggml.token_type"];
    for (auto t : d.token_types) tt.push_back(static_cast<int32_t>(t));
    auto & ms = m.strings["tokenizer.ggml.merges"];
    auto & mi = m.i32["tokenizer.quanta.merge_ids"];
    for (const auto & [a, b] : d.merges) {
        ms.push_back(d.pieces[a] + " " + d.pieces[b]);
        mi.push_back(a);
        mi.push_back(b);
    }
    if (d.bos_id >= 0) m.i32["tokenizer.ggml.bos_token_id"] = {d.bos_id};
    if (d.eos_id >= 0) m.i32["tokenizer.ggml.eos_token_id"] = {d.eos_id};
    if (d.pad_id >= 0) m.i32["tokenizer.ggml.padding_token_id"] = {d.pad_id};
    if (d.unk_id >= 0) m.i32["tokenizer.ggml.unknown_token_id"] = {d.unk_id};
    m.i32["tokenizer.ggml.add_bos_token"] = {d.add_bos};
    m.i32["tokenizer.ggml.add_eos_token"] = {d.add_eos};
    if (!d.chat_template.empty()) m.strings["tokenizer.chat_template"] = {d.chat_template};
    m.i32["tokenizer.quanta.version"] = {1};
    m.i32["tokenizer.quanta.flags"] = {d.byte_fallback, d.ignore_merges, d.fuse_unk, d.has_decoder, static_cast<int32_t>(d.model)};
    auto & aid = m.i32["tokenizer.quanta.added.id"];
    auto & acontent = m.strings["tokenizer.quanta.added.content"];
    auto & aflags = m.i32["tokenizer.quanta.added.flags"];
    for (const auto & a : d.added) {
        aid.push_back(a.id);
        acontent.push_back(a.content);
        aflags.push_back(a.lstrip | a.rstrip << 1 | a.normalized << 2 | a.special << 3 | a.single_word << 4 | a.model_piece << 5);
    }
    auto & nk = m.i32["tokenizer.quanta.normalizer.kind"];
    auto & na = m.strings["tokenizer.quanta.normalizer.a"];
    auto & nb = m.strings["tokenizer.quanta.normalizer.b"];
    for (const auto & s : d.normalizer) {
        nk.push_back(static_cast<int32_t>(s.kind));
        na.push_back(s.kind == NormalizerKind::kPrepend ? s.content : s.pattern);
        nb.push_back(s.kind == NormalizerKind::kPrepend ? std::string() : s.content);
    }
    auto & pk = m.i32["tokenizer.quanta.pre.kind"];
    auto & pp = m.strings["tokenizer.quanta.pre.pattern"];
    auto & pi = m.i32["tokenizer.quanta.pre.ints"];
    for (const auto & s : d.pre_tokenizer) {
        pk.push_back(static_cast<int32_t>(s.kind));
        pp.push_back(s.pattern);
        pi.insert(pi.end(), {s.pattern_is_regex, static_cast<int32_t>(s.behavior), s.invert,
                             s.add_prefix_space | s.use_regex << 1 | s.split << 2, static_cast<int32_t>(s.prepend_scheme)});
    }
    auto & dk = m.i32["tokenizer.quanta.decoder.kind"];
    auto & da = m.strings["tokenizer.quanta.decoder.a"];
    auto & db = m.strings["tokenizer.quanta.decoder.b"];
    auto & di = m.i32["tokenizer.quanta.decoder.ints"];
    for (const auto & s : d.decoder) {
        dk.push_back(static_cast<int32_t>(s.kind));
        da.push_back(s.pattern);
        db.push_back(s.content);
        di.insert(di.end(), {s.start, s.stop, static_cast<int32_t>(s.prepend_scheme)});
    }
    return m;
}

// tokenizer_gguf.cpp: the GGUF (no tokenizer.quanta.*) path.
Result<TokenizerData> tokenizer_from_gguf_keys(const FlatMetadata & md, std::string_view architecture);

namespace {

template <typename T>
const std::vector<T> * find_key(const std::map<std::string, std::vector<T>> & m, const std::string & k) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
}

Status need(bool ok, const std::string & what) { return ok ? ok_status() : Status::error("tokenizer metadata: " + what); }

}  // namespace

Result<TokenizerData> tokenizer_from_flat(const FlatMetadata & md, std::string_view architecture) {
    if (find_key(md.i32, "tokenizer.quanta.version") == nullptr) return tokenizer_from_gguf_keys(md, architecture);
    const auto * version = find_key(md.i32, "tokenizer.quanta.version");
    QUANTA_TRY(need(version->size() == 1 && (*version)[0] == 1, "tokenizer.quanta.version is not 1"));
    TokenizerData d;
    const auto * tokens = find_key(md.strings, "tokenizer.ggml.tokens");
    const auto * scores = find_key(md.f32, "tokenizer.ggml.scores");
    const auto * types = find_key(md.i32, "tokenizer.ggml.token_type");
    QUANTA_TRY(need(tokens && scores && types, "tokens, scores or token_type missing"));
    d.pieces = *tokens;
    d.scores = *scores;
    for (int32_t t : *types) {
        QUANTA_TRY(need(t >= 0 && t <= 6, "token type " + std::to_string(t) + " unknown"));
        d.token_types.push_back(static_cast<TokenType>(t));
    }
    const auto * mi = find_key(md.i32, "tokenizer.quanta.merge_ids");
    QUANTA_TRY(need(mi && mi->size() % 2 == 0, "tokenizer.quanta.merge_ids missing or odd"));
    for (size_t i = 0; i < mi->size(); i += 2) d.merges.emplace_back((*mi)[i], (*mi)[i + 1]);
    const auto scalar = [&](const char * k, int32_t dflt) {
        const auto * v = find_key(md.i32, k);
        return (v && v->size() == 1) ? (*v)[0] : dflt;
    };
    d.bos_id = scalar("tokenizer.ggml.bos_token_id", -1);
    d.eos_id = scalar("tokenizer.ggml.eos_token_id", -1);
    d.pad_id = scalar("tokenizer.ggml.padding_token_id", -1);
    d.unk_id = scalar("tokenizer.ggml.unknown_token_id", -1);
    d.add_bos = scalar("tokenizer.ggml.add_bos_token", 0) != 0;
    d.add_eos = scalar("tokenizer.ggml.add_eos_token", 0) != 0;
    if (const auto * ct = find_key(md.strings, "tokenizer.chat_template"); ct && ct->size() == 1) d.chat_template = (*ct)[0];
    const auto * flags = find_key(md.i32, "tokenizer.quanta.flags");
    QUANTA_TRY(need(flags && flags->size() == 5, "tokenizer.quanta.flags must hold 5 values"));
    d.byte_fallback = (*flags)[0];
    d.ignore_merges = (*flags)[1];
    d.fuse_unk = (*flags)[2];
    d.has_decoder = (*flags)[3];
    QUANTA_TRY(need((*flags)[4] == 0 || (*flags)[4] == 1, "model kind " + std::to_string((*flags)[4]) + " unknown"));
    d.model = static_cast<ModelKind>((*flags)[4]);

    const auto * aid = find_key(md.i32, "tokenizer.quanta.added.id");
    const auto * ac = find_key(md.strings, "tokenizer.quanta.added.content");
    const auto * af = find_key(md.i32, "tokenizer.quanta.added.flags");
    QUANTA_TRY(need(aid && ac && af && aid->size() == ac->size() && aid->size() == af->size(), "added-token arrays missing or of different lengths"));
    for (size_t i = 0; i < aid->size(); ++i) {
        AddedToken a;
        a.id = (*aid)[i];
        a.content = (*ac)[i];
        const int32_t f = (*af)[i];
        a.lstrip = f & 1; a.rstrip = f & 2; a.normalized = f & 4; a.special = f & 8; a.single_word = f & 16; a.model_piece = f & 32;
        d.added.push_back(std::move(a));
    }
    const auto * nk = find_key(md.i32, "tokenizer.quanta.normalizer.kind");
    const auto * na = find_key(md.strings, "tokenizer.quanta.normalizer.a");
    const auto * nb = find_key(md.strings, "tokenizer.quanta.normalizer.b");
    QUANTA_TRY(need(nk && na && nb && na->size() == nk->size() && nb->size() == nk->size(), "normalizer arrays missing or of different lengths"));
    for (size_t i = 0; i < nk->size(); ++i) {
        NormalizerStep s;
        QUANTA_TRY(need((*nk)[i] >= 1 && (*nk)[i] <= 3, "normalizer kind " + std::to_string((*nk)[i]) + " unknown"));
        s.kind = static_cast<NormalizerKind>((*nk)[i]);
        if (s.kind == NormalizerKind::kPrepend) s.content = (*na)[i];
        else { s.pattern = (*na)[i]; s.content = (*nb)[i]; }
        d.normalizer.push_back(std::move(s));
    }
    const auto * pk = find_key(md.i32, "tokenizer.quanta.pre.kind");
    const auto * pp = find_key(md.strings, "tokenizer.quanta.pre.pattern");
    const auto * pi = find_key(md.i32, "tokenizer.quanta.pre.ints");
    QUANTA_TRY(need(pk && pp && pi && pp->size() == pk->size() && pi->size() == 5 * pk->size(), "pre-tokenizer arrays missing or of different lengths"));
    for (size_t i = 0; i < pk->size(); ++i) {
        PreTokenizerStep s;
        const int32_t * v = pi->data() + 5 * i;
        QUANTA_TRY(need((*pk)[i] >= 1 && (*pk)[i] <= 3 && v[1] >= 0 && v[1] <= 4 && v[4] >= 0 && v[4] <= 2, "pre-tokenizer step " + std::to_string(i) + " has values out of range"));
        s.kind = static_cast<PreTokenizerKind>((*pk)[i]);
        s.pattern = (*pp)[i];
        s.pattern_is_regex = v[0];
        s.behavior = static_cast<SplitBehavior>(v[1]);
        s.invert = v[2];
        s.add_prefix_space = v[3] & 1; s.use_regex = v[3] & 2; s.split = v[3] & 4;
        s.prepend_scheme = static_cast<PrependScheme>(v[4]);
        d.pre_tokenizer.push_back(std::move(s));
    }
    const auto * dk = find_key(md.i32, "tokenizer.quanta.decoder.kind");
    const auto * da = find_key(md.strings, "tokenizer.quanta.decoder.a");
    const auto * db = find_key(md.strings, "tokenizer.quanta.decoder.b");
    const auto * di = find_key(md.i32, "tokenizer.quanta.decoder.ints");
    QUANTA_TRY(need(dk && da && db && di && da->size() == dk->size() && db->size() == dk->size() && di->size() == 3 * dk->size(),
                    "decoder arrays missing or of different lengths"));
    for (size_t i = 0; i < dk->size(); ++i) {
        DecoderStep s;
        const int32_t * v = di->data() + 3 * i;
        QUANTA_TRY(need((*dk)[i] >= 1 && (*dk)[i] <= 6 && v[2] >= 0 && v[2] <= 2 && v[0] >= 0 && v[1] == 0, "decoder step " + std::to_string(i) + " has values out of range"));
        s.kind = static_cast<DecoderKind>((*dk)[i]);
        s.pattern = (*da)[i];
        s.content = (*db)[i];
        s.start = v[0];
        s.stop = v[1];
        s.prepend_scheme = static_cast<PrependScheme>(v[2]);
        d.decoder.push_back(std::move(s));
    }
    QUANTA_TRY(validate(d));
    return d;
}

}  // namespace quanta::text
