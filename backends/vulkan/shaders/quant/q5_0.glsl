// shaders/quant/q5_0.glsl — Q5_0, 32 weights in 22 bytes (quant/legacy.h BlockQ5_0):
//   [0..2) d fp16, [2..6) qh uint32 LE: bit j = bit 4 of element j, [6..22) low nibbles as Q4_0;
//   w = d * (q - 16).
#include "quant/common.glsl"
#define QK 32u
#define QB 22u
float dq(uint base, uint e) {
    const uint byte = wb8(base + 6u + (e & 15u));
    const uint lo = e < 16u ? (byte & 0xFu) : (byte >> 4);
    const uint hi = (wb32(base + 2u) >> e) & 1u;
    return wf16(base) * float(int(lo | (hi << 4)) - 16);
}
vec4 dq4(uint base, uint e) {
    const uint h = wb32(base + 2u) >> e;
    const vec4 hi = vec4(float(h & 1u), float((h >> 1) & 1u), float((h >> 2) & 1u), float((h >> 3) & 1u));
    return wf16(base) * (nibbles4(wb32(base + 6u + (e & 15u)), e >= 16u) + 16.0 * hi - 16.0);
}
