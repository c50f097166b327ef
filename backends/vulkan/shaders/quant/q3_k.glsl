// shaders/quant/q3_k.glsl — Q3_K, 256 weights in 110 bytes (quant/kquants.h BlockQ3_K):
//   [0..32) hmask: bit e/32 of hmask[e % 32] set means level >= 0; [32..96) qs: low 2 bits as
//   Q2_K; [96..108) 16 6-bit scales (+32 bias), packing as q3k_scale(); [108..110) d fp16;
//   w = d * (sc - 32) * (q - 4 * !hbit).
#include "quant/common.glsl"
#define QK 256u
#define QB 110u
int q3k_scale(uint base, uint i) {
    const uint lo = i < 8u ? (wb8(base + 96u + i) & 0xFu) : (wb8(base + 96u + i - 8u) >> 4);
    const uint hi = (wb8(base + 104u + (i & 3u)) >> (2u * (i >> 2))) & 3u;
    return int(lo | (hi << 4)) - 32;
}
float dq(uint base, uint e) {
    const uint lo = (wb8(base + 32u + 32u * (e >> 7) + (e & 31u)) >> (2u * ((e >> 5) & 3u))) & 3u;
    const uint hi = (wb8(base + (e & 31u)) >> (e >> 5)) & 1u;
    const int q = int(lo) - (hi != 0u ? 0 : 4);
    return wf16(base + 108u) * float(q3k_scale(base, e >> 4)) * float(q);
}
vec4 dq4(uint base, uint e) {
    const uint v = wb32(base + 32u + 32u * (e >> 7) + (e & 31u)) >> (2u * ((e >> 5) & 3u));
    const uint h = wb32(base + (e & 31u)) >> (e >> 5);
    const vec4 lo = vec4(float(v & 3u), float((v >> 8) & 3u), float((v >> 16) & 3u), float((v >> 24) & 3u));
    const vec4 hi = vec4(float(h & 1u), float((h >> 8) & 1u), float((h >> 16) & 1u), float((h >> 24) & 1u));
    return wf16(base + 108u) * float(q3k_scale(base, e >> 4)) * (lo + 4.0 * hi - 4.0);
}
