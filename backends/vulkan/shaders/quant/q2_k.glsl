// shaders/quant/q2_k.glsl — Q2_K, 256 weights in 84 bytes (quant/kquants.h BlockQ2_K):
//   [0..16) scales: sub-block e/16, low nibble scale, high nibble min; [16..80) qs: element
//   e = 128n + 32j + l at bits 2j..2j+1 of qs[32n + l]; [80..82) d fp16; [82..84) dmin fp16;
//   w = d * sc * q - dmin * m.
#include "quant/common.glsl"
#define QK 256u
#define QB 84u
float dq(uint base, uint e) {
    const uint s = wb8(base + (e >> 4));
    const uint q = (wb8(base + 16u + 32u * (e >> 7) + (e & 31u)) >> (2u * ((e >> 5) & 3u))) & 3u;
    precise float w = wf16(base + 80u) * float(s & 0xFu) * float(q) - wf16(base + 82u) * float(s >> 4);
    return w;
}
vec4 dq4(uint base, uint e) {
    const uint s = wb8(base + (e >> 4));
    const uint v = wb32(base + 16u + 32u * (e >> 7) + (e & 31u)) >> (2u * ((e >> 5) & 3u));
    const vec4 q = vec4(float(v & 3u), float((v >> 8) & 3u), float((v >> 16) & 3u), float((v >> 24) & 3u));
    precise vec4 w = wf16(base + 80u) * float(s & 0xFu) * q - wf16(base + 82u) * float(s >> 4);
    return w;
}
