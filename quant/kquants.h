// quant/kquants.h — ggml's 256-element "K" super-block formats Q2_K .. Q8_K and IQ4_XS, byte for
// byte as GGUF stores them (little-endian, fp16 = IEEE binary16 bits). A super-block holds 256
// weights split into sub-blocks of 16 or 32 that each carry a small integer scale (and min),
// themselves scaled by one or two fp16 super-scales.
//
// Element order inside a super-block, e in [0, 256) (the decode helpers below spell it out):
//   Q2_K / Q3_K: e = 128*n + 32*j + l  ->  bits 2j..2j+1 of qs[32*n + l]; sub-block e / 16
//   Q3_K high bit: bit (e / 32) of hmask[e % 32]
//   Q4_K / Q5_K: e = 64*c + r  ->  qs[32*c + r % 32], low nibble if r < 32 else high; sub-block e / 32
//   Q5_K high bit: bit (e / 32) of qh[e % 32]
//   Q6_K: e = 128*n + 32*k + l ->  nibble (k < 2 ? low : high) of ql[64*n + 32*(k & 1) + l],
//         2 high bits at bits 2k..2k+1 of qh[32*n + l]; sub-block e / 16
//   IQ4_XS: e = 32*b + r -> qs[16*b + r % 16], low nibble if r < 16 else high; sub-block b
#pragma once

#include <cstdint>

#include "quant/fp.h"

namespace quanta::quant {

constexpr int kQK_K = 256;  // elements per super-block

struct BlockQ2_K {         // 84 bytes, 2.625 bpw
    uint8_t scales[16];    // [0..16)   sub-block j: low nibble scale, high nibble min (16 x 16 elements)
    uint8_t qs[64];        // [16..80)  2-bit levels, order above
    uint16_t d;            // [80..82)  fp16 super-scale of the scales
    uint16_t dmin;         // [82..84)  fp16 super-scale of the mins; w = d*sc*q - dmin*m
};
static_assert(sizeof(BlockQ2_K) == 84);

struct BlockQ3_K {         // 110 bytes, 3.4375 bpw
    uint8_t hmask[32];     // [0..32)   bit 2 of each level (set: level >= 0)
    uint8_t qs[64];        // [32..96)  low 2 bits of each level
    uint8_t scales[12];    // [96..108) 16 6-bit scales (+32 bias), packing in q3k_scale()
    uint16_t d;            // [108..110) fp16 super-scale; w = d * (sc - 32) * (q - 4)
};
static_assert(sizeof(BlockQ3_K) == 110);

struct BlockQ4_K {         // 144 bytes, 4.5 bpw
    uint16_t d;            // [0..2)    fp16 super-scale of the scales
    uint16_t dmin;         // [2..4)    fp16 super-scale of the mins
    uint8_t scales[12];    // [4..16)   8 6-bit scales + 8 6-bit mins, packing in k4_scale_min()
    uint8_t qs[128];       // [16..144) 4-bit levels; w = d*sc*q - dmin*m
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {         // 176 bytes, 5.5 bpw
    uint16_t d;            // [0..2)
    uint16_t dmin;         // [2..4)
    uint8_t scales[12];    // [4..16)   as Q4_K
    uint8_t qh[32];        // [16..48)  bit 4 of each level
    uint8_t qs[128];       // [48..176) low 4 bits of each level
};
static_assert(sizeof(BlockQ5_K) == 176);

struct BlockQ6_K {         // 210 bytes, 6.5625 bpw
    uint8_t ql[128];       // [0..128)   low 4 bits of each level
    uint8_t qh[64];        // [128..192) high 2 bits of each level
    int8_t scales[16];     // [192..208) signed 8-bit scale of each 16-element sub-block
    uint16_t d;            // [208..210) fp16 super-scale; w = d * sc * (q - 32)
};
static_assert(sizeof(BlockQ6_K) == 210);

struct BlockQ8_K {         // 292 bytes; activation type of every K-quant (never stored)
    float d;               // [0..4)     fp32 scale (not fp16: activations need the range)
    int8_t qs[256];        // [4..260)   a = d * q
    int16_t bsums[16];     // [260..292) sum of qs over each 16 elements, for the min terms
};
static_assert(sizeof(BlockQ8_K) == 292);

struct BlockIQ4_XS {       // 136 bytes, 4.25 bpw
    uint16_t d;            // [0..2)    fp16 super-scale
    uint16_t scales_h;     // [2..4)    bits 2b..2b+1: bits 4..5 of sub-block b's 6-bit scale
    uint8_t scales_l[4];   // [4..8)    nibble b%2 of byte b/2: bits 0..3 of sub-block b's scale
    uint8_t qs[128];       // [8..136)  indices into kIQ4Values; w = d * (ls - 32) * kIQ4Values[q]
};
static_assert(sizeof(BlockIQ4_XS) == 136);

// ---- shared decode helpers (host and device) -----------------------------------------------

// Q4_K / Q5_K: 6-bit scale and min of sub-block j in [0, 8).
QUANTA_HD inline void k4_scale_min(const uint8_t * s, int j, int * sc, int * m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Q3_K: signed scale of sub-block i in [0, 16), in [-32, 31].
QUANTA_HD inline int q3k_scale(const uint8_t * s, int i) {
    const int lo = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
    const int hi = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    return (lo | (hi << 4)) - 32;
}

QUANTA_HD inline int q2k_level(const BlockQ2_K & b, int e) {
    return (b.qs[32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
}
QUANTA_HD inline int q3k_level(const BlockQ3_K & b, int e) {  // in [-4, 3]
    const int lo = (b.qs[32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
    const int hi = (b.hmask[e & 31] >> (e >> 5)) & 1;
    return lo - (hi ? 0 : 4);
}
QUANTA_HD inline int q4k_level(const uint8_t * qs, int e) {
    const uint8_t byte = qs[32 * (e >> 6) + (e & 31)];
    return (e & 32) ? (byte >> 4) : (byte & 0xF);
}
QUANTA_HD inline int q5k_level(const BlockQ5_K & b, int e) {
    return q4k_level(b.qs, e) | (((b.qh[e & 31] >> (e >> 5)) & 1) << 4);
}
QUANTA_HD inline int q6k_level(const BlockQ6_K & b, int e) {  // in [-32, 31]
    const int n = e >> 7, k = (e >> 5) & 3, l = e & 31;
    const uint8_t lo = b.ql[64 * n + 32 * (k & 1) + l];
    const int nib = k < 2 ? (lo & 0xF) : (lo >> 4);
    const int hi = (b.qh[32 * n + l] >> (2 * k)) & 3;
    return (nib | (hi << 4)) - 32;
}
QUANTA_HD inline int iq4xs_scale(const BlockIQ4_XS & b, int sb) {  // in [-32, 31]
    const int lo = (b.scales_l[sb >> 1] >> (4 * (sb & 1))) & 0xF;
    const int hi = (b.scales_h >> (2 * sb)) & 3;
    return (lo | (hi << 4)) - 32;
}
QUANTA_HD inline int iq4xs_index(const BlockIQ4_XS & b, int e) {
    const uint8_t byte = b.qs[16 * (e >> 5) + (e & 15)];
    return (e & 16) ? (byte >> 4) : (byte & 0xF);
}

// ---- row codecs (n a multiple of 256) ------------------------------------------------------
void quantize_row_q2_k(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q3_k(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q4_k(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q5_k(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_q6_k(const float * src, void * dst, int64_t n, const float * importance);
void quantize_row_iq4_xs(const float * src, void * dst, int64_t n, const float * importance);
// Q8_K: round half away from zero with d = amax / 127, like Q8_0 (ggml's Q8_K uses a signed
// max and ties-to-even; Q8_K never reaches a file, so quanta picks the rule SIMD can match).
void quantize_row_q8_k(const float * src, void * dst, int64_t n, const float * importance);

void dequantize_row_q2_k(const void * src, float * dst, int64_t n);
void dequantize_row_q3_k(const void * src, float * dst, int64_t n);
void dequantize_row_q4_k(const void * src, float * dst, int64_t n);
void dequantize_row_q5_k(const void * src, float * dst, int64_t n);
void dequantize_row_q6_k(const void * src, float * dst, int64_t n);
void dequantize_row_q8_k(const void * src, float * dst, int64_t n);
void dequantize_row_iq4_xs(const void * src, float * dst, int64_t n);

// Weights . Q8_K activations: per super-block exact int32 sums (scale * level * activation,
// and min * bsum), converted to float once per super-block and accumulated in block order.
float dot_row_q2_k(const void * w, const void * a, int64_t n);
float dot_row_q3_k(const void * w, const void * a, int64_t n);
float dot_row_q4_k(const void * w, const void * a, int64_t n);
float dot_row_q5_k(const void * w, const void * a, int64_t n);
float dot_row_q6_k(const void * w, const void * a, int64_t n);
float dot_row_q8_k(const void * w, const void * a, int64_t n);
float dot_row_iq4_xs(const void * w, const void * a, int64_t n);

}  // namespace quanta::quant
