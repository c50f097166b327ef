// shaders/quant/q4_0.glsl — Q4_0, 32 weights in 18 bytes (quant/legacy.h BlockQ4_0):
//   [0..2) d fp16, [2..18) qs: element j in the low nibble of qs[j], j + 16 in the high nibble
//   of qs[j]; w = d * (q - 8).
#include "quant/common.glsl"
#define QK 32u
#define QB 18u
float dq(uint base, uint e) {
    const uint byte = wb8(base + 2u + (e & 15u));
    const int q = int(e < 16u ? (byte & 0xFu) : (byte >> 4));
    return wf16(base) * float(q - 8);
}
// Elements e..e+3 (e % 4 == 0): one word of nibbles, one scale.
vec4 dq4(uint base, uint e) {
    return wf16(base) * (nibbles4(wb32(base + 2u + (e & 15u)), e >= 16u) - 8.0);
}
