// shaders/quant/q8_0.glsl — Q8_0, 32 weights in 34 bytes (quant/legacy.h BlockQ8_0):
//   [0..2) d fp16, [2..34) int8 levels; w = d * q.
#include "quant/common.glsl"
#define QK 32u
#define QB 34u
float dq(uint base, uint e) { return wf16(base) * float(wi8(base + 2u + e)); }
vec4 dq4(uint base, uint e) {
    const uint v = wb32(base + 2u + e);
    const vec4 q = vec4(float(int(v << 24) >> 24), float(int(v << 16) >> 24), float(int(v << 8) >> 24), float(int(v) >> 24));
    return wf16(base) * q;
}
