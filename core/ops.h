// core/ops.h — the op enum, names and arities generated from core/ops.def, and each op's typed
// parameter struct. Node::params<RopeParams>() returns the struct; a wrong type aborts.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

namespace quanta::core {

enum class Op : uint8_t {
#define OP(name, str, n_src, n_opt, params) name,
#include "core/ops.def"
#undef OP
};

inline constexpr int kOpCount = 0
#define OP(name, str, n_src, n_opt, params) +1
#include "core/ops.def"
#undef OP
    ;

inline constexpr int kMaxSrc = 5;

std::string_view op_name(Op op);
int op_arity(Op op);      // the most sources the op takes
int op_min_arity(Op op);  // the fewest: op_arity minus its optional trailing sources

struct NoParams {};

// Precision of a mul_mat's activations. 8: a backend may round each activation row to 8-bit
// blocks (the CPU backend's dot_with types: Q8_0 / Q8_1 per 32 values, Q8_K per 256). 16: at least
// ~15 bits per value (the CPU backend splits each row into two 8-bit rows, x ~ hi + lo, and adds
// both dots; docs/backends.md). Backends that keep activations in f32 (Vulkan, CUDA) meet both.
struct MulMatParams {
    int32_t act_bits = 8;  // 8 or 16
};

struct ScaleParams {
    float s = 1.0f;
};

struct RmsNormParams {
    float eps = 1e-6f;
};

enum class RopeScaling : uint8_t { None, Linear, Llama3 };

// ref: transformers modeling_rope_utils (default, linear, llama3).
struct RopeParams {
    int32_t n_rot = 0;             // rotated dims per head (even, <= head_dim); the rest pass through
    bool neox = false;             // pairs (i, i + n_rot/2) (NeoX, Gemma, Qwen) instead of (2i, 2i + 1) (GPT-J)
    float base = 10000.0f;         // theta base; per call, so local and global layers may differ
    RopeScaling scaling = RopeScaling::None;
    float factor = 1.0f;           // linear: position / factor; llama3: the long-wavelength divisor
    float low_freq_factor = 1.0f;  // llama3 only
    float high_freq_factor = 4.0f; // llama3 only
    int32_t original_context = 8192;  // llama3 only: original_max_position_embeddings
};

// Key slot j of the cache holds the token at position kpos[j] (the optional kpos source; -1 marks
// an empty slot; without kpos, slot j holds position j). Query i (position pos[i]) sees slot j iff
//   kpos[j] >= 0 && (!causal || kpos[j] <= pos[i]) && (window == 0 || pos[i] - kpos[j] < window).
// Slots may be in any order (a ring buffer); masked slots are skipped, never read. The same
// visibility rule holds for soft_max.
struct AttentionParams {
    float scale = 1.0f;    // multiplies q·k (1/sqrt(head_dim), or Gemma's query_pre_attn_scalar)
    float softcap = 0.0f;  // > 0: logits become c * tanh(logits / c) before the mask (Gemma 2)
    int32_t window = 0;    // sliding window in positions; 0 = unlimited
    bool causal = true;
};

struct SoftMaxParams {
    int32_t window = 0;
    bool causal = true;
};

struct GeluParams {
    bool erf = false;  // exact erf form; false: the tanh approximation (gelu_pytorch_tanh)
};

enum class Activation : uint8_t { Silu, GeluTanh, GeluErf };

struct GluParams {
    Activation act = Activation::Silu;
};

struct SoftCapParams {
    float cap = 30.0f;
};

using OpParams = std::variant<NoParams, MulMatParams, ScaleParams, RmsNormParams, RopeParams, AttentionParams, SoftMaxParams,
                              GeluParams, GluParams, SoftCapParams>;

}  // namespace quanta::core
