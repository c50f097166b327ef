// quant/qt4.h — QT4, quanta's own 4.25 bpw weight format, and Q8_KH, its activation type.
//
// Idea (measured in bench/RESULTS.md): rotate every 256 consecutive weights of a row by a fixed
// randomized Walsh-Hadamard transform R = H * S / 16 (S: a fixed +-1 sign per position, H: the
// 256-point Hadamard matrix; R is orthonormal), then store the rotated weights with IQ4_XS's
// machinery: a 16-level non-uniform grid (kIQ4Values) per element, a signed 7-bit scale per
// 32 elements and one fp16 super-scale. Real LLM weights are heavy-tailed; after R every block is
// close to Gaussian, so the per-block scales no longer have to stretch over rare outliers.
// Dot products never undo the rotation: w . a = (R w) . (R a), so the activation row is rotated
// once when it is quantized (Q8_KH = Q8_K of R a) and the inner loop is IQ4_XS's integer kernel.
//
// Layout, 512 weights in 272 bytes, every field on a 16-byte boundary for 128-bit GPU loads:
//   [0..2)     d         fp16 super-scale
//   [2..10)    scales_l  bits 0..3 of sub-block j's 6-bit scale magnitude: nibble j%2 of byte j/2
//   [10..14)   scales_h  bits 4..5 of sub-block j's magnitude: bits 2*(j%4).. of byte j/4
//   [14..16)   signs     bit j set: sub-block j's scale is negative
//   [16..272)  qs        sub-block j (elements 32j..32j+31) at bytes 16+16j..16+16j+15: element
//                        32j+i in the low nibble of byte i, element 32j+16+i in the high nibble
// Weight (in the rotated domain) = d * (+-m_j) * kIQ4Values[q]; rotation block h covers elements
// 256h..256h+255 (sub-blocks 8h..8h+7); rows must be a multiple of 512 elements.
#pragma once

#include <cstdint>

#include "quant/fp.h"

namespace quanta::quant {

constexpr int kQT4Block = 512;
constexpr int kRotation = 256;  // elements per Hadamard rotation

struct BlockQT4 {
    uint16_t d;
    uint8_t scales_l[8];
    uint8_t scales_h[4];
    uint16_t signs;
    uint8_t qs[256];
};
static_assert(sizeof(BlockQT4) == 272);

// Signed scale of sub-block j in [0, 16): in [-63, 63].
QUANTA_HD inline int qt4_scale(const BlockQT4 & b, int j) {
    const int m = ((b.scales_l[j >> 1] >> (4 * (j & 1))) & 0xF) | (((b.scales_h[j >> 2] >> (2 * (j & 3))) & 3) << 4);
    const int neg = (b.signs >> j) & 1;  // branch-free: signs are random, a branch mispredicts
    return (m ^ -neg) + neg;
}
QUANTA_HD inline int qt4_index(const BlockQT4 & b, int e) {
    const uint8_t byte = b.qs[16 * (e >> 5) + (e & 15)];
    return (e & 16) ? (byte >> 4) : (byte & 0xF);
}

// The rotation R (in place, 256 floats) and its inverse R^T. Plain butterflies in a fixed order,
// so every build computes identical floats.
void rotate_256(float * x);
void unrotate_256(float * x);

void quantize_row_qt4(const float * src, void * dst, int64_t n, const float * importance);
void dequantize_row_qt4(const void * src, float * dst, int64_t n);
float dot_row_qt4(const void * w, const void * a, int64_t n);

// Q8_KH: BlockQ8_K of R * activations (256 per block); dequantize undoes the rotation.
void quantize_row_q8_kh(const float * src, void * dst, int64_t n, const float * importance);
void dequantize_row_q8_kh(const void * src, float * dst, int64_t n);
float dot_row_q8_kh(const void * w, const void * a, int64_t n);

}  // namespace quanta::quant
