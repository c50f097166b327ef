// shaders/quant/q4_k.glsl — Q4_K, 256 weights in 144 bytes (quant/kquants.h BlockQ4_K):
//   [0..2) d fp16, [2..4) dmin fp16, [4..16) 8 6-bit scales + 8 6-bit mins (k4_scale_min()),
//   [16..144) qs: element e = 64c + r in qs[32c + r % 32], low nibble if r < 32 else high;
//   sub-block e / 32; w = d * sc * q - dmin * m.
#include "quant/common.glsl"
#define QK 256u
#define QB 144u
#include "quant/k4_scales.glsl"
float dq(uint base, uint e) {
    uint sc, m;
    k4_scale_min(base + 4u, e >> 5, sc, m);
    const uint byte = wb8(base + 16u + 32u * (e >> 6) + (e & 31u));
    const float q = float((e & 32u) != 0u ? (byte >> 4) : (byte & 0xFu));
    const float dl = wf16(base) * float(sc), ml = wf16(base + 2u) * float(m);
    precise float w = dl * q - ml;
    return w;
}
vec4 dq4(uint base, uint e) {
    uint sc, m;
    k4_scale_min(base + 4u, e >> 5, sc, m);
    const vec4 q = nibbles4(wb32(base + 16u + 32u * (e >> 6) + (e & 31u)), (e & 32u) != 0u);
    const float dl = wf16(base) * float(sc), ml = wf16(base + 2u) * float(m);
    precise vec4 w = dl * q - ml;
    return w;
}
