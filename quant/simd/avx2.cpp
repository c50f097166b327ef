// quant/simd/avx2.cpp — AVX2 + FMA + F16C kernels (compiled with those flags only; chosen at run
// time by quant/dispatch.cpp).
//
// Activation quantizers (f32 -> Q8_0 / Q8_1 / Q8_K) reproduce the scalar reference bit for bit:
// the same absmax, the same IEEE divide for the scale and round-half-away via an exact
// v - trunc(v) test. Dot products multiply int8 pairs with the sign trick (maddubs needs one
// unsigned operand: |x| times y carrying x's sign) and sum pairs with madd into int32.
//  - 32-element block types (Q8_0, Q4_0, ...) fold each block's int32 lanes into a float
//    accumulator with one FMA per block (no horizontal sum per block: that is what keeps them
//    at memory speed), so they match the reference within float rounding, not bit for bit.
//  - K-quants sum a whole 256-element super-block exactly in int32 and then apply the
//    reference's own float expression, so they equal the reference bit for bit.
#include <cmath>

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/qt4.h"
#include "quant/simd/simd.h"
#include "quant/simd/avx2_blocks.h"
#include "quant/simd/x86_common.h"

namespace quanta::quant {

namespace {

using namespace x86;

// ---- activation quantizers -----------------------------------------------------------------

// One block of 32 floats -> 32 int8 with the reference's scale; returns d (unrounded).
inline float quantize_block32(const float * x, int8_t * qs, __m256i * sum32 = nullptr) {
    const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    const __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 amax = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)), _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
    const float d = hmax(amax) / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    const __m256i q0 = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v0, id)));
    const __m256i q1 = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v1, id)));
    const __m256i q2 = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v2, id)));
    const __m256i q3 = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v3, id)));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(qs), pack_i32_to_i8(q0, q1, q2, q3));
    if (sum32) *sum32 = _mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3));
    return d;
}

void quantize_q8_0(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_0 * y = static_cast<BlockQ8_0 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) y[i].d = fp32_to_fp16(quantize_block32(src + i * kQK, y[i].qs));
}

void quantize_q8_1(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_1 * y = static_cast<BlockQ8_1 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        __m256i s;
        const float d = quantize_block32(src + i * kQK, y[i].qs, &s);
        y[i].d = fp32_to_fp16(d);
        y[i].s = fp32_to_fp16(float(hsum(s)) * d);
    }
}

void quantize_q8_k(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_K * y = static_cast<BlockQ8_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float * x = src + i * kQK_K;
        __m256 amax = _mm256_setzero_ps();
        for (int j = 0; j < kQK_K; j += 8) amax = _mm256_max_ps(amax, abs_ps(_mm256_loadu_ps(x + j)));
        const float d = hmax(amax) / 127.0f;
        const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        y[i].d = d;
        for (int j = 0; j < kQK_K; j += 32) {
            __m256i q[4];
            for (int k = 0; k < 4; ++k) q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * k), id)));
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(y[i].qs + j), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
            y[i].bsums[j / 16] = int16_t(hsum(_mm256_add_epi32(q[0], q[1])));
            y[i].bsums[j / 16 + 1] = int16_t(hsum(_mm256_add_epi32(q[2], q[3])));
        }
    }
}

// ---- 32-element block dots -----------------------------------------------------------------

float dot_q4_0(const void * w, const void * a, int64_t n) {
    const BlockQ4_0 * x = static_cast<const BlockQ4_0 *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    const int64_t nb = n / kQK;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        const __m256 d = scales8(x + i, y + i);
        for (int k = 0; k < 8; k += 2) {
            acc0 = _mm256_fmadd_ps(lane(d, k), q4_0_block(x[i + k], y[i + k]), acc0);
            acc1 = _mm256_fmadd_ps(lane(d, k + 1), q4_0_block(x[i + k + 1], y[i + k + 1]), acc1);
        }
    }
    for (; i < nb; ++i) acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)), q4_0_block(x[i], y[i]), acc0);
    return hsum(_mm256_add_ps(acc0, acc1));
}

float dot_q8_0(const void * w, const void * a, int64_t n) {
    return dot_q8_0_row(static_cast<const BlockQ8_0 *>(w), static_cast<const BlockQ8_0 *>(a), n / kQK, [](int64_t) {});
}

float dot_q4_1(const void * w, const void * a, int64_t n) {
    const BlockQ4_1 * x = static_cast<const BlockQ4_1 *>(w);
    const BlockQ8_1 * y = static_cast<const BlockQ8_1 *>(a);
    __m256 acc = _mm256_setzero_ps();
    float summ = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        // Levels are unsigned 0..15: maddubs takes them directly.
        const __m256i p16 = _mm256_maddubs_epi16(unpack_nibbles_128(x[i].qs), load256(y[i].qs));
        const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)), p, acc);
        summ += fp16(x[i].m) * fp16(y[i].s);
    }
    return hsum(acc) + summ;
}

// Q5 levels: low nibbles plus bit 4 from qh (bit j of the uint32 -> byte j).
inline __m256i q5_high_bits(const uint8_t * qh) {
    uint32_t h;
    std::memcpy(&h, qh, 4);
    // Spread bit j of h to byte j: broadcast the 4 bytes, pick byte j/8, test bit j%8.
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(int(h)),
                                              _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                                                 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ULL));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(0x10));
}

float dot_q5_0(const void * w, const void * a, int64_t n) {
    const BlockQ5_0 * x = static_cast<const BlockQ5_0 *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK; ++i) {
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles_128(x[i].qs), q5_high_bits(x[i].qh)),
                                          _mm256_set1_epi8(16));
        const __m256 p = _mm256_cvtepi32_ps(dot_i8(q, load256(y[i].qs)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)), p, acc);
    }
    return hsum(acc);
}

float dot_q5_1(const void * w, const void * a, int64_t n) {
    const BlockQ5_1 * x = static_cast<const BlockQ5_1 *>(w);
    const BlockQ8_1 * y = static_cast<const BlockQ8_1 *>(a);
    __m256 acc = _mm256_setzero_ps();
    float summ = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        const __m256i q = _mm256_or_si256(unpack_nibbles_128(x[i].qs), q5_high_bits(x[i].qh));
        const __m256i p16 = _mm256_maddubs_epi16(q, load256(y[i].qs));
        const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)), p, acc);
        summ += fp16(x[i].m) * fp16(y[i].s);
    }
    return hsum(acc) + summ;
}

inline __m256i iq4_lookup(const uint8_t * qs) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i *>(kIQ4Values));
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), unpack_nibbles_128(qs));
}

float dot_iq4_nl(const void * w, const void * a, int64_t n) {
    const BlockIQ4_NL * x = static_cast<const BlockIQ4_NL *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / kQK; ++i) {
        const __m256 p = _mm256_cvtepi32_ps(dot_i8(iq4_lookup(x[i].qs), load256(y[i].qs)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)), p, acc);
    }
    return hsum(acc);
}

// ---- K-quant dots: exact int32 per super-block, then the reference's float expression --------

float dot_q4_k(const void * w, const void * a, int64_t n) {
    const BlockQ4_K * x = static_cast<const BlockQ4_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const __m128i sm = k4_scales_mins(x[i].scales);
        const int summ = k4_min_dot_bsums(sm, y[i].bsums);
        // The 8 scales as int16 in both halves; each chunk picks its two with one shuffle each.
        const __m256i sc16 = k4_scales16(sm);
        __m256i acc = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
            const __m256i q = load256(x[i].qs + 32 * c);
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i plo = _mm256_maddubs_epi16(lo, load256(y[i].qs + 64 * c));
            const __m256i phi = _mm256_maddubs_epi16(hi, load256(y[i].qs + 64 * c + 32));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(plo, broadcast_lane16(sc16, 2 * c)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(phi, broadcast_lane16(sc16, 2 * c + 1)));
        }
        const int sumi = hsum(acc);
        sum += y[i].d * (fp16(x[i].d) * float(sumi) - fp16(x[i].dmin) * float(summ));
    }
    return sum;
}

float dot_q5_k(const void * w, const void * a, int64_t n) {
    const BlockQ5_K * x = static_cast<const BlockQ5_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i b16 = _mm256_set1_epi8(0x10);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const __m128i sm = k4_scales_mins(x[i].scales);
        const int summ = k4_min_dot_bsums(sm, y[i].bsums);
        const __m256i sc16 = k4_scales16(sm);
        const __m256i qh = load256(x[i].qh);
        __m256i acc = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
            const __m256i q = load256(x[i].qs + 32 * c);
            // bit 2c of qh[l] -> bit 4 of element 64c + l; bit 2c+1 -> element 64c + 32 + l.
            const __m256i hlo = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c), 4), b16);
            const __m256i hhi = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c + 1), 4), b16);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), hlo);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), hhi);
            const __m256i plo = _mm256_maddubs_epi16(lo, load256(y[i].qs + 64 * c));
            const __m256i phi = _mm256_maddubs_epi16(hi, load256(y[i].qs + 64 * c + 32));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(plo, broadcast_lane16(sc16, 2 * c)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(phi, broadcast_lane16(sc16, 2 * c + 1)));
        }
        const int sumi = hsum(acc);
        sum += y[i].d * (fp16(x[i].d) * float(sumi) - fp16(x[i].dmin) * float(summ));
    }
    return sum;
}

// Q3_K's 16 packed 6-bit scales -> 16 signed int8 (same values as q3k_scale()).
inline __m128i q3k_scales_i8(const uint8_t * s) {
    uint64_t lo;
    uint32_t hi;
    std::memcpy(&lo, s, 8);
    std::memcpy(&hi, s + 8, 4);
    const __m128i v = _mm_cvtsi64_si128(int64_t(lo));
    const __m128i m = _mm_set1_epi8(0x0F);
    const __m128i lo4 = _mm_unpacklo_epi64(_mm_and_si128(v, m), _mm_and_si128(_mm_srli_epi16(v, 4), m));
    const __m128i rep = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(hi)), _mm_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3));
    const __m128i b4 = _mm_setr_epi8(1, 1, 1, 1, 4, 4, 4, 4, 16, 16, 16, 16, 64, 64, 64, 64);
    const __m128i b5 = _mm_add_epi8(b4, b4);
    const __m128i h4 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, b4), b4), _mm_set1_epi8(0x10));
    const __m128i h5 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, b5), b5), _mm_set1_epi8(0x20));
    return _mm_sub_epi8(_mm_or_si128(lo4, _mm_or_si128(h4, h5)), _mm_set1_epi8(32));
}

float dot_q6_k(const void * w, const void * a, int64_t n) {
    return dot_q6_k_row(static_cast<const BlockQ6_K *>(w), static_cast<const BlockQ8_K *>(a), n / kQK_K, [](int64_t) {});
}

float dot_q3_k(const void * w, const void * a, int64_t n) {
    const BlockQ3_K * x = static_cast<const BlockQ3_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i m2 = _mm256_set1_epi8(0x03);
    const __m256i one = _mm256_set1_epi8(1);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        // Level + 4 is unsigned 0..7 (2 low bits | hmask bit << 2): sum sc*(u-4)*y
        // = sum sc*u*y - 4 * sum_g sc_g * bsums_g.
        const __m128i s8 = q3k_scales_i8(x[i].scales);
        const __m256i s8_both = _mm256_broadcastsi128_si256(s8);
        const int bias = hsum(_mm256_madd_epi16(_mm256_cvtepi8_epi16(s8), load256(y[i].bsums)));
        const __m256i hm = load256(x[i].hmask);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i qs = load256(x[i].qs + 32 * h);
            for (int j = 0; j < 4; ++j) {
                const int e0 = 128 * h + 32 * j;
                const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), m2);
                const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one), 2);
                const __m256i p = _mm256_maddubs_epi16(_mm256_or_si256(lo, hb), load256(y[i].qs + e0));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair_scales_i8(s8_both, e0 / 32)));
            }
        }
        const int sumi = hsum(acc) - 4 * bias;
        sum += fp16(x[i].d) * y[i].d * float(sumi);
    }
    return sum;
}

float dot_q2_k(const void * w, const void * a, int64_t n) {
    const BlockQ2_K * x = static_cast<const BlockQ2_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i m2 = _mm256_set1_epi8(0x03);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const __m128i s8 = load128(x[i].scales);
        const __m256i sc_both = _mm256_broadcastsi128_si256(_mm_and_si128(s8, _mm_set1_epi8(0x0F)));
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(0x0F)));
        const int summ = hsum(_mm256_madd_epi16(mins, load256(y[i].bsums)));
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i qs = load256(x[i].qs + 32 * h);
            for (int j = 0; j < 4; ++j) {
                const int e0 = 128 * h + 32 * j;
                const __m256i q = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), m2);
                const __m256i p = _mm256_maddubs_epi16(q, load256(y[i].qs + e0));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair_scales_i8(sc_both, e0 / 32)));
            }
        }
        const int sumi = hsum(acc);
        sum += y[i].d * (fp16(x[i].d) * float(sumi) - fp16(x[i].dmin) * float(summ));
    }
    return sum;
}

// Decodes n_sub (8 or 16) scales packed as IQ4_XS / QT4 do it: bits 0..3 as nibbles (sub-block j
// in nibble j%2 of byte j/2), bits 4..5 as 2-bit fields (bits 2(j%4).. of byte j/4). Returns the
// 6-bit values in bytes 0..n_sub-1. Vector code: the scalar bit-field decode was most of the
// instructions of these kernels.
inline __m128i unpack_scales6(const uint8_t * lo_nibbles, uint32_t hi_fields) {
    uint64_t lo = 0;
    std::memcpy(&lo, lo_nibbles, 8);
    const __m128i v = _mm_cvtsi64_si128(int64_t(lo));
    const __m128i m = _mm_set1_epi8(0x0F);
    const __m128i low = _mm_unpacklo_epi8(_mm_and_si128(v, m), _mm_and_si128(_mm_srli_epi16(v, 4), m));
    const __m128i rep = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(hi_fields)),
                                         _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
    const __m128i bit4 = _mm_setr_epi8(1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64);
    const __m128i bit5 = _mm_add_epi8(bit4, bit4);
    const __m128i h4 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, bit4), bit4), _mm_set1_epi8(0x10));
    const __m128i h5 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, bit5), bit5), _mm_set1_epi8(0x20));
    return _mm_or_si128(low, _mm_or_si128(h4, h5));
}

// kIQ4Values[idx] . y over 32 elements, times an integer scale, as 8 int32 partial sums:
// maddubs pairs stay below 2*127*127 (no saturation) and madd applies the scale for free.
inline __m256i iq4_dot_scaled(const uint8_t * qs16, const int8_t * y32, __m256i scale16) {
    const __m256i v = iq4_lookup(qs16);
    const __m256i yy = load256(y32);
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(yy, v));
    return _mm256_madd_epi16(p, scale16);
}


float dot_iq4_xs(const void * w, const void * a, int64_t n) {
    const BlockIQ4_XS * x = static_cast<const BlockIQ4_XS *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        __m256i acc = _mm256_setzero_si256();
        // The 8 scales minus 32 as int16, in both halves (lane b = sub-block b).
        uint32_t lo4;
        std::memcpy(&lo4, x[i].scales_l, 4);
        alignas(8) uint8_t lo8[8] = {};
        std::memcpy(lo8, &lo4, 4);
        const __m128i s8 = _mm_sub_epi8(unpack_scales6(lo8, x[i].scales_h), _mm_set1_epi8(32));
        const __m256i s16 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(s8));
        for (int b = 0; b < 8; ++b) acc = _mm256_add_epi32(acc, iq4_dot_scaled(x[i].qs + 16 * b, y[i].qs + 32 * b, broadcast_lane16(s16, b)));
        sum += fp16(x[i].d) * y[i].d * float(hsum(acc));
    }
    return sum;
}

float dot_q8_k(const void * w, const void * a, int64_t n) {
    const BlockQ8_K * x = static_cast<const BlockQ8_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < kQK_K; j += 32) acc = _mm256_add_epi32(acc, dot_i8(load256(x[i].qs + j), load256(y[i].qs + j)));
        sum += x[i].d * y[i].d * float(hsum(acc));
    }
    return sum;
}

// ---- QT4 . Q8_KH: IQ4_XS's inner loop on rotated rows (qt4.h) ------------------------------

void quantize_q8_kh(const float * src, void * dst, int64_t n, const float *) {
    // The rotation is the scalar reference's own code (exact adds and power-of-two scaling), so
    // the rotated floats, and hence the bytes, are identical.
    uint8_t * out = static_cast<uint8_t *>(dst);
    for (int64_t i = 0; i < n / kRotation; ++i) {
        alignas(32) float x[kRotation];
        std::memcpy(x, src + i * kRotation, sizeof x);
        rotate_256(x);
        quantize_q8_k(x, out + i * sizeof(BlockQ8_K), kRotation, nullptr);
    }
}

float dot_qt4(const void * w, const void * a, int64_t n) {
    const BlockQT4 * x = static_cast<const BlockQT4 *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQT4Block; ++i) {
        const float d = fp16(x[i].d);
        // The 16 signed scales (same values as qt4_scale()), sign applied with the sign mask.
        uint32_t hi;
        std::memcpy(&hi, x[i].scales_h, 4);
        const __m128i mag = unpack_scales6(x[i].scales_l, hi);
        const __m128i rep = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(x[i].signs)),
                                             _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
        const __m128i bits = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
        const __m128i neg = _mm_cmpeq_epi8(_mm_and_si128(rep, bits), bits);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_xor_si128(mag, neg), neg));
        for (int h = 0; h < 2; ++h) {
            const BlockQ8_K & yb = y[2 * i + h];
            const __m256i s16 = h == 0 ? _mm256_permute2x128_si256(sc16, sc16, 0x00) : _mm256_permute2x128_si256(sc16, sc16, 0x11);
            __m256i acc = _mm256_setzero_si256();
            for (int j = 0; j < 8; ++j) {
                acc = _mm256_add_epi32(acc, iq4_dot_scaled(x[i].qs + 16 * (8 * h + j), yb.qs + 32 * j, broadcast_lane16(s16, j)));
            }
            sum += d * yb.d * float(hsum(acc));
        }
    }
    return sum;
}

// ---- float weights . f32 activations -------------------------------------------------------

float dot_f32(const void * w, const void * a, int64_t n) {
    const float * x = static_cast<const float *>(w);
    const float * y = static_cast<const float *>(a);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += x[i] * y[i];
    return sum;
}

float dot_f16(const void * w, const void * a, int64_t n) {
    const uint16_t * x = static_cast<const uint16_t *>(w);
    const float * y = static_cast<const float *>(a);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(x + i)), _mm256_loadu_ps(y + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(x + i + 8)), _mm256_loadu_ps(y + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += fp16(x[i]) * y[i];
    return sum;
}

float dot_bf16(const void * w, const void * a, int64_t n) {
    const uint16_t * x = static_cast<const uint16_t *>(w);
    const float * y = static_cast<const float *>(a);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i b = _mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(x + i)), 16);
        acc = _mm256_fmadd_ps(_mm256_castsi256_ps(b), _mm256_loadu_ps(y + i), acc);
    }
    float sum = hsum(acc);
    for (; i < n; ++i) sum += bf16_to_fp32(x[i]) * y[i];
    return sum;
}

void dequantize_q4_0(const void * src, float * dst, int64_t n) {
    const BlockQ4_0 * x = static_cast<const BlockQ4_0 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const __m256 d = _mm256_set1_ps(fp16(x[i].d));
        const __m256i q = _mm256_sub_epi8(unpack_nibbles_128(x[i].qs), _mm256_set1_epi8(8));
        for (int k = 0; k < 4; ++k) {
            const __m256i q32 = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(
                reinterpret_cast<const int8_t *>(&q) + 8 * k)));
            _mm256_storeu_ps(dst + i * kQK + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q32)));
        }
    }
}

void dequantize_q8_0(const void * src, float * dst, int64_t n) {
    const BlockQ8_0 * x = static_cast<const BlockQ8_0 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const __m256 d = _mm256_set1_ps(fp16(x[i].d));
        for (int k = 0; k < 4; ++k) {
            const __m256i q32 = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(x[i].qs + 8 * k)));
            _mm256_storeu_ps(dst + i * kQK + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q32)));
        }
    }
}

}  // namespace

void fill_kernels_avx2(IsaKernels & k) {
    auto id = [](Type t) { return size_t(t); };
    k.quantize[id(Type::Q8_0)] = quantize_q8_0;
    k.quantize[id(Type::Q8_1)] = quantize_q8_1;
    k.quantize[id(Type::Q8_K)] = quantize_q8_k;
    k.quantize[id(Type::Q8_KH)] = quantize_q8_kh;
    k.dot[id(Type::QT4)] = dot_qt4;
    k.dot[id(Type::Q8_KH)] = dot_q8_k;
    k.dot[id(Type::F32)] = dot_f32;
    k.dot[id(Type::F16)] = dot_f16;
    k.dot[id(Type::BF16)] = dot_bf16;
    k.dot[id(Type::Q8_0)] = dot_q8_0;
    k.dot[id(Type::Q4_0)] = dot_q4_0;
    k.dot[id(Type::Q4_1)] = dot_q4_1;
    k.dot[id(Type::Q5_0)] = dot_q5_0;
    k.dot[id(Type::Q5_1)] = dot_q5_1;
    k.dot[id(Type::IQ4_NL)] = dot_iq4_nl;
    k.dot[id(Type::Q2_K)] = dot_q2_k;
    k.dot[id(Type::Q3_K)] = dot_q3_k;
    k.dot[id(Type::Q4_K)] = dot_q4_k;
    k.dot[id(Type::Q5_K)] = dot_q5_k;
    k.dot[id(Type::Q6_K)] = dot_q6_k;
    k.dot[id(Type::Q8_K)] = dot_q8_k;
    k.dot[id(Type::IQ4_XS)] = dot_iq4_xs;
    fill_rows_avx2(k);  // multi-row dots, quant/simd/avx2_rows.cpp
    k.dequantize[id(Type::Q4_0)] = dequantize_q4_0;
    k.dequantize[id(Type::Q8_0)] = dequantize_q8_0;
}

}  // namespace quanta::quant
