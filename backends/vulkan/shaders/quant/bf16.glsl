// shaders/quant/bf16.glsl — BF16 (quant/fp.h): the top 16 bits of an f32.
#include "quant/common.glsl"
#define QK 1u
#define QB 2u
#define QUANTA_SCALAR 1
float dq(uint base, uint e) { return uintBitsToFloat(wb16(base) << 16); }
