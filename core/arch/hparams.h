// core/arch/hparams.h — everything the maths of a model needs, read from the file's metadata.
//
// Variation between architectures lives here as data (activation, norm offset, soft-caps, sliding
// window pattern, rope bases and scaling, query scale), so a runtime fix never needs a re-conversion:
// the converter writes these keys once (write_hparams) and the runtime reads them (read_hparams).
// Whether a model has q/k/v biases, qk-norm or Gemma-2-style post-norms is told by the presence of
// those tensors (core/arch/tensors.h), not by flags that could disagree with them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "formats/metadata.h"
#include "core/ops.h"
#include "formats/qnt.h"
#include "quant/status.h"

namespace quanta::arch {

enum class Arch { Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3 };
using core::Activation;   // Silu, GeluTanh, GeluErf: the glu op's own enum
using core::RopeScaling;  // None, Linear, Llama3: the rope op's own enum
// Which dimensions rotate together: NeoX/HF (i, i + n_rot/2) or GPT-J/llama.cpp-permuted (2i, 2i+1).
enum class RopePairing { Neox, Adjacent };

struct Rope {
    float base = 10000.0f;
    RopeScaling scaling = RopeScaling::None;
    float factor = 1.0f;                 // linear: positions / factor; llama3: low-frequency divisor
    float low_freq_factor = 1.0f;        // llama3 only
    float high_freq_factor = 4.0f;       // llama3 only
    int64_t original_ctx = 0;            // llama3 only: original_max_position_embeddings
};

struct HParams {
    Arch arch = Arch::Llama;
    int64_t n_vocab = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;                // may differ from n_embd / n_head (Gemma, Qwen3)
    int64_t n_ff = 0;
    int64_t n_ctx_train = 0;

    float norm_eps = 1e-5f;
    float norm_offset = 0.0f;            // RMSNorm scales by (norm_offset + w): 1 for Gemma's HF weights
    Activation activation = Activation::Silu;
    float embd_scale = 1.0f;             // token embeddings are multiplied by this (Gemma: sqrt(n_embd))
    float query_scale = 0.0f;            // QK^T scale (1/sqrt(head_dim), Gemma 2/3: 1/sqrt(query_pre_attn_scalar))
    float attn_softcap = 0.0f;           // c in c*tanh(x/c) on attention logits; 0 = off
    float final_softcap = 0.0f;          // the same on the output logits; 0 = off

    int64_t sliding_window = 0;          // tokens a sliding layer sees (including itself); 0 = none
    std::vector<uint8_t> layer_sliding;  // n_layer entries: 1 = sliding-window layer

    int64_t n_rot = 0;                   // rotated dims per head (partial rotary); = head_dim normally
    RopePairing rope_pairing = RopePairing::Neox;
    Rope rope;                           // global (full-attention) layers
    Rope rope_local;                     // sliding-window layers (Gemma 3 uses another base)

    bool is_sliding(int64_t il) const { return !layer_sliding.empty() && layer_sliding[size_t(il)] != 0; }
    const Rope & rope_for(int64_t il) const { return is_sliding(il) ? rope_local : rope; }

    // Consistency of the numbers (positive sizes, heads divide, layer pattern length...).
    Status validate() const;
};

std::string_view arch_name(Arch a);                 // "llama", "gemma2", ...
Result<Arch> arch_from_name(std::string_view name);  // error lists the supported ones
std::string supported_arch_names();                 // "llama, mistral, ..."
std::string_view activation_name(Activation a);
std::string_view rope_scaling_name(RopeScaling s);

// The metadata keys (docs/format.md lists them) under "model.".
Status write_hparams(formats::QntWriter & w, const HParams & hp);
Result<HParams> read_hparams(const formats::Metadata & md);

}  // namespace quanta::arch
