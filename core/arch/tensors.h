// core/arch/tensors.h — the one tensor-name table of every architecture. It drives loading, shape
// checks and the converter's name map (Hugging Face name -> quanta name), so the three never drift.
//
// quanta's tensor names are llama.cpp's GGUF names ("blk.3.attn_q.weight"), so GGUF files import
// without renaming. Shapes are in ggml order, dim 0 innermost: a PyTorch Linear weight [out, in]
// has ne = {in, out}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/arch/hparams.h"

namespace quanta::arch {

enum class TensorRole {
    Weight,      // a matrix or vector used as is
    Norm,        // an RMSNorm scale: the runtime applies (norm_offset + w)
};

struct TensorSpec {
    std::string name;            // "blk.3.attn_q.weight"
    std::string hf_name;         // "model.layers.3.self_attn.q_proj.weight"
    std::vector<int64_t> ne;     // expected shape, dim 0 innermost
    TensorRole role = TensorRole::Weight;
    bool optional = false;       // may be absent (output.weight when embeddings are tied)
    int64_t layer = -1;          // -1 for tensors outside the blocks
};

// Every tensor a model of this architecture and size may have. Tensors that only some variants
// carry (q/k/v biases, qk-norm, post-norms) are listed only for the architectures that have them;
// those architectures require them.
std::vector<TensorSpec> tensor_specs(const HParams & hp);

}  // namespace quanta::arch
