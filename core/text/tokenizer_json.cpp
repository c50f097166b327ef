// core/text/tokenizer_json.cpp — TokenizerData from a Hugging Face tokenizer.json (+ tokenizer_config.json).
//
// Only what a BPE pipeline of the supported families uses is read; anything else (another model
// type, an unknown normalizer, pre-tokenizer or decoder) is refused with a Status naming it, so a
// tokenizer never silently differs from its reference.
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/text/tokenizer_data.h"

namespace quanta::text {

using nlohmann::json;

namespace {

Status fail(const std::string & what) { return Status::error("tokenizer.json: " + what); }

std::string str_or(const json & j, const char * key, const std::string & dflt) {
    auto it = j.find(key);
    return (it != j.end() && it->is_string()) ? it->get<std::string>() : dflt;
}
bool bool_or(const json & j, const char * key, bool dflt) {
    auto it = j.find(key);
    return (it != j.end() && it->is_boolean()) ? it->get<bool>() : dflt;
}

// HF patterns are {"String": s} or {"Regex": r}.
Status read_pattern(const json & j, std::string & out, bool & is_regex) {
    if (!j.is_object()) return fail("pattern is not an object");
    if (j.contains("String") && j["String"].is_string()) { out = j["String"].get<std::string>(); is_regex = false; return ok_status(); }
    if (j.contains("Regex") && j["Regex"].is_string()) { out = j["Regex"].get<std::string>(); is_regex = true; return ok_status(); }
    return fail("pattern has neither String nor Regex");
}

Result<PrependScheme> read_prepend_scheme(const json & j) {
    // Older files have add_prefix_space instead of prepend_scheme.
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
        const std::string s = j["prepend_scheme"].get<std::string>();
        if (s == "first") return PrependScheme::kFirst;
        if (s == "never") return PrependScheme::kNever;
        if (s == "always") return PrependScheme::kAlways;
        return fail("Metaspace prepend_scheme '" + s + "' unknown");
    }
    return bool_or(j, "add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
}

Status read_normalizer(const json & j, std::vector<NormalizerStep> & out) {
    if (j.is_null()) return ok_status();
    const std::string type = str_or(j, "type", "");
    if (type == "Sequence") {
        if (!j.contains("normalizers") || !j["normalizers"].is_array()) return fail("normalizer Sequence without normalizers");
        for (const auto & n : j["normalizers"]) QUANTA_TRY(read_normalizer(n, out));
        return ok_status();
    }
    NormalizerStep s;
    if (type == "Prepend") {
        s.kind = NormalizerKind::kPrepend;
        s.content = str_or(j, "prepend", "");
    } else if (type == "Replace") {
        s.kind = NormalizerKind::kReplace;
        bool is_regex = false;
        QUANTA_TRY(read_pattern(j.value("pattern", json()), s.pattern, is_regex));
        if (is_regex) return fail("normalizer Replace with a regex pattern is not supported");
        if (s.pattern.empty()) return fail("normalizer Replace with an empty pattern");
        s.content = str_or(j, "content", "");
    } else if (type == "NFC") {
        s.kind = NormalizerKind::kNfc;
    } else {
        return fail("normalizer type '" + type + "' is not supported");
    }
    out.push_back(std::move(s));
    return ok_status();
}

Result<SplitBehavior> read_behavior(const std::string & b) {
    if (b == "Removed") return SplitBehavior::kRemoved;
    if (b == "Isolated") return SplitBehavior::kIsolated;
    if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
    if (b == "Contiguous") return SplitBehavior::kContiguous;
    return fail("Split behavior '" + b + "' unknown");
}

Status read_pre_tokenizer(const json & j, std::vector<PreTokenizerStep> & out) {
    if (j.is_null()) return ok_status();
    const std::string type = str_or(j, "type", "");
    if (type == "Sequence") {
        if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array()) return fail("pre_tokenizer Sequence without pretokenizers");
        for (const auto & p : j["pretokenizers"]) QUANTA_TRY(read_pre_tokenizer(p, out));
        return ok_status();
    }
    PreTokenizerStep s;
    if (type == "Split") {
        s.kind = PreTokenizerKind::kSplit;
        QUANTA_TRY(read_pattern(j.value("pattern", json()), s.pattern, s.pattern_is_regex));
        auto b = read_behavior(str_or(j, "behavior", "Isolated"));
        if (!b.ok()) return b.status();
        s.behavior = *b;
        s.invert = bool_or(j, "invert", false);
    } else if (type == "ByteLevel") {
        s.kind = PreTokenizerKind::kByteLevel;
        s.add_prefix_space = bool_or(j, "add_prefix_space", true);
        s.use_regex = bool_or(j, "use_regex", true);
    } else if (type == "Metaspace") {
        s.kind = PreTokenizerKind::kMetaspace;
        s.pattern = str_or(j, "replacement", "\xE2\x96\x81");
        auto p = read_prepend_scheme(j);
        if (!p.ok()) return p.status();
        s.prepend_scheme = *p;
        s.split = bool_or(j, "split", true);
    } else {
        return fail("pre_tokenizer type '" + type + "' is not supported");
    }
    out.push_back(std::move(s));
    return ok_status();
}

Status read_decoder(const json & j, std::vector<DecoderStep> & out) {
    const std::string type = str_or(j, "type", "");
    if (type == "Sequence") {
        if (!j.contains("decoders") || !j["decoders"].is_array()) return fail("decoder Sequence without decoders");
        for (const auto & d : j["decoders"]) QUANTA_TRY(read_decoder(d, out));
        return ok_status();
    }
    DecoderStep s;
    if (type == "Replace") {
        s.kind = DecoderKind::kReplace;
        bool is_regex = false;
        QUANTA_TRY(read_pattern(j.value("pattern", json()), s.pattern, is_regex));
        if (is_regex || s.pattern.empty()) return fail("decoder Replace needs a non-empty String pattern");
        s.content = str_or(j, "content", "");
    } else if (type == "ByteFallback") {
        s.kind = DecoderKind::kByteFallback;
    } else if (type == "Fuse") {
        s.kind = DecoderKind::kFuse;
    } else if (type == "Strip") {
        s.kind = DecoderKind::kStrip;
        s.pattern = str_or(j, "content", " ");
        s.start = j.value("start", 0);
        s.stop = j.value("stop", 0);
        if (s.start < 0 || s.start > 1024 || s.stop != 0) return fail("decoder Strip(start " + std::to_string(s.start) + ", stop " + std::to_string(s.stop) + ") is not supported");
    } else if (type == "ByteLevel") {
        s.kind = DecoderKind::kByteLevel;
    } else if (type == "Metaspace") {
        s.kind = DecoderKind::kMetaspace;
        s.pattern = str_or(j, "replacement", "\xE2\x96\x81");
        auto p = read_prepend_scheme(j);
        if (!p.ok()) return p.status();
        s.prepend_scheme = *p;
    } else {
        return fail("decoder type '" + type + "' is not supported");
    }
    out.push_back(std::move(s));
    return ok_status();
}

// A special token in tokenizer_config.json is a string or {"content": ...}.
std::string config_token(const json & cfg, const char * key) {
    auto it = cfg.find(key);
    if (it == cfg.end()) return {};
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object()) return str_or(*it, "content", "");
    return {};
}

}  // namespace

Result<TokenizerData> tokenizer_from_hf_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json) {
    json j = json::parse(tokenizer_json.begin(), tokenizer_json.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not valid JSON");
    json cfg = json::object();
    if (!tokenizer_config_json.empty()) {
        cfg = json::parse(tokenizer_config_json.begin(), tokenizer_config_json.end(), nullptr, false);
        if (cfg.is_discarded() || !cfg.is_object()) return Status::error("tokenizer_config.json: not valid JSON");
    }
    const json & m = j.value("model", json());
    if (!m.is_object()) return fail("no model");
    const std::string mtype = str_or(m, "type", "BPE");
    if (mtype != "BPE") return fail("model type '" + mtype + "' is not supported (only BPE)");
    if (!str_or(m, "continuing_subword_prefix", "").empty() || !str_or(m, "end_of_word_suffix", "").empty())
        return fail("BPE continuing_subword_prefix / end_of_word_suffix are not supported");
    if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].is_number() && m["dropout"].get<double>() > 0.0)
        return fail("BPE dropout is not supported");

    TokenizerData d;
    const json & vocab = m.value("vocab", json());
    if (!vocab.is_object()) return fail("model.vocab is not an object");
    // Ids may leave gaps that added tokens fill; size the table by the largest id anywhere.
    int64_t max_id = -1;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer()) return fail("vocab entry '" + it.key() + "' has no integer id");
        const int64_t id = it.value().get<int64_t>();
        if (id < 0 || id >= (int64_t{1} << 24)) return fail("vocab entry '" + it.key() + "' has id " + std::to_string(id) + " out of range");
        max_id = std::max(max_id, id);
    }
    const json & added = j.value("added_tokens", json::array());
    if (!added.is_array()) return fail("added_tokens is not an array");
    for (const auto & a : added) {
        if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
            return fail("an added token lacks id or content");
        const int64_t id = a["id"].get<int64_t>();
        if (id < 0 || id >= (int64_t{1} << 24)) return fail("added token id " + std::to_string(id) + " out of range");
        max_id = std::max(max_id, id);
    }
    const size_t n = static_cast<size_t>(max_id + 1);
    d.pieces.assign(n, std::string());
    d.scores.assign(n, 0.0f);
    d.token_types.assign(n, TokenType::kUndefined);
    std::unordered_map<std::string, int32_t> ids;
    ids.reserve(vocab.size() * 2);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const auto id = static_cast<int32_t>(it.value().get<int64_t>());
        d.pieces[id] = it.key();
        d.token_types[id] = TokenType::kNormal;
        ids[it.key()] = id;
    }
    for (const auto & a : added) {
        AddedToken t;
        t.id = static_cast<int32_t>(a["id"].get<int64_t>());
        t.content = a["content"].get<std::string>();
        if (t.content.empty()) return fail("added token " + std::to_string(t.id) + " is empty");
        t.lstrip = bool_or(a, "lstrip", false);
        t.rstrip = bool_or(a, "rstrip", false);
        t.normalized = bool_or(a, "normalized", false);
        t.special = bool_or(a, "special", false);
        t.single_word = bool_or(a, "single_word", false);
        t.model_piece = d.token_types[t.id] != TokenType::kUndefined;
        if (!t.model_piece) d.pieces[t.id] = t.content;
        d.token_types[t.id] = t.special ? TokenType::kControl : TokenType::kUserDefined;
        d.added.push_back(std::move(t));
    }
    // Byte tokens are what byte fallback emits.
    for (size_t i = 0; i < n; ++i) {
        const std::string & p = d.pieces[i];
        if (d.token_types[i] == TokenType::kNormal && p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>') d.token_types[i] = TokenType::kByte;
    }

    const json & merges = m.value("merges", json::array());
    if (!merges.is_array()) return fail("model.merges is not an array");
    d.merges.reserve(merges.size());
    for (size_t r = 0; r < merges.size(); ++r) {
        const json & mg = merges[r];
        std::string a, b;
        if (mg.is_string()) {
            const std::string s = mg.get<std::string>();
            const size_t sp = s.find(' ');
            if (sp == std::string::npos) return fail("merge " + std::to_string(r) + " '" + s + "' has no space");
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
            a = mg[0].get<std::string>();
            b = mg[1].get<std::string>();
        } else {
            return fail("merge " + std::to_string(r) + " is neither \"a b\" nor [a, b]");
        }
        auto ia = ids.find(a), ib = ids.find(b);
        if (ia == ids.end() || ib == ids.end()) return fail("merge " + std::to_string(r) + " ('" + a + "', '" + b + "') uses a piece not in the vocabulary");
        d.merges.emplace_back(ia->second, ib->second);
    }
    d.byte_fallback = bool_or(m, "byte_fallback", false);
    d.ignore_merges = bool_or(m, "ignore_merges", false);
    d.fuse_unk = bool_or(m, "fuse_unk", false);
    const std::string unk = str_or(m, "unk_token", "");
    if (!unk.empty()) {
        auto it = ids.find(unk);
        if (it == ids.end()) return fail("unk_token '" + unk + "' is not in the vocabulary");
        d.unk_id = it->second;
        d.token_types[it->second] = TokenType::kUnknown;
    }

    QUANTA_TRY(read_normalizer(j.value("normalizer", json()), d.normalizer));
    QUANTA_TRY(read_pre_tokenizer(j.value("pre_tokenizer", json()), d.pre_tokenizer));
    const json & dec = j.value("decoder", json());
    d.has_decoder = !dec.is_null();
    if (d.has_decoder) QUANTA_TRY(read_decoder(dec, d.decoder));
    d.model = ModelKind::kSpmBpe;
    for (const auto & p : d.pre_tokenizer)
        if (p.kind == PreTokenizerKind::kByteLevel) d.model = ModelKind::kByteLevelBpe;

    // BOS/EOS from the post-processor template: special tokens before $A are prepended, after it appended.
    auto lookup_any = [&](const std::string & content) -> int32_t {
        for (const auto & a : d.added) if (a.content == content) return a.id;
        auto it = ids.find(content);
        return it == ids.end() ? -1 : it->second;
    };
    const json & pp = j.value("post_processor", json());
    std::vector<const json *> procs;
    if (pp.is_object() && str_or(pp, "type", "") == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
        for (const auto & p : pp["processors"]) procs.push_back(&p);
    } else if (pp.is_object()) {
        procs.push_back(&pp);
    }
    for (const json * p : procs) {
        const std::string t = str_or(*p, "type", "");
        if (t == "ByteLevel") continue;  // offsets only
        if (t != "TemplateProcessing") return fail("post_processor type '" + t + "' is not supported");
        const json & single = p->value("single", json::array());
        bool seen_a = false;
        for (const auto & piece : single) {
            if (piece.contains("Sequence")) { seen_a = true; continue; }
            if (!piece.contains("SpecialToken")) return fail("TemplateProcessing piece is neither Sequence nor SpecialToken");
            const std::string tok = str_or(piece["SpecialToken"], "id", "");
            const int32_t id = lookup_any(tok);
            if (id < 0) return fail("TemplateProcessing token '" + tok + "' is not in the vocabulary");
            if (!seen_a) { if (d.add_bos) return fail("TemplateProcessing with two tokens before $A is not supported"); d.add_bos = true; d.bos_id = id; }
            else { if (d.add_eos) return fail("TemplateProcessing with two tokens after $A is not supported"); d.add_eos = true; d.eos_id = id; }
        }
    }

    // tokenizer_config.json: names of BOS/EOS/PAD, explicit add_bos/add_eos, the chat template.
    const std::string bos = config_token(cfg, "bos_token"), eos = config_token(cfg, "eos_token"), pad = config_token(cfg, "pad_token");
    if (!bos.empty()) d.bos_id = lookup_any(bos);
    if (!eos.empty()) d.eos_id = lookup_any(eos);
    if (!pad.empty()) d.pad_id = lookup_any(pad);
    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) d.add_bos = cfg["add_bos_token"].get<bool>();
    if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) d.add_eos = cfg["add_eos_token"].get<bool>();
    if (d.add_bos && d.bos_id < 0) return fail("add_bos_token is set but the BOS token is unknown");
    if (d.add_eos && d.eos_id < 0) return fail("add_eos_token is set but the EOS token is unknown");
    if (cfg.contains("chat_template")) {
        const json & ct = cfg["chat_template"];
        if (ct.is_string()) {
            d.chat_template = ct.get<std::string>();
        } else if (ct.is_array()) {  // [{"name": "default", "template": ...}, ...]
            for (const auto & e : ct)
                if (e.is_object() && str_or(e, "name", "") == "default") d.chat_template = str_or(e, "template", "");
        }
    }
    QUANTA_TRY(validate(d));
    return d;
}

static Result<std::string> read_text_file(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::error("tokenizer: cannot open '" + path + "'");
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

Result<TokenizerData> load_hf_tokenizer_dir(const std::string & dir) {
    auto tj = read_text_file(dir + "/tokenizer.json");
    if (!tj.ok()) return tj.status();
    std::string cfg;
    if (std::ifstream(dir + "/tokenizer_config.json")) {
        auto c = read_text_file(dir + "/tokenizer_config.json");
        if (!c.ok()) return c.status();
        cfg = std::move(*c);
    }
    auto r = tokenizer_from_hf_json(*tj, cfg);
    if (!r.ok()) return r.status().with_context(dir);
    return r;
}

}  // namespace quanta::text
