// quant/qt2.h — QT2, quanta's own 2.5 bpw weight format (docs/quant-formats.md).
//
// QT3's recipe (quant/qt3.h) with a 4-level grid and finer scales: every 256 weights rotated by
// QT4's R, a signed 6-bit scale per 16 rotated weights (at 2 bits, per-32 scales cost 0.03 in
// relative RMSE on real weights: bench/RESULTS.md), one fp16 super-scale, a 2-bit index per
// element into kQT2Levels (asymmetric: the scale's sign picks which side gets the finer levels).
// Pairs with Q8_KH.
//
// Layout, 512 weights in 160 bytes = 10 x 16 bytes, every field on a 16-byte boundary or inside
// the 32-byte header:
//   [0..2)     d         fp16 super-scale
//   [2..4)     (zero)    reserved, written as 0
//   [4..8)     signs     uint32; bit j set: sub-block j's scale is negative (j = 0..31)
//   [8..24)    scales_l  bits 0..3 of sub-block j's 6-bit magnitude: nibble j%2 of byte j/2
//   [24..32)   scales_h  bits 4..5 of sub-block j's magnitude: bits 2*(j%4).. of byte j/4
//   [32..160)  qs        the 2-bit plane of qt_common.h: group g (elements 64g..64g+63) at
//                        bytes 32+16g..; byte i holds element 64g + 16s + i in bits 2s..2s+1
// Sub-block j = elements 16j..16j+15. Weight (rotated domain) = d * s_j * kQT2Levels[index];
// rows: multiples of 512.
#pragma once

#include <cstdint>

#include "quant/qt_common.h"

namespace quanta::quant {

constexpr int kQT2Sub = 16;

// Lloyd-refined on rotated Gemma weights with per-16 scales (bench/quant/qt_grid_search.cpp).
inline constexpr int8_t kQT2Levels[4] = {-127, -48, 13, 79};

struct BlockQT2 {
    uint16_t d;
    uint16_t reserved;
    uint32_t signs;
    uint8_t scales_l[16];
    uint8_t scales_h[8];
    uint8_t qs[128];
};
static_assert(sizeof(BlockQT2) == 160);

// Signed scale of sub-block j in [0, 32): in [-63, 63].
QUANTA_HD inline int qt2_scale(const BlockQT2 & b, int j) {
    const int m = ((b.scales_l[j >> 1] >> (4 * (j & 1))) & 0xF) | (((b.scales_h[j >> 2] >> (2 * (j & 3))) & 3) << 4);
    const int neg = int((b.signs >> j) & 1u);
    return (m ^ -neg) + neg;
}
QUANTA_HD inline int qt2_index(const BlockQT2 & b, int e) { return qt_index2(b.qs, e); }

void quantize_row_qt2(const float * src, void * dst, int64_t n, const float * importance);
void dequantize_row_qt2(const void * src, float * dst, int64_t n);
float dot_row_qt2(const void * w, const void * a, int64_t n);

const QtGrid & qt2_grid();

}  // namespace quanta::quant
