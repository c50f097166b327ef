// shaders/quant/q5_k.glsl — Q5_K, 256 weights in 176 bytes (quant/kquants.h BlockQ5_K):
//   [0..2) d fp16, [2..4) dmin fp16, [4..16) scales/mins as Q4_K, [16..48) qh: bit e/32 of
//   qh[e % 32] is bit 4 of the level, [48..176) low nibbles as Q4_K; w = d * sc * q - dmin * m.
#include "quant/common.glsl"
#define QK 256u
#define QB 176u
#include "quant/k4_scales.glsl"
float dq(uint base, uint e) {
    uint sc, m;
    k4_scale_min(base + 4u, e >> 5, sc, m);
    const uint byte = wb8(base + 48u + 32u * (e >> 6) + (e & 31u));
    const uint lo = (e & 32u) != 0u ? (byte >> 4) : (byte & 0xFu);
    const uint hi = (wb8(base + 16u + (e & 31u)) >> (e >> 5)) & 1u;
    const float dl = wf16(base) * float(sc), ml = wf16(base + 2u) * float(m);
    precise float w = dl * float(lo | (hi << 4)) - ml;
    return w;
}
vec4 dq4(uint base, uint e) {
    uint sc, m;
    k4_scale_min(base + 4u, e >> 5, sc, m);
    const vec4 lo = nibbles4(wb32(base + 48u + 32u * (e >> 6) + (e & 31u)), (e & 32u) != 0u);
    const uint h = wb32(base + 16u + (e & 31u)) >> (e >> 5);
    const vec4 hi = vec4(float(h & 1u), float((h >> 8) & 1u), float((h >> 16) & 1u), float((h >> 24) & 1u));
    const float dl = wf16(base) * float(sc), ml = wf16(base + 2u) * float(m);
    precise vec4 w = dl * (lo + 16.0 * hi) - ml;
    return w;
}
