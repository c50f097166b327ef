// quant/random_blocks.h — random yet valid weight blocks of any quantized type, for kernel tests and
// benchmarks: every bit pattern of the packed fields (e.g. Q8_0's -128), with the fp16 scale
// fields overwritten by finite, moderate values so that no NaN or infinity reaches a kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quant/types.h"

namespace quanta::quant {

// Byte offsets of the fp16 scale fields in one block of `type`; empty for float types and for the
// activation types (their scales are f32 or derived), which random_blocks() does not fill.
std::vector<int> fp16_scale_offsets(Type type);

// `bytes` (whole blocks) of random `type` blocks from seed; each fp16 scale field is
// 0.001 + max_scale * u, u in [0, 1) in steps of 1/1000. Requires fp16_scale_offsets(type) to be
// non-empty. Deterministic.
void random_blocks(Type type, void * dst, size_t bytes, uint64_t seed, float max_scale);

}  // namespace quanta::quant
