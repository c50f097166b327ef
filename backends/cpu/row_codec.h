// backends/cpu/row_codec.h — the per-type row functions the CPU kernels use: decode to f32,
// encode from f32, and the weight . activation dot with the type activations are quantized to.
// F32/F16 use the backend's own SIMD (vec.h); the block formats use quant's dispatched kernels.
#pragma once

#include "quant/dispatch.h"
#include "quant/types.h"

namespace quanta::backends::cpu {

struct RowCodec {
    Type type;
    Type dot_with;                          // activation type of dot
    quant::DotRowFn dot;                    // (weight row of `type`, activation row of dot_with, n)
    quant::DotRowsFn dot_rows;              // one weight row x up to quant::kMaxDotRows activation rows,
                                            // same floats as dot; null where quant has no such kernel
    quant::MatVecFn dot_wrows;              // any number of weight rows x one activation row
                                            // (decode; quant::mat_vec's contract); null where none
    quant::QuantizeRowFn quantize_dot_with; // f32 -> a dot_with row (null when dot_with is F32)
    quant::DequantizeRowFn to_f32;          // a `type` row -> f32
    quant::QuantizeRowFn from_f32;          // f32 -> a `type` row
};

// Null for types without codecs (I32, unknown ids).
const RowCodec * row_codec(Type type);

}  // namespace quanta::backends::cpu
