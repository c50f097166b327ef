// quant/qt3.h — QT3, quanta's own 3.25 bpw weight format (docs/quant-formats.md).
//
// QT4's recipe (quant/qt4.h) at 3 bits: every 256 weights of a row rotated by R = H * S / 16,
// then a signed 6-bit scale per 32 rotated weights, one fp16 super-scale, and an 8-level
// non-uniform asymmetric grid (kQT3Levels, chosen by measurement: bench/RESULTS.md) per element. The dot
// product pairs with Q8_KH (rotated activations), so w . a needs no inverse rotation.
//
// Layout, 512 weights in 208 bytes = 13 x 16 bytes, every field on a 16-byte boundary:
//   [0..16)    header    QtHeader (quant/qt_common.h): d, scales_l, scales_h, signs (= QT4's)
//   [16..144)  ql        bits 0..1 of each index, the 2-bit plane of qt_common.h: group g
//                        (elements 64g..64g+63) at bytes 16+16g..; byte i holds element
//                        64g + 16s + i in bits 2s..2s+1
//   [144..208) qh        bit 2 of each index: element e at bit e%8 of byte 144 + e/8
// Weight (rotated domain) = d * s_j * kQT3Levels[index], j = e / 32; rows: multiples of 512.
#pragma once

#include <cstdint>

#include "quant/qt_common.h"

namespace quanta::quant {

// Ascending; |level| <= 127 so a level times an int8 activation fits maddubs without saturation.
// Lloyd-refined on rotated Gemma weights (bench/quant/qt_grid_search.cpp): asymmetric, so the
// scale's sign chooses which side gets the finer levels.
inline constexpr int8_t kQT3Levels[8] = {-127, -76, -42, -14, 13, 40, 70, 107};

struct BlockQT3 {
    QtHeader h;
    uint8_t ql[128];
    uint8_t qh[64];
};
static_assert(sizeof(BlockQT3) == 208);

QUANTA_HD inline int qt3_index(const BlockQT3 & b, int e) {
    return qt_index2(b.ql, e) | (((b.qh[e >> 3] >> (e & 7)) & 1) << 2);
}

void quantize_row_qt3(const float * src, void * dst, int64_t n, const float * importance);
void dequantize_row_qt3(const void * src, float * dst, int64_t n);
float dot_row_qt3(const void * w, const void * a, int64_t n);

// The grid as QtGrid (for the quantizer and bench/quant's grid search).
const QtGrid & qt3_grid();

}  // namespace quanta::quant
