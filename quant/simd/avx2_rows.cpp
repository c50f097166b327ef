// quant/simd/avx2_rows.cpp — AVX2 multi-row dots: one weight row against 1..4 activation rows
// (prompt processing). Each weight block is loaded and unpacked once for all rows; per row the
// operations and their order are exactly those of the single-row kernels in avx2.cpp (shared
// through avx2_blocks.h), so every out[r] equals vec_dot bit for bit (tests/quant/test_simd.cpp).
#include <cstring>

#include "quant/simd/avx2_blocks.h"
#include "quant/simd/simd.h"

namespace quanta::quant {

namespace {

using namespace x86;


template <int NR, typename BY>
inline void act_rows(const void * a, size_t stride, const BY * (&y)[NR]) {
    for (int r = 0; r < NR; ++r) y[r] = reinterpret_cast<const BY *>(static_cast<const char *>(a) + size_t(r) * stride);
}

// What differs between the 32-element types that pair with Q8_0 activations: the weight block
// unpacked once for all rows, its product with one activation block (8 float lanes), and the
// single-row block kernel of avx2.cpp for the tail.
struct Q8_0Part {
    using Block = BlockQ8_0;
    struct Unpacked { __m256i q, abs; };
    static Unpacked unpack(const BlockQ8_0 & b) {
        const __m256i q = load256(b.qs);
        return {q, _mm256_sign_epi8(q, q)};
    }
    static __m256 product(const Unpacked & u, const BlockQ8_0 & y, __m256i ones) {
        const __m256i sy = _mm256_sign_epi8(load256(y.qs), u.q);
        return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u.abs, sy), ones));
    }
    static __m256 tail(const BlockQ8_0 & x, const BlockQ8_0 & y) { return q8_0_block(x, y); }
};

struct Q4_0Part {
    using Block = BlockQ4_0;
    using Unpacked = __m256i;
    static Unpacked unpack(const BlockQ4_0 & b) { return unpack_nibbles_128(b.qs); }
    static __m256 product(const __m256i & q, const BlockQ8_0 & y, __m256i ones) {
        const __m256i qy = load256(y.qs), eight = _mm256_set1_epi8(8);
        const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q, qy), _mm256_maddubs_epi16(eight, qy));
        return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
    }
    static __m256 tail(const BlockQ4_0 & x, const BlockQ8_0 & y) { return q4_0_block(x, y); }
};

// One weight row of a 32-element type against NR Q8_0 activation rows; eight blocks share one
// scale conversion, odd and even blocks accumulate apart as in the single-row kernels.
template <typename P, int NR>
void dot_rows_32_t(const void * w, const void * a, size_t stride, float * out, int64_t n) {
    const typename P::Block * x = static_cast<const typename P::Block *>(w);
    const BlockQ8_0 * y[NR];
    act_rows<NR>(a, stride, y);
    const int64_t nb = n / kQK;
    __m256 acc0[NR], acc1[NR];
    for (int r = 0; r < NR; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    int64_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        const __m256 dx = cvt_scales8(x + i);
        __m256 d[NR];
        for (int r = 0; r < NR; ++r) d[r] = _mm256_mul_ps(dx, cvt_scales8(y[r] + i));
        for (int k = 0; k < 8; ++k) {
            const typename P::Unpacked u = P::unpack(x[i + k]);
            for (int r = 0; r < NR; ++r) {
                const __m256 p = P::product(u, y[r][i + k], ones);
                if (k & 1) acc1[r] = _mm256_fmadd_ps(lane(d[r], k), p, acc1[r]);
                else acc0[r] = _mm256_fmadd_ps(lane(d[r], k), p, acc0[r]);
            }
        }
    }
    for (; i < nb; ++i) {
        for (int r = 0; r < NR; ++r) {
            acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[i].d) * fp16(y[r][i].d)), P::tail(x[i], y[r][i]), acc0[r]);
        }
    }
    for (int r = 0; r < NR; ++r) out[r] = hsum(_mm256_add_ps(acc0[r], acc1[r]));
}

template <int NR>
void dot_rows_q4_k_t(const void * w, const void * a, size_t stride, float * out, int64_t n) {
    const BlockQ4_K * x = static_cast<const BlockQ4_K *>(w);
    const BlockQ8_K * y[NR];
    act_rows<NR>(a, stride, y);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    float sum[NR] = {};
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const __m128i sm = k4_scales_mins(x[i].scales);
        const __m256i sc16 = k4_scales16(sm);
        __m256i acc[NR];
        for (int r = 0; r < NR; ++r) acc[r] = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
            const __m256i q = load256(x[i].qs + 32 * c);
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i slo = broadcast_lane16(sc16, 2 * c), shi = broadcast_lane16(sc16, 2 * c + 1);
            for (int r = 0; r < NR; ++r) {
                const __m256i plo = _mm256_maddubs_epi16(lo, load256(y[r][i].qs + 64 * c));
                const __m256i phi = _mm256_maddubs_epi16(hi, load256(y[r][i].qs + 64 * c + 32));
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(plo, slo));
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(phi, shi));
            }
        }
        const float d = fp16(x[i].d), dmin = fp16(x[i].dmin);
        for (int r = 0; r < NR; ++r) {
            const int summ = k4_min_dot_bsums(sm, y[r][i].bsums);
            sum[r] += y[r][i].d * (d * float(hsum(acc[r])) - dmin * float(summ));
        }
    }
    for (int r = 0; r < NR; ++r) out[r] = sum[r];
}

template <int NR>
void dot_rows_q6_k_t(const void * w, const void * a, size_t stride, float * out, int64_t n) {
    const BlockQ6_K * x = static_cast<const BlockQ6_K *>(w);
    const BlockQ8_K * y[NR];
    act_rows<NR>(a, stride, y);
    float sum[NR] = {};
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const __m128i s8 = load128(x[i].scales);
        const __m256i s8_both = _mm256_broadcastsi128_si256(s8);
        const __m256i s16 = _mm256_cvtepi8_epi16(s8);
        __m256i acc[NR];
        for (int r = 0; r < NR; ++r) acc[r] = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            __m256i q[4];
            q6_k_levels(x[i], h, q);
            for (int k = 0; k < 4; ++k) {
                const int e0 = 128 * h + 32 * k;
                const __m256i s = pair_scales_i8(s8_both, e0 / 32);
                for (int r = 0; r < NR; ++r) {
                    const __m256i p = _mm256_maddubs_epi16(q[k], load256(y[r][i].qs + e0));
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(p, s));
                }
            }
        }
        const float d = fp16(x[i].d);
        for (int r = 0; r < NR; ++r) {
            const int bias = hsum(_mm256_madd_epi16(s16, load256(y[r][i].bsums)));
            sum[r] += d * y[r][i].d * float(hsum(acc[r]) - 32 * bias);
        }
    }
    for (int r = 0; r < NR; ++r) out[r] = sum[r];
}

template <template <int> class K>
void dot_rows_dispatch(const void * w, const void * a, size_t stride, int n_act, float * out, int64_t n) {
    switch (n_act) {
        case 1: K<1>::run(w, a, stride, out, n); return;
        case 2: K<2>::run(w, a, stride, out, n); return;
        case 3: K<3>::run(w, a, stride, out, n); return;
        default: K<4>::run(w, a, stride, out, n); return;
    }
}
template <int NR> struct RowsQ8_0 { static void run(const void * w, const void * a, size_t s, float * o, int64_t n) { dot_rows_32_t<Q8_0Part, NR>(w, a, s, o, n); } };
template <int NR> struct RowsQ4_0 { static void run(const void * w, const void * a, size_t s, float * o, int64_t n) { dot_rows_32_t<Q4_0Part, NR>(w, a, s, o, n); } };
template <int NR> struct RowsQ4_K { static void run(const void * w, const void * a, size_t s, float * o, int64_t n) { dot_rows_q4_k_t<NR>(w, a, s, o, n); } };
template <int NR> struct RowsQ6_K { static void run(const void * w, const void * a, size_t s, float * o, int64_t n) { dot_rows_q6_k_t<NR>(w, a, s, o, n); } };

}  // namespace

void fill_rows_avx2(IsaKernels & k) {
    k.dot_rows[size_t(Type::Q8_0)] = dot_rows_dispatch<RowsQ8_0>;
    k.dot_rows[size_t(Type::Q4_0)] = dot_rows_dispatch<RowsQ4_0>;
    k.dot_rows[size_t(Type::Q4_K)] = dot_rows_dispatch<RowsQ4_K>;
    k.dot_rows[size_t(Type::Q6_K)] = dot_rows_dispatch<RowsQ6_K>;
}

}  // namespace quanta::quant
