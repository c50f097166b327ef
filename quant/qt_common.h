// quant/qt_common.h — what QT3 and QT2 share: the 16-byte block header, the level grids and the
// block quantizer (formats in docs/quant-formats.md, quant/qt3.h, quant/qt2.h).
//
// Both formats store 512 weights per block, rotated per 256 by QT4's Hadamard rotation R
// (quant/qt4.h: rotate_256), as a signed 6-bit scale per 32 weights times one fp16 super-scale
// times a small non-uniform grid of int8 levels (8 for QT3, 4 for QT2). The header is byte for
// byte QT4's first 16 bytes, so one decoder serves all three:
//   [0..2)    d         fp16 super-scale
//   [2..10)   scales_l  bits 0..3 of sub-block j's 6-bit scale magnitude: nibble j%2 of byte j/2
//   [10..14)  scales_h  bits 4..5 of sub-block j's magnitude: bits 2*(j%4).. of byte j/4
//   [14..16)  signs     bit j set: sub-block j's scale is negative
// and the 2-bit index plane that follows it has one layout for both (QT3 adds a third bit plane):
//   group g (elements 64g..64g+63) is 16 bytes; byte i of it holds element 64g + 16s + i in bits
//   2s..2s+1 (s = 0..3). A 128-bit load gives a GPU thread 64 indices; AVX2 gets sub-block
//   2g + h from one broadcast load and one variable shift by (4h, 4h, 4h+2, 4h+2).
#pragma once

#include <cstdint>

#include "quant/fp.h"
#include "quant/search.h"

namespace quanta::quant {

constexpr int kQTBlock = 512;  // weights per QT3 / QT2 block (two rotation blocks)
constexpr int kQTSub = 32;     // weights per sub-block (one signed scale)

struct QtHeader {
    uint16_t d;
    uint8_t scales_l[8];
    uint8_t scales_h[4];
    uint16_t signs;
};
static_assert(sizeof(QtHeader) == 16);

// Signed scale of sub-block j in [0, 16): in [-63, 63] (same decode as qt4_scale()).
QUANTA_HD inline int qt_scale(const QtHeader & h, int j) {
    const int m = ((h.scales_l[j >> 1] >> (4 * (j & 1))) & 0xF) | (((h.scales_h[j >> 2] >> (2 * (j & 3))) & 3) << 4);
    const int neg = (h.signs >> j) & 1;
    return (m ^ -neg) + neg;
}

// The 2-bit field of element e (0..511) in a 128-byte plane laid out as above.
QUANTA_HD inline int qt_index2(const uint8_t * plane, int e) {
    return (plane[16 * (e >> 6) + (e & 15)] >> (2 * ((e >> 4) & 3))) & 3;
}

// A grid of n_levels (4, 8 or 16) int8 levels, ascending, plus the nearest-level lookup table of
// search.h built on the levels repeated 16 / n_levels times (nearest entry of the repeated grid
// = nearest level; level index = lut index >> shift).
struct QtGrid {
    int n_levels;
    int shift;  // log2(16 / n_levels)
    int8_t levels[16];
    GridLut lut;
};
QtGrid make_qt_grid(const int8_t * levels, int n_levels);

// Quantizes one block's 512 ROTATED weights x with per-element weights w (> 0) in sub-blocks of
// `sub` (8..256, dividing 512) weights: writes the signed scales ls[512 / sub] in [-63, 63] and the
// level indices idx[512]; returns the fp16 super-scale. Deterministic. Search: per sub-block a
// weighted scale search over the grid (search_scale_grid), d = max |scale| / 63, each 6-bit
// magnitude rounded then moved by +-1 where that lowers the sub-block's weighted error, d refitted
// by weighted least squares, every element assigned its nearest level under the stored scales.
uint16_t qt_quantize_scales(const float * x, const float * w, const QtGrid & grid, int sub, int * ls, uint8_t * idx);
// Writes n signed 6-bit scales (|ls| <= 63) as every QT format lays them out: magnitude bits 0..3
// in nibble j % 2 of lo[j / 2], bits 4..5 in bits 2 * (j % 4) of hi[j / 4], the sign in bit j of
// the little-endian signs field. Clears the fields first.
void qt_pack_scales(const int * ls, int n, uint8_t * lo, uint8_t * hi, uint8_t * signs);

// Rotates n_blocks * 512 weights of src into x (rotate_256 per 256) and builds the quantizer's
// element weights from the imatrix: after the rotation an element of rotation block r stands for
// all 256 columns of r, and the diagonal of R diag(imp) R^T is the mean importance of those
// columns, so every element of r gets that mean (uniform when importance is null).
void qt_rotate_and_weigh(const float * src, const float * importance, float * x, float * w);

// With an imatrix: the error that matters is in the original domain, sum_k imp_k (w_k - w^_k)^2
// = err^T M err with err the rotated error and M = R diag(imp) R^T, a full (not diagonal)
// quadratic form per rotation block. Greedy coordinate descent on it, two passes over each
// rotation block: first each sub-block's scale ls[j] +-1 (its elements re-assigned to their
// nearest levels under the new scale), then each element's neighbouring levels under its scale;
// a move is kept when it lowers the loss, and the gradient M err is updated exactly. d (the fp16
// super-scale) stays. Deterministic.
void qt_refine_importance(const float * x, const float * importance, const QtGrid & grid, uint16_t d, int sub, int * ls,
                          uint8_t * idx);

// Packs the low 2 bits of idx[512] into the 2-bit plane (128 bytes).
void qt_pack2(const uint8_t * idx, uint8_t * plane);

}  // namespace quanta::quant
