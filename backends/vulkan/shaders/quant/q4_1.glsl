// shaders/quant/q4_1.glsl — Q4_1, 32 weights in 20 bytes (quant/legacy.h BlockQ4_1):
//   [0..2) d fp16, [2..4) m fp16, [4..20) qs nibbles as Q4_0; w = d * q + m.
#include "quant/common.glsl"
#define QK 32u
#define QB 20u
float dq(uint base, uint e) {
    const uint byte = wb8(base + 4u + (e & 15u));
    const float q = float(e < 16u ? (byte & 0xFu) : (byte >> 4));
    precise float w = wf16(base) * q + wf16(base + 2u);
    return w;
}
vec4 dq4(uint base, uint e) {
    precise vec4 w = wf16(base) * nibbles4(wb32(base + 4u + (e & 15u)), e >= 16u) + wf16(base + 2u);
    return w;
}
