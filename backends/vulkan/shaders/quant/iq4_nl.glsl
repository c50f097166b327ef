// shaders/quant/iq4_nl.glsl — IQ4_NL, 32 weights in 18 bytes (quant/legacy.h BlockIQ4_NL):
//   [0..2) d fp16, [2..18) nibbles as Q4_0 indexing kIQ4Values; w = d * kIQ4Values[q].
#include "quant/common.glsl"
#define QK 32u
#define QB 18u
float dq(uint base, uint e) {
    const uint byte = wb8(base + 2u + (e & 15u));
    return wf16(base) * kIQ4Values[e < 16u ? (byte & 0xFu) : (byte >> 4)];
}
vec4 dq4(uint base, uint e) {
    return wf16(base) * iq4_values4(nibbles4u(wb32(base + 2u + (e & 15u)), e >= 16u));
}
