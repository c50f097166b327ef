// quant/simd/avx2_blocks.h — AVX2 pieces shared by the single-row kernels (avx2.cpp) and the
// multi-row kernels (avx2_rows.cpp), which must perform the very same operations to give the same
// floats. Include only from translation units compiled with -mavx2 -mfma -mf16c.
#pragma once

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/simd/x86_common.h"

namespace quanta::quant::x86 {

inline __m256 q8_0_block(const BlockQ8_0 & x, const BlockQ8_0 & y) {
    return _mm256_cvtepi32_ps(dot_i8(load256(x.qs), load256(y.qs)));
}

// The fp16 scales `d` of 8 consecutive blocks as floats: one vcvtph2ps instead of 8 scalar
// conversions. (Assembling the halves in general-purpose registers instead of this store and
// reload measured 4-5% slower in the Q4_0 and Q8_0 mat-vec.)
template <typename B>
inline __m256 cvt_scales8(const B * blocks) {
    alignas(16) uint16_t h[8];
    for (int k = 0; k < 8; ++k) h[k] = blocks[k].d;
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i *>(h)));
}

// Scale products d_x * d_y of 8 consecutive blocks at once.
template <typename BX, typename BY>
inline __m256 scales8(const BX * x, const BY * y) {
    return _mm256_mul_ps(cvt_scales8(x), cvt_scales8(y));
}

inline __m256 lane(__m256 v, int k) { return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(k)); }

// Q8_0 . Q8_0 over nb blocks (vec_dot; also each row of the mat-vec kernel, hence here): 8 blocks
// share one scale conversion, even and odd blocks accumulate apart. step(g) runs before group g
// of 8 blocks (the mat-vec kernel prefetches there).
template <typename Step>
inline float dot_q8_0_row(const BlockQ8_0 * x, const BlockQ8_0 * y, int64_t nb, Step step) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        step(i / 8);
        const __m256 d = scales8(x + i, y + i);
        for (int k = 0; k < 8; k += 2) {
            acc0 = _mm256_fmadd_ps(lane(d, k), q8_0_block(x[i + k], y[i + k]), acc0);
            acc1 = _mm256_fmadd_ps(lane(d, k + 1), q8_0_block(x[i + k + 1], y[i + k + 1]), acc1);
        }
    }
    for (; i < nb; ++i) acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[i].d)), q8_0_block(x[i], y[i]), acc0);
    return hsum(_mm256_add_ps(acc0, acc1));
}

// sum_j (q_j - 8) * y_j with q unsigned: maddubs(q, y) - maddubs(8, y) (no sign fix-ups needed).
inline __m256 q4_0_block(const BlockQ4_0 & x, const BlockQ8_0 & y) {
    const __m256i qy = load256(y.qs);
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(unpack_nibbles_128(x.qs), qy),
                                       _mm256_maddubs_epi16(_mm256_set1_epi8(8), qy));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

// Byte-shuffle controls that broadcast int16 lane j of a register (in both 128-bit halves).
// constexpr: a table built by a static constructor in this AVX2-compiled file could execute
// AVX2 instructions at program start on a CPU without them.
struct LaneBroadcast {
    uint8_t ctl[8][32];
};
constexpr LaneBroadcast make_lane_broadcast() {
    LaneBroadcast t{};
    for (int j = 0; j < 8; ++j) {
        for (int b = 0; b < 32; b += 2) {
            t.ctl[j][b] = uint8_t(2 * j);
            t.ctl[j][b + 1] = uint8_t(2 * j + 1);
        }
    }
    return t;
}
alignas(32) inline constexpr LaneBroadcast kLaneBroadcast = make_lane_broadcast();

inline __m256i broadcast_lane16(__m256i v, int j) {
    return _mm256_shuffle_epi8(v, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kLaneBroadcast.ctl[j])));
}

// 16 int8 sub-block scales, broadcast to both halves of a register, -> int16 vector holding
// scale 2k in the low half and 2k+1 in the high half (one 32-element chunk = two 16-element
// sub-blocks). The shuffle puts each byte in the high byte of its int16 lane and the arithmetic
// shift sign-extends it: 2 uops instead of two scalar broadcasts and an insert.
struct PairCtl {
    uint8_t ctl[8][32];
};
constexpr PairCtl make_pair_ctl() {
    PairCtl t{};
    for (int k = 0; k < 8; ++k) {
        for (int b = 0; b < 32; ++b) t.ctl[k][b] = (b & 1) ? uint8_t(2 * k + (b >= 16 ? 1 : 0)) : uint8_t(0x80);
    }
    return t;
}
alignas(32) inline constexpr PairCtl kPairCtl = make_pair_ctl();

inline __m256i pair_scales_i8(__m256i s8_both, int k) {
    return _mm256_srai_epi16(_mm256_shuffle_epi8(s8_both, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kPairCtl.ctl[k]))), 8);
}


// Q6_K's unsigned 6-bit levels (stored +32) of half h (elements 128h..128h+127) of a block, as 4
// registers of 32: low 4 bits from ql, high 2 from qh.
inline void q6_k_levels(const BlockQ6_K & b, int h, __m256i (&q)[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i m2 = _mm256_set1_epi8(0x03);
    const __m256i la = load256(b.ql + 64 * h), lb = load256(b.ql + 64 * h + 32);
    const __m256i qh = load256(b.qh + 32 * h);
    q[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
}
// Q6_K . Q8_K over nb super-blocks (vec_dot; also each row of the mat-vec kernel, hence here).
// step(i) runs before super-block i (the mat-vec kernel prefetches there).
template <typename Step>
inline float dot_q6_k_row(const BlockQ6_K * x, const BlockQ8_K * y, int64_t nb, Step step) {
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
        step(i);
        // Levels are stored +32: sum sc*(q-32)*y = sum sc*q*y - 32 * sum_g sc_g * bsums_g.
        const __m128i s8 = load128(x[i].scales);
        const __m256i s8_both = _mm256_broadcastsi128_si256(s8);
        const int bias = hsum(_mm256_madd_epi16(_mm256_cvtepi8_epi16(s8), load256(y[i].bsums)));
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            __m256i q[4];
            q6_k_levels(x[i], h, q);
            for (int k = 0; k < 4; ++k) {
                const int e0 = 128 * h + 32 * k;
                const __m256i p = _mm256_maddubs_epi16(q[k], load256(y[i].qs + e0));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair_scales_i8(s8_both, e0 / 32)));
            }
        }
        const int sumi = hsum(acc) - 32 * bias;
        sum += fp16(x[i].d) * y[i].d * float(sumi);
    }
    return sum;
}

}  // namespace quanta::quant::x86
