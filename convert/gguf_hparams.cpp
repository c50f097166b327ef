#include "convert/gguf_hparams.h"

#include <cmath>

namespace quanta::convert {

namespace {

struct GgufArch { const char * name; arch::Arch arch; };
constexpr GgufArch kGgufArchs[] = {
    {"llama", arch::Arch::Llama}, {"qwen2", arch::Arch::Qwen2}, {"qwen3", arch::Arch::Qwen3},
    {"gemma", arch::Arch::Gemma}, {"gemma2", arch::Arch::Gemma2}, {"gemma3", arch::Arch::Gemma3},
};

}  // namespace

Result<arch::HParams> hparams_from_gguf(const formats::Metadata & md, const std::string & source) {
    auto name = md.get_string("general.architecture");
    if (!name.ok()) return name.status().with_context(source);
    const std::string a(*name);
    arch::HParams hp;
    bool found = false;
    for (const GgufArch & g : kGgufArchs) {
        if (a == g.name) { hp.arch = g.arch; found = true; }
    }
    if (!found) {
        return Status::error(source + ": GGUF architecture '" + a +
                             "' is not supported; supported: llama, qwen2, qwen3, gemma, gemma2, gemma3");
    }
    const bool gemma = hp.arch == arch::Arch::Gemma || hp.arch == arch::Arch::Gemma2 || hp.arch == arch::Arch::Gemma3;

    Status first;
    auto keep = [&](const Status & s) { if (first.ok() && !s.ok()) first = s.with_context(source); };
    auto i = [&](const std::string & key, std::optional<int64_t> fallback = std::nullopt) -> int64_t {
        if (fallback && !md.has(a + "." + key)) return *fallback;
        auto v = md.get_int(a + "." + key);
        if (!v.ok()) { keep(v.status()); return 0; }
        return *v;
    };
    auto f = [&](const std::string & key, double fallback) -> double {
        if (!md.has(a + "." + key)) return fallback;
        auto v = md.get_float(a + "." + key);
        if (!v.ok()) { keep(v.status()); return fallback; }
        return *v;
    };

    hp.n_embd = i("embedding_length");
    hp.n_layer = i("block_count");
    hp.n_ff = i("feed_forward_length");
    hp.n_head = i("attention.head_count");
    hp.n_head_kv = i("attention.head_count_kv", hp.n_head);
    hp.n_ctx_train = i("context_length", 2048);
    hp.head_dim = i("attention.key_length", hp.n_head > 0 ? hp.n_embd / hp.n_head : 0);
    hp.n_rot = i("rope.dimension_count", hp.head_dim);
    hp.norm_eps = float(f("attention.layer_norm_rms_epsilon", 1e-6));
    if (!first.ok()) return first;

    // Vocabulary size from the tokenizer (GGUF has no separate key for it in most files).
    auto n_vocab = md.get_array_size("tokenizer.ggml.tokens");
    if (n_vocab.ok()) hp.n_vocab = int64_t(*n_vocab);
    else hp.n_vocab = i("vocab_size");
    if (!first.ok()) return first;

    hp.activation = gemma ? arch::Activation::GeluTanh : arch::Activation::Silu;
    hp.norm_offset = 0.0f;  // llama.cpp's converter stores Gemma norms as (1 + w) already
    if (gemma) hp.embd_scale = float(std::sqrt(double(hp.n_embd)));
    // ref: llama.cpp rope types: Llama is converted with permuted Q/K (adjacent pairs), the rest NeoX.
    hp.rope_pairing = hp.arch == arch::Arch::Llama ? arch::RopePairing::Adjacent : arch::RopePairing::Neox;

    // GGUF carries no query_pre_attn_scalar: llama.cpp uses n_embd / n_head for the 27B Gemma 2/3
    // (46 and 62 layers), head_dim otherwise. Mirror that so both runtimes run the same maths.
    double query_pre = double(hp.head_dim);
    const bool big_gemma = (hp.arch == arch::Arch::Gemma2 && hp.n_layer == 46) ||
                           (hp.arch == arch::Arch::Gemma3 && hp.n_layer == 62);
    if (big_gemma && hp.n_head > 0) query_pre = double(hp.n_embd / hp.n_head);
    hp.query_scale = float(1.0 / std::sqrt(query_pre));
    if (hp.arch == arch::Arch::Gemma2) {
        hp.attn_softcap = float(f("attn_logit_softcapping", 50.0));
        hp.final_softcap = float(f("final_logit_softcapping", 30.0));
    }

    hp.rope.base = float(f("rope.freq_base", 10000.0));
    std::string scaling = "none";
    if (md.has(a + ".rope.scaling.type")) {
        auto s = md.get_string(a + ".rope.scaling.type");
        if (!s.ok()) return s.status().with_context(source);
        scaling = std::string(*s);
    }
    if (scaling == "linear") {
        hp.rope.scaling = arch::RopeScaling::Linear;
        hp.rope.factor = float(f("rope.scaling.factor", 1.0));
    } else if (scaling != "none") {
        return Status::error(source + ": rope scaling '" + scaling + "' is not supported (none, linear)");
    }
    hp.rope_local = hp.rope;

    const int64_t window = i("attention.sliding_window", 0);
    if (hp.arch == arch::Arch::Gemma2 || hp.arch == arch::Arch::Gemma3) {
        hp.sliding_window = window > 0 ? window : 4096;
        for (int64_t il = 0; il < hp.n_layer; ++il) {
            // ref: llama.cpp, Gemma 2 alternates starting with a sliding layer; Gemma 3 is 5 local : 1 global.
            hp.layer_sliding.push_back(hp.arch == arch::Arch::Gemma2 ? il % 2 == 0 : (il + 1) % 6 != 0);
        }
        if (hp.arch == arch::Arch::Gemma3) {
            hp.rope_local = arch::Rope{};
            hp.rope_local.base = 10000.0f;  // ref: llama.cpp gemma3, rope_freq_base_train_swa
        }
    } else if (window > 0) {
        hp.sliding_window = window;
        hp.layer_sliding.assign(size_t(hp.n_layer), 1);
    }
    if (!first.ok()) return first;
    Status valid = hp.validate();
    if (!valid.ok()) return valid.with_context(source);
    return hp;
}

}  // namespace quanta::convert
