// shaders/quant/f32.glsl — F32 (quant/fp.h): one element per 4-byte "block".
#include "quant/common.glsl"
#define QK 1u
#define QB 4u
#define QUANTA_SCALAR 1
float dq(uint base, uint e) { return uintBitsToFloat(w_u32[base >> 2]); }
