#include "convert/hf_config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace quanta::convert {

using nlohmann::json;

namespace {

// model_type -> architecture. Gemma 3 multimodal ("gemma3") keeps its text model in text_config.
struct ModelType { const char * model_type; arch::Arch arch; };
constexpr ModelType kModelTypes[] = {
    {"llama", arch::Arch::Llama}, {"mistral", arch::Arch::Mistral}, {"qwen2", arch::Arch::Qwen2},
    {"qwen3", arch::Arch::Qwen3}, {"gemma", arch::Arch::Gemma},     {"gemma2", arch::Arch::Gemma2},
    {"gemma3_text", arch::Arch::Gemma3}, {"gemma3", arch::Arch::Gemma3},
};

class Reader {
public:
    Reader(const json & j, std::string source) : j_(j), source_(std::move(source)) {}

    bool has(const char * key) const { return j_.contains(key) && !j_[key].is_null(); }

    Result<int64_t> integer(const char * key, std::optional<int64_t> fallback = std::nullopt) const {
        if (!has(key)) {
            if (fallback) return *fallback;
            return missing(key);
        }
        const json & v = j_[key];
        if (!v.is_number_integer()) return wrong(key, "an integer");
        return v.get<int64_t>();
    }
    Result<double> number(const char * key, std::optional<double> fallback = std::nullopt) const {
        if (!has(key)) {
            if (fallback) return *fallback;
            return missing(key);
        }
        const json & v = j_[key];
        if (!v.is_number()) return wrong(key, "a number");
        return v.get<double>();
    }
    std::string string(const char * key, const std::string & fallback) const {
        return has(key) && j_[key].is_string() ? j_[key].get<std::string>() : fallback;
    }
    const json & raw() const { return j_; }
    const std::string & source() const { return source_; }

    Status missing(const char * key) const {
        return Status::error(source_ + ": missing '" + key + "'");
    }
    Status wrong(const char * key, const char * what) const {
        return Status::error(source_ + ": '" + key + "' must be " + what + ", got " + j_[key].dump());
    }

private:
    const json & j_;
    std::string source_;
};

#define QUANTA_ASSIGN(lhs, expr)                 \
    do {                                         \
        auto quanta_v_ = (expr);                 \
        if (!quanta_v_.ok()) return quanta_v_.status(); \
        lhs = *quanta_v_;                        \
    } while (0)

// One rope description: {"rope_type"|"type": ..., "factor", "low_freq_factor", ...}, with the base
// given inside (rope_parameters) or beside it (rope_theta).
Result<arch::Rope> parse_rope(const json & params, double base, const std::string & where) {
    arch::Rope r;
    r.base = float(base);
    if (params.is_null()) return r;
    if (!params.is_object()) return Status::error(where + ": rope parameters must be an object");
    if (params.contains("rope_theta") && params["rope_theta"].is_number()) r.base = params["rope_theta"].get<float>();
    std::string type = "default";
    for (const char * key : {"rope_type", "type"}) {
        if (params.contains(key) && params[key].is_string()) type = params[key].get<std::string>();
    }
    auto num = [&](const char * key, double fallback) {
        return params.contains(key) && params[key].is_number() ? params[key].get<double>() : fallback;
    };
    if (type == "default") return r;
    r.factor = float(num("factor", 1.0));
    if (type == "linear") {
        r.scaling = arch::RopeScaling::Linear;
    } else if (type == "llama3") {
        r.scaling = arch::RopeScaling::Llama3;
        r.low_freq_factor = float(num("low_freq_factor", 1.0));
        r.high_freq_factor = float(num("high_freq_factor", 4.0));
        r.original_ctx = int64_t(num("original_max_position_embeddings", 8192));
    } else {
        return Status::error(where + ": rope type '" + type + "' is not supported (supported: default, linear, llama3)");
    }
    return r;
}

Result<arch::Activation> parse_activation(const std::string & name, const std::string & where) {
    if (name == "silu" || name == "swish") return arch::Activation::Silu;
    if (name == "gelu_pytorch_tanh" || name == "gelu_tanh" || name == "gelu_new") return arch::Activation::GeluTanh;
    if (name == "gelu") return arch::Activation::GeluErf;
    return Status::error(where + ": activation '" + name + "' is not supported (silu, gelu, gelu_pytorch_tanh)");
}

// Which layers use the sliding window, from layer_types when present, else from the family's rule.
Result<std::vector<uint8_t>> sliding_layers(const Reader & c, arch::Arch a, int64_t n_layer, int64_t window) {
    std::vector<uint8_t> out;
    if (c.has("layer_types")) {
        const json & types = c.raw()["layer_types"];
        if (!types.is_array() || int64_t(types.size()) != n_layer) {
            return Status::error(c.source() + ": 'layer_types' must list one type per layer (" + std::to_string(n_layer) + ")");
        }
        for (const json & t : types) {
            const std::string s = t.is_string() ? t.get<std::string>() : "";
            if (s != "sliding_attention" && s != "full_attention") {
                return Status::error(c.source() + ": layer type " + t.dump() + " is not supported");
            }
            out.push_back(s == "sliding_attention");
        }
    } else if (window > 0) {
        for (int64_t il = 0; il < n_layer; ++il) {
            switch (a) {
                case arch::Arch::Gemma2: out.push_back(il % 2 == 0); break;  // ref: transformers gemma2, even layers slide
                case arch::Arch::Gemma3: {
                    auto pattern = c.integer("sliding_window_pattern", 6);
                    if (!pattern.ok()) return pattern.status();
                    out.push_back(*pattern <= 0 || (il + 1) % *pattern != 0);
                    break;
                }
                default: out.push_back(1); break;  // Mistral: every layer
            }
        }
    }
    bool any = false;
    for (uint8_t s : out) any = any || s;
    if (!any) out.clear();
    return out;
}

}  // namespace

Result<arch::HParams> hparams_from_hf_config(const json & root, const std::string & source) {
    if (!root.is_object()) return Status::error(source + ": not a JSON object");
    const std::string model_type = root.value("model_type", std::string());
    std::optional<arch::Arch> found;
    for (const ModelType & m : kModelTypes) if (model_type == m.model_type) found = m.arch;
    if (!found) {
        return Status::error(source + ": model_type '" + model_type + "' is not supported; supported: " +
                             arch::supported_arch_names() + " (model_type gemma3_text / gemma3 for Gemma 3)");
    }
    const bool multimodal = model_type == "gemma3" && root.contains("text_config");
    const json & cfg = multimodal ? root["text_config"] : root;
    Reader c(cfg, multimodal ? source + " text_config" : source);

    arch::HParams hp;
    hp.arch = *found;
    const bool gemma = hp.arch == arch::Arch::Gemma || hp.arch == arch::Arch::Gemma2 || hp.arch == arch::Arch::Gemma3;
    QUANTA_ASSIGN(hp.n_vocab, c.integer("vocab_size", multimodal ? std::optional<int64_t>(262208) : std::nullopt));
    QUANTA_ASSIGN(hp.n_embd, c.integer("hidden_size"));
    QUANTA_ASSIGN(hp.n_layer, c.integer("num_hidden_layers"));
    QUANTA_ASSIGN(hp.n_head, c.integer("num_attention_heads"));
    QUANTA_ASSIGN(hp.n_head_kv, c.integer("num_key_value_heads", hp.n_head));
    QUANTA_ASSIGN(hp.n_ff, c.integer("intermediate_size"));
    QUANTA_ASSIGN(hp.n_ctx_train, c.integer("max_position_embeddings", 2048));
    if (hp.n_head <= 0) return Status::error(source + ": num_attention_heads must be positive");
    QUANTA_ASSIGN(hp.head_dim, c.integer("head_dim", hp.n_embd / hp.n_head));
    double eps = 0;
    QUANTA_ASSIGN(eps, c.number("rms_norm_eps", 1e-6));
    hp.norm_eps = float(eps);

    std::string act = c.string("hidden_act", "silu");
    if (gemma) act = c.string("hidden_activation", "gelu_pytorch_tanh");  // ref: transformers gemma, forced tanh
    QUANTA_ASSIGN(hp.activation, parse_activation(act, source));

    if (gemma) {
        hp.norm_offset = 1.0f;                                   // ref: GemmaRMSNorm, x * (1 + w)
        hp.embd_scale = float(std::sqrt(double(hp.n_embd)));     // ref: Gemma*Model, embeds * sqrt(hidden)
    }
    double query_pre = double(hp.head_dim);
    if (hp.arch == arch::Arch::Gemma2 || hp.arch == arch::Arch::Gemma3) {
        QUANTA_ASSIGN(query_pre, c.number("query_pre_attn_scalar", double(hp.head_dim)));
        double cap = 0;
        QUANTA_ASSIGN(cap, c.number("attn_logit_softcapping", 0.0));
        hp.attn_softcap = float(cap);
        QUANTA_ASSIGN(cap, c.number("final_logit_softcapping", 0.0));
        hp.final_softcap = float(cap);
    }
    hp.query_scale = float(1.0 / std::sqrt(query_pre));

    // Sliding window: Qwen2/3 only when use_sliding_window is set (not supported yet: refuse).
    int64_t window = 0;
    const bool qwen = hp.arch == arch::Arch::Qwen2 || hp.arch == arch::Arch::Qwen3;
    if (qwen && cfg.value("use_sliding_window", false)) {
        return Status::error(source + ": Qwen use_sliding_window=true is not supported");
    }
    if (!qwen && hp.arch != arch::Arch::Llama && hp.arch != arch::Arch::Gemma) {
        QUANTA_ASSIGN(window, c.integer("sliding_window", 0));
    }
    hp.sliding_window = window;
    QUANTA_ASSIGN(hp.layer_sliding, sliding_layers(c, hp.arch, hp.n_layer, window));
    if (hp.layer_sliding.empty()) hp.sliding_window = 0;

    double partial = 1.0;
    QUANTA_ASSIGN(partial, c.number("partial_rotary_factor", 1.0));
    hp.n_rot = int64_t(std::lround(double(hp.head_dim) * partial));
    hp.rope_pairing = arch::RopePairing::Neox;  // ref: transformers rotate_half

    // Rope: transformers >= 5 writes rope_parameters; older checkpoints rope_theta + rope_scaling.
    double theta = 10000.0, local_theta = 10000.0;
    QUANTA_ASSIGN(theta, c.number("rope_theta", 10000.0));
    QUANTA_ASSIGN(local_theta, c.number("rope_local_base_freq", 10000.0));
    const json null_json;
    if (c.has("rope_parameters")) {
        const json & rp = cfg["rope_parameters"];
        if (rp.is_object() && rp.contains("full_attention")) {
            QUANTA_ASSIGN(hp.rope, parse_rope(rp["full_attention"], theta, source));
            QUANTA_ASSIGN(hp.rope_local, parse_rope(rp.contains("sliding_attention") ? rp["sliding_attention"] : rp["full_attention"],
                                                    local_theta, source));
        } else {
            QUANTA_ASSIGN(hp.rope, parse_rope(rp, theta, source));
            hp.rope_local = hp.rope;
        }
    } else {
        QUANTA_ASSIGN(hp.rope, parse_rope(c.has("rope_scaling") ? cfg["rope_scaling"] : null_json, theta, source));
        hp.rope_local = hp.rope;
        if (hp.arch == arch::Arch::Gemma3) {
            QUANTA_ASSIGN(hp.rope_local, parse_rope(null_json, local_theta, source));  // local layers: no scaling
        }
    }

    Status valid = hp.validate();
    if (!valid.ok()) return valid.with_context(source);
    return hp;
}

Result<arch::HParams> read_hf_config(const std::string & dir) {
    const std::string path = dir + "/config.json";
    std::ifstream in(path);
    if (!in) return Status::error(path + ": cannot open (is '" + dir + "' a Hugging Face checkpoint directory?)");
    std::stringstream text;
    text << in.rdbuf();
    json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::error(path + ": not valid JSON");
    return hparams_from_hf_config(j, path);
}

}  // namespace quanta::convert
