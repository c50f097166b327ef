// shaders/quant/f16.glsl — F16 (quant/fp.h): IEEE binary16 bits, one element per 2-byte block.
#include "quant/common.glsl"
#define QK 1u
#define QB 2u
#define QUANTA_SCALAR 1
float dq(uint base, uint e) { return wf16(base); }
