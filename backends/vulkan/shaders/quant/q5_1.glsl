// shaders/quant/q5_1.glsl — Q5_1, 32 weights in 24 bytes (quant/legacy.h BlockQ5_1):
//   [0..2) d fp16, [2..4) m fp16, [4..8) qh as Q5_0, [8..24) low nibbles; w = d * q + m.
#include "quant/common.glsl"
#define QK 32u
#define QB 24u
float dq(uint base, uint e) {
    const uint byte = wb8(base + 8u + (e & 15u));
    const uint lo = e < 16u ? (byte & 0xFu) : (byte >> 4);
    const uint hi = (wb32(base + 4u) >> e) & 1u;
    precise float w = wf16(base) * float(lo | (hi << 4)) + wf16(base + 2u);
    return w;
}
vec4 dq4(uint base, uint e) {
    const uint h = wb32(base + 4u) >> e;
    const vec4 hi = vec4(float(h & 1u), float((h >> 1) & 1u), float((h >> 2) & 1u), float((h >> 3) & 1u));
    precise vec4 w = wf16(base) * (nibbles4(wb32(base + 8u + (e & 15u)), e >= 16u) + 16.0 * hi) + wf16(base + 2u);
    return w;
}
