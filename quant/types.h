// quant/types.h — tensor types and their traits, generated from quant/types.def.
//
// Every type has a scalar reference codec (quantize_row / dequantize_row / dot_row). These are the
// oracle for every SIMD, CUDA and Vulkan version: fast kernels live in quant/dispatch.h and are
// tested to equal these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace quanta {

enum class Type : uint32_t {
#define QUANT_TYPE(name, id, block, bytes, dot_with, tol) name = id,
#include "quant/types.def"
#undef QUANT_TYPE
};

namespace quant {

// Converts n floats to `type` rows. `importance` (n values, may be null) weights each element's
// squared error in the quantizer's search (imatrix); reference quantizers are deterministic.
using QuantizeRowFn = void (*)(const float * src, void * dst, int64_t n, const float * importance);
// Decodes n elements (a whole number of blocks) to float.
using DequantizeRowFn = void (*)(const void * src, float * dst, int64_t n);
// Dot product of a weight row (this type) with an activation row of type dot_with, n elements.
using DotRowFn = float (*)(const void * weights, const void * activations, int64_t n);
// One weight row against n_act (1..4) activation rows at activations + k * act_stride bytes:
// out[k] = the DotRowFn of the same kernel set on row k (bit for bit), each weight block decoded once.
using DotRowsFn = void (*)(const void * weights, const void * activations, size_t act_stride, int n_act,
                           float * out, int64_t n);

struct TypeTraits {
    Type type;
    const char * name;        // as the format spells it: "Q4_K"
    uint32_t id;              // stable on-disk id
    int64_t block_size;       // elements per block
    size_t block_bytes;       // bytes per block
    Type dot_with;            // activation type of dot_row; its block size divides ours (QT4 512 / Q8_KH 256)
    float max_rel_rmse;       // round-trip tolerance on unit Gaussian data
    bool activation_only;     // Q8_1, Q8_K, Q8_KH: produced from activations, never stored as weights
    QuantizeRowFn quantize_row;
    DequantizeRowFn dequantize_row;
    DotRowFn dot_row;

    double bits_per_weight() const { return 8.0 * double(block_bytes) / double(block_size); }
};

const TypeTraits & traits(Type type);
std::span<const TypeTraits> all_types();
std::optional<Type> type_from_id(uint32_t id);
std::optional<Type> type_from_name(std::string_view name);  // case-insensitive

// Bytes of a row of n elements; n must be a multiple of the block size (checked).
size_t row_bytes(Type type, int64_t n);
bool is_quantized(Type type);

// Quantizes a row-major matrix: src is [ncols, nrows] (dim 0 = ncols innermost), dst receives
// nrows rows of row_bytes(type, ncols) each. importance (ncols values, may be null) is the
// imatrix: per input column E[a^2]. Rows are split over n_threads std::threads; the bytes do not
// depend on n_threads. ncols must be a multiple of the block size (checked).
void quantize_rows(Type type, const float * src, void * dst, int64_t nrows, int64_t ncols,
                   const float * importance, int n_threads);

}  // namespace quant
}  // namespace quanta
