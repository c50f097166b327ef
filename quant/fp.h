// quant/fp.h — half and bfloat16 conversions shared by host and device code.
//
// Every block scale in ggml-compatible formats is an IEEE binary16 ("fp16") stored as uint16_t.
// These conversions are written with integer bit manipulation only, so the same inline function
// compiles for the CPU, for CUDA (QUANTA_HD = __host__ __device__) and can be mirrored in GLSL.
// fp32 -> fp16 rounds to nearest, ties to even (as F16C's _cvtss_sh, numpy's astype(float16)
// and ggml do), handles subnormals, infinities and NaN; fp16 -> fp32 is exact.
// bf16 follows ggml_compute_fp32_to_bf16: round to nearest even, NaN forced quiet.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define QUANTA_HD __host__ __device__
#else
#define QUANTA_HD
#endif

namespace quanta::quant {

QUANTA_HD inline uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

QUANTA_HD inline float f32_from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// fp16 bits -> float, exact for every input (subnormals, inf, NaN payload kept).
QUANTA_HD inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mant << 13));  // inf / NaN
    if (exp != 0) return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
    if (mant == 0) return f32_from_bits(sign);                                  // +-0
    // Subnormal: value = mant * 2^-24; normalise the mantissa.
    int e = -1;
    do { mant <<= 1; ++e; } while ((mant & 0x400u) == 0);
    return f32_from_bits(sign | (uint32_t(112 - e) << 23) | ((mant & 0x3FFu) << 13));
}

// float -> fp16 bits, round to nearest even; overflow gives inf, NaN stays NaN (quiet).
QUANTA_HD inline uint16_t fp32_to_fp16(float f) {
    const uint32_t u = f32_bits(f);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t abs = u & 0x7FFFFFFFu;
    if (abs > 0x7F800000u) return uint16_t(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));  // NaN
    if (abs >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // rounds to >= 65520: inf
    if (abs < 0x38800000u) {
        // Result is subnormal (or zero): shift the full mantissa right with RNE.
        if (abs < 0x33000000u) return uint16_t(sign);  // below half the smallest subnormal
        const uint32_t e = abs >> 23;
        const uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
        const uint32_t shift = 126u - e;  // 14..24
        uint32_t r = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u))) ++r;
        return uint16_t(sign | r);
    }
    // Normal: rebias the exponent and round the 13 dropped mantissa bits (carry may bump exp).
    uint32_t r = ((abs - 0x38000000u) >> 13);
    const uint32_t rem = abs & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
    return uint16_t(sign | r);
}

QUANTA_HD inline float bf16_to_fp32(uint16_t b) { return f32_from_bits(uint32_t(b) << 16); }

QUANTA_HD inline uint16_t fp32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 64u);  // quiet NaN
    return uint16_t((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
}

// Row codecs of the floating-point types (n elements each).
void quantize_row_f32(const float * src, void * dst, int64_t n, const float * importance);
void dequantize_row_f32(const void * src, float * dst, int64_t n);
float dot_row_f32(const void * w, const void * a, int64_t n);
void quantize_row_f16(const float * src, void * dst, int64_t n, const float * importance);
void dequantize_row_f16(const void * src, float * dst, int64_t n);
float dot_row_f16(const void * w, const void * a, int64_t n);
void quantize_row_bf16(const float * src, void * dst, int64_t n, const float * importance);
void dequantize_row_bf16(const void * src, float * dst, int64_t n);
float dot_row_bf16(const void * w, const void * a, int64_t n);

}  // namespace quanta::quant
