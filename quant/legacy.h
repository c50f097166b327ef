// quant/legacy.h — ggml's first block formats (32 weights per block): Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q8_1 and the non-uniform IQ4_NL (same 18-byte shape as Q4_0). Byte for byte as GGUF
// stores them; all multi-byte fields are little-endian, fp16 scales are IEEE binary16 bits.
//
// Nibble order (all 4-bit types here): byte qs[j] holds element j in its low nibble and element
// j + 16 in its high nibble, so one 16-byte load yields elements 0..15 (& 0xF) and 16..31 (>> 4).
#pragma once

#include <cstdint>

#include "quant/fp.h"

namespace quanta::quant {

constexpr int kQK = 32;  // elements per legacy block

struct BlockQ4_0 {       // 18 bytes, 4.5 bpw
    uint16_t d;          // [0..2)   fp16 scale
    uint8_t qs[16];      // [2..18)  nibbles; w = d * (q - 8)
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_1 {       // 20 bytes, 5.0 bpw
    uint16_t d;          // [0..2)   fp16 scale
    uint16_t m;          // [2..4)   fp16 offset (the block minimum)
    uint8_t qs[16];      // [4..20)  nibbles; w = d * q + m
};
static_assert(sizeof(BlockQ4_1) == 20);

struct BlockQ5_0 {       // 22 bytes, 5.5 bpw
    uint16_t d;          // [0..2)   fp16 scale
    uint8_t qh[4];       // [2..6)   uint32 LE: bit j = bit 4 of element j
    uint8_t qs[16];      // [6..22)  low nibbles; w = d * (q - 16)
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {       // 24 bytes, 6.0 bpw
    uint16_t d;          // [0..2)   fp16 scale
    uint16_t m;          // [2..4)   fp16 offset
    uint8_t qh[4];       // [4..8)   uint32 LE: bit j = bit 4 of element j
    uint8_t qs[16];      // [8..24)  low nibbles; w = d * q + m
};
static_assert(sizeof(BlockQ5_1) == 24);

struct BlockQ8_0 {       // 34 bytes, 8.5 bpw
    uint16_t d;          // [0..2)   fp16 scale
    int8_t qs[32];       // [2..34)  w = d * q
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ8_1 {       // 36 bytes; activation type paired with Q4_1 / Q5_1
    uint16_t d;          // [0..2)   fp16 scale
    uint16_t s;          // [2..4)   fp16 of d * sum(qs), so offsets dot in O(1)
    int8_t qs[32];       // [4..36)  a = d * q
};
static_assert(sizeof(BlockQ8_1) == 36);

struct BlockIQ4_NL {     // 18 bytes, 4.5 bpw
    uint16_t d;          // [0..2)   fp16 scale
    uint8_t qs[16];      // [2..18)  nibbles index kIQ4Values; w = d * kIQ4Values[q]
};
static_assert(sizeof(BlockIQ4_NL) == 18);

// IQ4_NL / IQ4_XS levels: a non-uniform 16-level grid, denser near zero where weights cluster.
inline constexpr int8_t kIQ4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

// Per-element decode (shared by host and device code; j in [0, 32)).
QUANTA_HD inline int q4_nibble(const uint8_t * qs, int j) { return j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4); }
QUANTA_HD inline int q5_high(const uint8_t * qh, int j) { return (qh[j >> 3] >> (j & 7)) & 1; }

void quantize_row_q4_0(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q4_1(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q5_0(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q5_1(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q8_0(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q8_1(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_iq4_nl(const float * src, void * dst, int64_t n, const float * importance);

// ggml's round-to-nearest reference encoders (quantize_row_*_ref), bit-exact with gguf.quants.
// Kept for GGUF parity and as the cheapest encoder; quantize_row_* above searches for lower error.
void quantize_row_q4_0_rtn(const float * src, void * dst, int64_t n);
void quantize_row_q4_1_rtn(const float * src, void * dst, int64_t n);
void quantize_row_q5_0_rtn(const float * src, void * dst, int64_t n);
void quantize_row_q5_1_rtn(const float * src, void * dst, int64_t n);

void dequantize_row_q4_0(const void * src, float * dst, int64_t n);
void dequantize_row_q4_1(const void * src, float * dst, int64_t n);
void dequantize_row_q5_0(const void * src, float * dst, int64_t n);
void dequantize_row_q5_1(const void * src, float * dst, int64_t n);
void dequantize_row_q8_0(const void * src, float * dst, int64_t n);
void dequantize_row_q8_1(const void * src, float * dst, int64_t n);
void dequantize_row_iq4_nl(const void * src, float * dst, int64_t n);

// Weights (this type) . activations (Q8_0, or Q8_1 for Q4_1 / Q5_1 / Q8_1): per block an exact
// int32 sum of products, scaled by both fp16 scales and accumulated in float in block order.
float dot_row_q4_0(const void * w, const void * a, int64_t n);
float dot_row_q4_1(const void * w, const void * a, int64_t n);
float dot_row_q5_0(const void * w, const void * a, int64_t n);
float dot_row_q5_1(const void * w, const void * a, int64_t n);
float dot_row_q8_0(const void * w, const void * a, int64_t n);
float dot_row_q8_1(const void * w, const void * a, int64_t n);
float dot_row_iq4_nl(const void * w, const void * a, int64_t n);

}  // namespace quanta::quant
