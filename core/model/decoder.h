// core/model/decoder.h — the forward pass of the decoder-only transformer families (Llama, Mistral,
// Qwen 2/3, Gemma 1/2/3) as one graph builder. Family differences are HParams data and the
// presence of tensors (biases, qk-norm, post-norms), as gemma.cpp's LayerConfig does it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/model/model.h"

namespace quanta::model {

struct DecoderShape {
    int64_t n_tokens = 1;     // tokens evaluated by one run (a prompt chunk, or 1 when decoding)
    int64_t n_ctx = 0;        // KV cache length in positions (global layers: slot p holds position p)
    int64_t n_swa = 0;        // > 0: sliding-window layers keep a cache of n_swa slots instead (a
                              //   ring; the session picks each token's slot and tracks the positions)
    Type kv_type = Type::F16;
    bool all_logits = false;  // logits of every token (perplexity, oracle tests) or only the last
    int32_t act_bits = 8;     // activation precision of every weight mul_mat (core::MulMatParams): 8 or 16
};

// The graph and its external tensors, which the caller binds before running.
struct DecoderGraph {
    core::Graph graph;
    core::Tensor tokens;                            // I32 [n_tokens]: token ids
    core::Tensor pos;                               // I32 [n_tokens]: their positions
    core::Tensor logits;                            // F32 [n_vocab, n_tokens or 1]
    std::map<std::string, core::Tensor> weights;    // by tensor-table name
    std::vector<core::Tensor> k_cache, v_cache;     // per layer: kv_type [head_dim * n_head_kv, n_ctx or n_swa]
    core::Tensor swa_slots;                         // I32 [n_tokens]: each token's ring slot (n_swa > 0 only)
    core::Tensor swa_kpos;                          // I32 [n_swa]: position in each ring slot, -1 empty (n_swa > 0)
};

// The graph that moves cached keys and values after a context shift (Session::context_shift): for
// each layer, rows `src` of the cache are read, K is rotated by `delta` positions (RoPE composes,
// so rope(k, p) rotated by d equals rope(k, p + d)), and both are written to rows `dst`. Global
// layers use the *_global inputs, ring-buffer sliding layers the *_swa ones (n_swa > 0).
struct ShiftGraph {
    core::Graph graph;
    core::Tensor src_global, dst_global, delta_global;  // I32 [n_move_global]
    core::Tensor src_swa, dst_swa, delta_swa;           // I32 [n_move_swa] (absent when 0)
    std::vector<core::Tensor> k_cache, v_cache;         // per layer, as in DecoderGraph
};

// True when layer il uses the sliding-window ring buffer under `shape`.
bool uses_ring(const Model & model, const DecoderShape & shape, int64_t il);

Result<ShiftGraph> build_shift(const Model & model, const DecoderShape & shape, int64_t n_move_global,
                               int64_t n_move_swa);

Result<DecoderGraph> build_decoder(const Model & model, const DecoderShape & shape);

}  // namespace quanta::model
