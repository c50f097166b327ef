// shaders/quant/qt2.glsl — QT2, 512 weights in 160 bytes (quant/qt2.h BlockQT2), decoded in the
// ROTATED domain like QT4 (quant/qt4.glsl says how callers undo the rotation).
//   [0..2) d fp16, [2..4) reserved, [4..8) signs uint32: bit j = sub-block j's scale is negative,
//   [8..24) scales_l: nibble j % 2 of byte j / 2, [24..32) scales_h: bits 2(j % 4).. of byte
//   j / 4 (6-bit magnitudes), sub-block j = e / 16; [32..160) the 2-bit plane of
//   quant/qt_common.h; w_rot = d * s_j * kQT2Levels[index].
#include "quant/common.glsl"
#define QK 512u
#define QB 160u
#define QUANTA_ROTATED 1
const float kQT2Levels[4] = float[4](-127.0, -48.0, 13.0, 79.0);
float qt2_dl(uint base, uint j) {
    const uint m = ((wb8(base + 8u + (j >> 1)) >> (4u * (j & 1u))) & 0xFu) |
                   (((wb8(base + 24u + (j >> 2)) >> (2u * (j & 3u))) & 3u) << 4);
    const bool neg = ((wb32(base + 4u) >> j) & 1u) != 0u;
    return wf16(base) * float(neg ? -int(m) : int(m));
}
float dq(uint base, uint e) {
    const uint q = (wb8(base + 32u + 16u * (e >> 6) + (e & 15u)) >> (2u * ((e >> 4) & 3u))) & 3u;
    return qt2_dl(base, e >> 4) * kQT2Levels[q];
}
vec4 dq4(uint base, uint e) {
    const uint v = wb32(base + 32u + 16u * (e >> 6) + (e & 15u)) >> (2u * ((e >> 4) & 3u));
    return qt2_dl(base, e >> 4) *
           vec4(kQT2Levels[v & 3u], kQT2Levels[(v >> 8) & 3u], kQT2Levels[(v >> 16) & 3u], kQT2Levels[(v >> 24) & 3u]);
}
