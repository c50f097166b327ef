#include "core/arch/tensors.h"

#include <string_view>

namespace quanta::arch {

namespace {

// Sizes named symbolically in the table, resolved against HParams.
enum class D { Embd, Vocab, QDim, KVDim, Ff, HeadDim };

int64_t resolve(D d, const HParams & hp) {
    switch (d) {
        case D::Embd: return hp.n_embd;
        case D::Vocab: return hp.n_vocab;
        case D::QDim: return hp.n_head * hp.head_dim;
        case D::KVDim: return hp.n_head_kv * hp.head_dim;
        case D::Ff: return hp.n_ff;
        case D::HeadDim: return hp.head_dim;
    }
    return 0;
}

constexpr unsigned bit(Arch a) { return 1u << unsigned(a); }
constexpr unsigned kAll = bit(Arch::Llama) | bit(Arch::Mistral) | bit(Arch::Qwen2) | bit(Arch::Qwen3) |
                          bit(Arch::Gemma) | bit(Arch::Gemma2) | bit(Arch::Gemma3);
constexpr unsigned kGemma23 = bit(Arch::Gemma2) | bit(Arch::Gemma3);
constexpr unsigned kPreNormFfn = kAll & ~kGemma23;  // post_attention_layernorm is the FFN's pre-norm
constexpr unsigned kQkNorm = bit(Arch::Qwen3) | bit(Arch::Gemma3);

struct Row {
    unsigned archs;
    const char * name;      // "{}" is the layer index
    const char * hf_name;
    D d0;
    int n_dims;
    D d1;
    TensorRole role;
    bool optional;
};

constexpr TensorRole W = TensorRole::Weight;
constexpr TensorRole N = TensorRole::Norm;

// ref: transformers modeling_{llama,mistral,qwen2,qwen3,gemma,gemma2,gemma3} parameter names.
constexpr Row kGlobal[] = {
    {kAll, "token_embd.weight", "model.embed_tokens.weight", D::Embd, 2, D::Vocab, W, false},
    {kAll, "output_norm.weight", "model.norm.weight", D::Embd, 1, D::Embd, N, false},
    {kAll, "output.weight", "lm_head.weight", D::Embd, 2, D::Vocab, W, true},
};

constexpr Row kLayer[] = {
    {kAll, "blk.{}.attn_norm.weight", "model.layers.{}.input_layernorm.weight", D::Embd, 1, D::Embd, N, false},
    {kAll, "blk.{}.attn_q.weight", "model.layers.{}.self_attn.q_proj.weight", D::Embd, 2, D::QDim, W, false},
    {kAll, "blk.{}.attn_k.weight", "model.layers.{}.self_attn.k_proj.weight", D::Embd, 2, D::KVDim, W, false},
    {kAll, "blk.{}.attn_v.weight", "model.layers.{}.self_attn.v_proj.weight", D::Embd, 2, D::KVDim, W, false},
    {kAll, "blk.{}.attn_output.weight", "model.layers.{}.self_attn.o_proj.weight", D::QDim, 2, D::Embd, W, false},
    {bit(Arch::Qwen2), "blk.{}.attn_q.bias", "model.layers.{}.self_attn.q_proj.bias", D::QDim, 1, D::QDim, W, false},
    {bit(Arch::Qwen2), "blk.{}.attn_k.bias", "model.layers.{}.self_attn.k_proj.bias", D::KVDim, 1, D::KVDim, W, false},
    {bit(Arch::Qwen2), "blk.{}.attn_v.bias", "model.layers.{}.self_attn.v_proj.bias", D::KVDim, 1, D::KVDim, W, false},
    {kQkNorm, "blk.{}.attn_q_norm.weight", "model.layers.{}.self_attn.q_norm.weight", D::HeadDim, 1, D::HeadDim, N, false},
    {kQkNorm, "blk.{}.attn_k_norm.weight", "model.layers.{}.self_attn.k_norm.weight", D::HeadDim, 1, D::HeadDim, N, false},
    {kPreNormFfn, "blk.{}.ffn_norm.weight", "model.layers.{}.post_attention_layernorm.weight", D::Embd, 1, D::Embd, N, false},
    {kGemma23, "blk.{}.post_attention_norm.weight", "model.layers.{}.post_attention_layernorm.weight", D::Embd, 1, D::Embd, N, false},
    {kGemma23, "blk.{}.ffn_norm.weight", "model.layers.{}.pre_feedforward_layernorm.weight", D::Embd, 1, D::Embd, N, false},
    {kGemma23, "blk.{}.post_ffw_norm.weight", "model.layers.{}.post_feedforward_layernorm.weight", D::Embd, 1, D::Embd, N, false},
    {kAll, "blk.{}.ffn_gate.weight", "model.layers.{}.mlp.gate_proj.weight", D::Embd, 2, D::Ff, W, false},
    {kAll, "blk.{}.ffn_up.weight", "model.layers.{}.mlp.up_proj.weight", D::Embd, 2, D::Ff, W, false},
    {kAll, "blk.{}.ffn_down.weight", "model.layers.{}.mlp.down_proj.weight", D::Ff, 2, D::Embd, W, false},
};

std::string with_layer(std::string_view pattern, int64_t il) {
    std::string out(pattern);
    if (size_t at = out.find("{}"); at != std::string::npos) out.replace(at, 2, std::to_string(il));
    return out;
}

TensorSpec make(const Row & row, const HParams & hp, int64_t il) {
    TensorSpec s;
    s.name = with_layer(row.name, il);
    s.hf_name = with_layer(row.hf_name, il);
    s.ne.push_back(resolve(row.d0, hp));
    if (row.n_dims == 2) s.ne.push_back(resolve(row.d1, hp));
    s.role = row.role;
    s.optional = row.optional;
    s.layer = il;
    return s;
}

}  // namespace

std::vector<TensorSpec> tensor_specs(const HParams & hp) {
    std::vector<TensorSpec> out;
    for (const Row & row : kGlobal) {
        if (row.archs & bit(hp.arch)) out.push_back(make(row, hp, -1));
    }
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        for (const Row & row : kLayer) {
            if (row.archs & bit(hp.arch)) out.push_back(make(row, hp, il));
        }
    }
    return out;
}

}  // namespace quanta::arch
