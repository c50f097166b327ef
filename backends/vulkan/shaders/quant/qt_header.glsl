// shaders/quant/qt_header.glsl — the 16-byte header that QT4 and QT3 share
// (quant/qt_common.h QtHeader, quant/qt4.h): [0..2) d fp16, [2..10) scales_l: nibble j % 2 of
// byte j / 2 = bits 0..3 of sub-block j's scale magnitude, [10..14) scales_h: bits 2(j % 4).. of
// byte j / 4 = bits 4..5, [14..16) signs: bit j = sub-block j's scale is negative.
#ifndef QUANTA_QUANT_QT_HEADER_GLSL
#define QUANTA_QUANT_QT_HEADER_GLSL
// d * (signed 6-bit scale of sub-block j), as the host's d * float(qt_scale(h, j)).
float qt_dl(uint base, uint j) {
    const uint m = ((wb8(base + 2u + (j >> 1)) >> (4u * (j & 1u))) & 0xFu) |
                   (((wb8(base + 10u + (j >> 2)) >> (2u * (j & 3u))) & 3u) << 4);
    const bool neg = ((wb16(base + 14u) >> j) & 1u) != 0u;
    return wf16(base) * float(neg ? -int(m) : int(m));
}
#endif
