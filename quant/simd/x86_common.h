// quant/simd/x86_common.h — small AVX2 helpers shared by the x86 kernel files. Include only from
// translation units compiled with at least -mavx2 -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace quanta::quant::x86 {

inline float hsum(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

inline int hsum(__m256i v) {
    __m128i lo = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0x4E));
    lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0xB1));
    return _mm_cvtsi128_si32(lo);
}

inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// Round half away from zero, exactly as the scalar round_away(): v - trunc(v) is exact.
inline __m256 round_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_ps(_mm256_sub_ps(v, t));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

// 32 int32 (four vectors, in order) -> 32 int8 in order (values must fit int8).
inline __m256i pack_i32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b);   // a0..3 b0..3 a4..7 b4..7
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i abcd = _mm256_packs_epi16(ab, cd);  // per 128 lane: a0..3 b0..3 c0..3 d0..3
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

inline __m256i load256(const void * p) { return _mm256_loadu_si256(static_cast<const __m256i *>(p)); }
inline __m128i load128(const void * p) { return _mm_loadu_si128(static_cast<const __m128i *>(p)); }

// 16 packed bytes -> 32 nibbles: low nibbles in bytes 0..15, high nibbles in bytes 16..31.
// One vbroadcasti128 load, one variable shift of the upper lane by 4, one mask: the bits that
// shift in from the neighbouring byte land in the masked-off high half.
inline __m256i unpack_nibbles_128(const uint8_t * p) {
    const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
    return _mm256_and_si256(_mm256_srlv_epi64(b, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
}

// Signed int8 x signed int8, 32 pairs -> 8 int32 partial sums (x must not hold -128).
inline __m256i dot_i8(__m256i x, __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

// Q4_K / Q5_K: the 8 scales and 8 mins of a super-block (same as k4_scale_min()) as 16 bytes,
// sc[0..7] then m[0..7], decoded with shuffles from one 16-byte load at s: the 12 scale bytes and
// 4 bytes of what follows them in the block (qh or qs), unused. In the 12 bytes, bytes 0-3 hold
// sc[0..3] in their low 6 bits, 4-7 m[0..3], 8-11 the low 4 bits of sc[4..7] and, above them, of
// m[4..7]; the top 2 bits of bytes 0-7 are the high bits of sc[4..7] and m[4..7]. (Unpacking in
// general-purpose registers and storing bytes for a wider load stalled store forwarding: the Q4_K
// mat-vec ran ~20% faster this way.)
inline __m128i k4_scales_mins(const uint8_t * s) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s));
    const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
    const __m128i top = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
    const __m128i low = _mm_or_si128(_mm_and_si128(a, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0)),
                                     _mm_and_si128(_mm_srli_epi16(a, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15)));
    // (top & 0xC0) >> 2 moves bits 6-7 to 4-5 of the same byte (masked first, so no bit crosses).
    return _mm_or_si128(low, _mm_srli_epi16(_mm_and_si128(top, _mm_set1_epi8(int8_t(0xC0))), 2));
}

// The 8 scales of k4_scales_mins() as int16, in both 128-bit halves.
inline __m256i k4_scales16(__m128i sm) { return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm)); }

// The 8 mins of k4_scales_mins(), each as int16 twice: [m0 m0 m1 m1 .. m7 m7], against Q8_K's 16 bsums.
inline __m256i k4_mins_pairs16(__m128i sm) {
    const __m128i m16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
    return _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
}

// sum_j m[j] * (bsums[2j] + bsums[2j+1]) for the mins of k4_scales_mins() and Q8_K's 16 bsums.
inline int k4_min_dot_bsums(__m128i sm, const int16_t * bsums) {
    return hsum(_mm256_madd_epi16(load256(bsums), k4_mins_pairs16(sm)));
}

}  // namespace quanta::quant::x86
