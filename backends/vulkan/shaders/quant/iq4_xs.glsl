// shaders/quant/iq4_xs.glsl — IQ4_XS, 256 weights in 136 bytes (quant/kquants.h BlockIQ4_XS):
//   [0..2) d fp16, [2..4) scales_h: bits 2b..2b+1 = bits 4..5 of sub-block b's scale,
//   [4..8) scales_l: nibble b % 2 of byte b / 2 = bits 0..3, [8..136) qs: e = 32b + r in
//   qs[16b + r % 16], low nibble if r < 16 else high; w = d * (ls - 32) * kIQ4Values[q].
#include "quant/common.glsl"
#define QK 256u
#define QB 136u
float iq4xs_dl(uint base, uint b) {
    const uint lo = (wb8(base + 4u + (b >> 1)) >> (4u * (b & 1u))) & 0xFu;
    const uint hi = (wb16(base + 2u) >> (2u * b)) & 3u;
    return wf16(base) * float(int(lo | (hi << 4)) - 32);
}
float dq(uint base, uint e) {
    const uint byte = wb8(base + 8u + 16u * (e >> 5) + (e & 15u));
    return iq4xs_dl(base, e >> 5) * kIQ4Values[(e & 16u) != 0u ? (byte >> 4) : (byte & 0xFu)];
}
vec4 dq4(uint base, uint e) {
    return iq4xs_dl(base, e >> 5) * iq4_values4(nibbles4u(wb32(base + 8u + 16u * (e >> 5) + (e & 15u)), (e & 16u) != 0u));
}
