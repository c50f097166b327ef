#include "convert/spm_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#if QUANTA_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#endif

namespace quanta::convert {

namespace fs = std::filesystem;

#if QUANTA_HAVE_SENTENCEPIECE

namespace {

// The few ModelProto settings libsentencepiece has no accessor for, read from the serialized
// proto (protobuf wire format; ref: sentencepiece_model.proto): TrainerSpec (field 2) model_type
// (3), NormalizerSpec (field 3) add_dummy_prefix (3) and remove_extra_whitespaces (4). Absent
// fields keep the proto's defaults.
struct SpmSpec {
    int model_type = 1;  // UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = true;
};

bool read_varint(std::string_view b, size_t & at, uint64_t & v) {
    v = 0;
    for (int shift = 0; shift < 64 && at < b.size(); shift += 7) {
        const uint8_t c = uint8_t(b[at++]);
        v |= uint64_t(c & 0x7F) << shift;
        if (!(c & 0x80)) return true;
    }
    return false;
}

// Calls f(field, wire type, varint value, length-delimited bytes) for each field of one message.
template <typename F>
bool walk(std::string_view b, F f) {
    size_t at = 0;
    while (at < b.size()) {
        uint64_t key = 0, v = 0;
        if (!read_varint(b, at, key)) return false;
        const int field = int(key >> 3), wire = int(key & 7);
        std::string_view sub;
        if (wire == 0) {
            if (!read_varint(b, at, v)) return false;
        } else if (wire == 1 || wire == 5) {
            const size_t n = wire == 1 ? 8 : 4;
            if (b.size() - at < n) return false;
            at += n;
        } else if (wire == 2) {
            if (!read_varint(b, at, v) || v > b.size() - at) return false;
            sub = b.substr(at, size_t(v));
            at += size_t(v);
        } else {
            return false;
        }
        f(field, wire, v, sub);
    }
    return true;
}

bool parse_spec(std::string_view proto, SpmSpec & s) {
    bool ok = true;
    ok = walk(proto, [&](int field, int wire, uint64_t, std::string_view sub) {
        if (wire != 2) return;
        if (field == 2) {
            ok = ok && walk(sub, [&](int f, int w, uint64_t v, std::string_view) {
                if (f == 3 && w == 0) s.model_type = int(v);
            });
        } else if (field == 3) {
            ok = ok && walk(sub, [&](int f, int w, uint64_t v, std::string_view) {
                if (f == 3 && w == 0) s.add_dummy_prefix = v != 0;
                if (f == 4 && w == 0) s.remove_extra_whitespaces = v != 0;
            });
        }
    }) && ok;
    return ok;
}

// ref: transformers SentencePieceExtractor.extract — merges ordered by the merged piece's score
// (descending, stable in id order), the splits of one piece by (left id, right id).
void add_merges(text::TokenizerData & d) {
    std::unordered_map<std::string_view, int32_t> vocab;
    for (size_t i = 0; i < d.pieces.size(); ++i) vocab.emplace(d.pieces[i], int32_t(i));  // first id wins
    std::vector<int32_t> order(d.pieces.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return d.scores[size_t(a)] > d.scores[size_t(b)]; });
    std::vector<std::pair<int32_t, int32_t>> local;
    for (int32_t id : order) {
        const std::string_view piece = d.pieces[size_t(id)];
        local.clear();
        for (size_t k = 1; k < piece.size(); ++k) {
            auto l = vocab.find(piece.substr(0, k));
            if (l == vocab.end()) continue;
            auto r = vocab.find(piece.substr(k));
            if (r == vocab.end()) continue;
            local.emplace_back(l->second, r->second);
        }
        std::sort(local.begin(), local.end());
        d.merges.insert(d.merges.end(), local.begin(), local.end());
    }
}

}  // namespace

bool spm_tokenizer_available() { return true; }

Result<text::TokenizerData> load_spm_tokenizer_dir(const std::string & dir) {
    const std::string path = (fs::path(dir) / "tokenizer.model").string();
    sentencepiece::SentencePieceProcessor sp;
    if (auto st = sp.Load(path); !st.ok()) {
        return Status::error(path + ": not a SentencePiece model (" + st.ToString() + ")");
    }
    SpmSpec spec;
    if (!parse_spec(sp.serialized_model_proto(), spec)) {
        return Status::error(path + ": the model's settings (trainer and normalizer spec) do not parse");
    }
    if (spec.model_type != 2) {
        return Status::error(path + ": a SentencePiece " + (spec.model_type == 1 ? std::string("Unigram") : "type " + std::to_string(spec.model_type)) +
                             " model; quanta reads BPE models only (Llama, Mistral); add a tokenizer.json to the checkpoint");
    }
    if (spec.remove_extra_whitespaces) {
        return Status::error(path + ": the model collapses whitespace (remove_extra_whitespaces), which the BPE "
                             "pipeline quanta builds would not; add a tokenizer.json to the checkpoint");
    }

    text::TokenizerData d;
    d.model = text::ModelKind::kSpmBpe;
    const int n = sp.GetPieceSize();
    d.pieces.resize(size_t(n));
    d.scores.resize(size_t(n));
    d.token_types.resize(size_t(n));
    for (int i = 0; i < n; ++i) {
        d.pieces[size_t(i)] = sp.IdToPiece(i);
        d.scores[size_t(i)] = sp.GetScore(i);
        text::TokenType t = text::TokenType::kNormal;
        if (sp.IsUnknown(i)) t = text::TokenType::kUnknown;
        else if (sp.IsControl(i)) t = text::TokenType::kControl;
        else if (sp.IsByte(i)) t = text::TokenType::kByte;
        else if (sp.IsUnused(i)) t = text::TokenType::kUnused;
        d.token_types[size_t(i)] = t;
        d.byte_fallback = d.byte_fallback || t == text::TokenType::kByte;
        if (t == text::TokenType::kUnknown || t == text::TokenType::kControl) {
            text::AddedToken a;
            a.id = i;
            a.content = d.pieces[size_t(i)];
            d.added.push_back(a);
        }
    }
    add_merges(d);
    d.fuse_unk = true;
    d.unk_id = sp.unk_id();
    d.bos_id = sp.bos_id();
    d.eos_id = sp.eos_id();
    d.pad_id = sp.pad_id();
    d.add_bos = d.bos_id >= 0;
    d.add_eos = false;

    bool legacy = false;  // transformers 5 builds the non-legacy form when tokenizer_config.json says nothing
    const fs::path cfg_path = fs::path(dir) / "tokenizer_config.json";
    if (std::ifstream in(cfg_path); in) {
        std::stringstream ss;
        ss << in.rdbuf();
        const nlohmann::json cfg = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
        if (!cfg.is_object()) return Status::error(cfg_path.string() + ": not a JSON object");
        auto flag = [&](const char * key, bool & out) {
            if (cfg.contains(key) && cfg[key].is_boolean()) out = cfg[key].get<bool>();
        };
        flag("add_bos_token", d.add_bos);
        flag("add_eos_token", d.add_eos);
        flag("legacy", legacy);
        if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) d.chat_template = cfg["chat_template"].get<std::string>();
    }

    // ref: transformers LlamaConverter.normalizer / pre_tokenizer / decoder. Legacy: SentencePiece's
    // own behaviour (prefix "▁" before the whole text); non-legacy: Metaspace, which does not add
    // the prefix when the text already starts with a space.
    const std::string meta = "\xE2\x96\x81";
    if (legacy) {
        if (spec.add_dummy_prefix) d.normalizer.push_back({text::NormalizerKind::kPrepend, "", meta});
        d.normalizer.push_back({text::NormalizerKind::kReplace, " ", meta});
    } else {
        text::PreTokenizerStep m;
        m.kind = text::PreTokenizerKind::kMetaspace;
        m.pattern = meta;
        m.prepend_scheme = spec.add_dummy_prefix ? text::PrependScheme::kFirst : text::PrependScheme::kNever;
        m.split = false;
        d.pre_tokenizer.push_back(m);
    }
    auto step = [&](text::DecoderKind kind, std::string pattern = "", std::string content = "", int32_t start = 0) {
        text::DecoderStep st;
        st.kind = kind;
        st.pattern = std::move(pattern);
        st.content = std::move(content);
        st.start = start;
        d.decoder.push_back(st);
    };
    step(text::DecoderKind::kReplace, meta, " ");
    step(text::DecoderKind::kByteFallback);
    step(text::DecoderKind::kFuse);
    if (spec.add_dummy_prefix) step(text::DecoderKind::kStrip, " ", "", 1);
    return d;
}

#else

bool spm_tokenizer_available() { return false; }

Result<text::TokenizerData> load_spm_tokenizer_dir(const std::string & dir) {
    return Status::error(dir + ": only a SentencePiece tokenizer.model is here, and this quanta was built without "
                         "libsentencepiece (install libsentencepiece-dev, scripts/install-deps.sh, and rebuild), or "
                         "add a tokenizer.json");
}

#endif

}  // namespace quanta::convert
