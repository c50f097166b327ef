// shaders/quant/q6_k.glsl — Q6_K, 256 weights in 210 bytes (quant/kquants.h BlockQ6_K):
//   [0..128) ql, [128..192) qh, [192..208) int8 scales (sub-block e / 16), [208..210) d fp16.
//   e = 128n + 32k + l: low 4 bits = nibble (k < 2 ? low : high) of ql[64n + 32(k & 1) + l],
//   high 2 bits = bits 2k..2k+1 of qh[32n + l]; w = d * sc * (q - 32).
#include "quant/common.glsl"
#define QK 256u
#define QB 210u
float dq(uint base, uint e) {
    const uint n = e >> 7, k = (e >> 5) & 3u, l = e & 31u;
    const uint lo = wb8(base + 64u * n + 32u * (k & 1u) + l);
    const uint nib = k < 2u ? (lo & 0xFu) : (lo >> 4);
    const uint hi = (wb8(base + 128u + 32u * n + l) >> (2u * k)) & 3u;
    return wf16(base + 208u) * float(wi8(base + 192u + (e >> 4))) * float(int(nib | (hi << 4)) - 32);
}
vec4 dq4(uint base, uint e) {
    const uint n = e >> 7, k = (e >> 5) & 3u, l = e & 31u;
    const vec4 lo = nibbles4(wb32(base + 64u * n + 32u * (k & 1u) + l), k >= 2u);
    const uint h = wb32(base + 128u + 32u * n + l) >> (2u * k);
    const vec4 hi = vec4(float(h & 3u), float((h >> 8) & 3u), float((h >> 16) & 3u), float((h >> 24) & 3u));
    return wf16(base + 208u) * float(wi8(base + 192u + (e >> 4))) * (lo + 16.0 * hi - 32.0);
}
