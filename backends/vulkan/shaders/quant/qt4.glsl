// shaders/quant/qt4.glsl — QT4, 512 weights in 272 bytes (quant/qt4.h BlockQT4), decoded in the
// ROTATED domain: the caller either rotates the activations (mul_mat: w . a = (R w) . (R a)) or
// un-rotates each 256 decoded values (get_rows; quant/qt4.cpp unrotate_256).
//   [0..2) d fp16, [2..10) scales_l: nibble j % 2 of byte j / 2, [10..14) scales_h: bits
//   2(j % 4).. of byte j / 4, [14..16) signs: bit j = sub-block j's scale is negative,
//   [16..272) qs: e = 32j + i at byte 16 + 16j + i % 16, low nibble if i < 16 else high;
//   w_rot = d * (+-m_j) * kIQ4Values[q].
#include "quant/common.glsl"
#define QK 512u
#define QB 272u
#define QUANTA_ROTATED 1
#include "quant/qt_header.glsl"
float dq(uint base, uint e) {
    const uint byte = wb8(base + 16u + 16u * (e >> 5) + (e & 15u));
    return qt_dl(base, e >> 5) * kIQ4Values[(e & 16u) != 0u ? (byte >> 4) : (byte & 0xFu)];
}
vec4 dq4(uint base, uint e) {
    return qt_dl(base, e >> 5) * iq4_values4(nibbles4u(wb32(base + 16u + 16u * (e >> 5) + (e & 15u)), (e & 16u) != 0u));
}
