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
    int64_t n_ctx = 0;        // KV cache length in positions
    Type kv_type = Type::F16;
    bool all_logits = false;  // logits of every token (perplexity, oracle tests) or only the last
};

// The graph and its external tensors, which the caller binds before running.
struct DecoderGraph {
    core::Graph graph;
    core::Tensor tokens;                            // I32 [n_tokens]: token ids
    core::Tensor pos;                               // I32 [n_tokens]: their positions
    core::Tensor logits;                            // F32 [n_vocab, n_tokens or 1]
    std::map<std::string, core::Tensor> weights;    // by tensor-table name
    std::vector<core::Tensor> k_cache, v_cache;     // per layer: kv_type [head_dim * n_head_kv, n_ctx]
};

Result<DecoderGraph> build_decoder(const Model & model, const DecoderShape & shape);

}  // namespace quanta::model
