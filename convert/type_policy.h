// convert/type_policy.h — which quant type each tensor gets: one type for all, or a mix.
//
// A mix gives more bits where measurements (and llama.cpp's long experience) show error hurts
// most: the output head, attention V and FFN down in the first and last layers and every third
// layer between, the embeddings. 1-D tensors (norms, biases) always stay F32. A row length the
// chosen block size does not divide falls back to a type of similar size with 32-element blocks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/arch/tensors.h"
#include "quant/status.h"
#include "quant/types.h"

namespace quanta::convert {

struct TypePolicy {
    std::string name;        // as given: "q4_k_m", "f16", "keep"
    bool keep = false;       // GGUF import: keep every tensor's own type (bit-exact)
    Type base = Type::F16;   // most 2-D tensors
    Type more = Type::F16;   // "more bits" tensors of a mix (attn_v / ffn_down in chosen layers)
    Type output = Type::F16; // output head (and tied embeddings' copy, if any)
    Type embed = Type::F16;  // token embeddings
    bool mix = false;
    bool more_v_all = false; // a mix that gives attn_v `more` in every layer (the QT mixes)
    // Per-class overrides after the base ("q4_k,ffn_down=q6_k,output=q8_0"): tensor class (the name
    // without "blk.N." and ".weight": "ffn_down", "attn_v", "output", "token_embd") -> type.
    // They win over the mix rules; fit_row still applies.
    std::vector<std::pair<std::string, Type>> overrides;
};

// "f32", "f16", "bf16", any quant type name ("q8_0", "q4_k", "iq4_xs"), a mix ("q4_k_m", "q4_k_s",
// "q5_k_m", "q3_k_m", "qt3_m", "qt2_m"), or "keep"; then optionally ",CLASS=TYPE" overrides
// (not with "keep"). The error lists the choices.
Result<TypePolicy> parse_type_policy(std::string_view name);
std::string type_policy_choices();

// "blk.3.ffn_down.weight" -> "ffn_down"; "output.weight" -> "output".
std::string tensor_class(std::string_view name);

// The type for one tensor. `n_layer` places layer-dependent rules.
Type choose_type(const TypePolicy & p, const arch::TensorSpec & spec, int64_t n_layer);

// `want`, or the fallback with 32-element blocks when `ncols` is not a multiple of its block size
// (F16 when not even that divides).
Type fit_row(Type want, int64_t ncols);

}  // namespace quanta::convert
