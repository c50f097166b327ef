// quant/simd/avx2_matvec.cpp — AVX2 mat-vec kernels (decode): many weight rows against one
// activation row per call (quant::mat_vec, the CPU backend's M == 1 path), a few rows at a time.
//
// In decode every weight byte is read once, so a kernel has to consume weights faster than a
// core's share of the memory bandwidth (~11.5 GB/s on the 2-vCPU VM), with room to spare so its
// compute hides under the memory stream, and its loads must keep the memory busy. Several rows at
// a time save the per-row work that depends on the activation alone (Q4_0 also halves its nibble
// unpacking: two rows per register), and each group of rows prefetches the next group's in address
// order (NextRows below). Measured with bench_matvec (bench/RESULTS.md, "Decode mat-vec").
// Exactness: Q8_0 and Q6_K run vec_dot's own code per row; Q4_0, Q4_K and QT4 sum exactly in
// int32 and apply the reference's float expression lane-wise (the same IEEE operations in the same
// order, so the same bits as dot_row). A row's result does not depend on the other rows of its
// call (tests/quant/test_simd.cpp).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/qt4.h"
#include "quant/simd/avx2_blocks.h"
#include "quant/simd/simd.h"

namespace quanta::quant {

namespace {

using namespace x86;

template <typename B, int NR>
inline void weight_rows(const void * w, size_t stride, const B * (&x)[NR]) {
    for (int r = 0; r < NR; ++r) x[r] = reinterpret_cast<const B *>(static_cast<const char *>(w) + size_t(r) * stride);
}

// Decode streams each weight byte from DRAM once. Reading 4 rows side by side makes 4 interleaved
// streams, which the hardware prefetchers serve worse than one (measured from DRAM on one core:
// Q4_K 5.0 GB/s vs 9.1 for vec_dot row by row), so every group of rows also prefetches the next
// group's (the n_w rows after its own: contiguous in a matrix; a prefetch past the end is harmless)
// in address order, one slice per main-loop step: one sequential stream a group ahead (Q4_K 12-13
// GB/s). QUANTA_MV_PREFETCH=<groups ahead> (read once, at fill time; 1 by default, 0 turns it off)
// sets how far ahead, for comparisons.
int g_next = 1;
struct NextRows {
    const char * p = nullptr;
    int64_t slice = 0;
    NextRows(const void * w, size_t stride, int n_w, int64_t steps) {
        if (!g_next || steps <= 0) return;
        const int64_t bytes = int64_t(stride) * n_w;
        p = static_cast<const char *>(w) + bytes * g_next;
        slice = ((bytes + steps - 1) / steps + 63) / 64 * 64;
    }
    void step(int64_t s) const {
        if (!p) return;
        const char * c = p + s * slice;
        for (int64_t o = 0; o < slice; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
    }
};

// ---- Q8_0 . Q8_0 -------------------------------------------------------------------------------

// vec_dot's own code per row (bit for bit), rows one after another; what the group adds is the
// linear prefetch of the next group's rows (NextRows). Sharing the activation loads across rows
// bought nothing here (22-24 GB/s per core either way).
template <int NR>
void wrows_q8_0_t(const void * w, size_t stride, const void * a, float * out, int64_t n) {
    const BlockQ8_0 * x[NR];
    weight_rows<BlockQ8_0, NR>(w, stride, x);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    const int64_t groups = n / kQK / 8;
    const NextRows next(w, stride, NR, groups * NR);
    for (int r = 0; r < NR; ++r) out[r] = dot_q8_0_row(x[r], y, n / kQK, [&](int64_t g) { next.step(r * groups + g); });
}

// ---- Q6_K . Q8_K -------------------------------------------------------------------------------

// As Q8_0: vec_dot's own code per row (bit for bit) plus the linear prefetch of the next group's rows.
template <int NR>
void wrows_q6_k_t(const void * w, size_t stride, const void * a, float * out, int64_t n) {
    const BlockQ6_K * x[NR];
    weight_rows<BlockQ6_K, NR>(w, stride, x);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const int64_t nb = n / kQK_K;
    const NextRows next(w, stride, NR, nb * NR);
    for (int r = 0; r < NR; ++r) out[r] = dot_q6_k_row(x[r], y, nb, [&](int64_t i) { next.step(r * nb + i); });
}

// ---- Q4_0 . Q8_0 -------------------------------------------------------------------------------

// What the Q4_0 kernel needs of each activation block, prepared once per call for all its rows:
// 8 x the sum of the block's values (the -8 offset of the levels, applied in int32) and its scale.
struct Q4_0Act {
    int32_t sum8;
    float d;
};

// Eight weight rows at a time, two per register: the 16 packed bytes of a block of row q (low
// 128-bit lane) and of row q+4 (high lane) are loaded together, so one unpack (and, shift, and)
// serves both; the activation block is broadcast to both lanes, its low 16 elements against the
// low nibbles and its high 16 against the high nibbles. Levels stay unsigned (maddubs needs one
// unsigned operand). Three horizontal adds fold the four pair registers into one vector whose lane
// r is row r's exact int32 sum of level x activation over the block, minus 8 x the activation
// sum: the reference's integer s. Then, lane-wise, sum += float(s) * d_x * d_y in block order: the
// reference's float expression, so every row equals dot_row_q4_0 bit for bit, whichever rows
// share its call. Per block the 8 rows share one scale conversion and one float update, and per
// call the activation's sums are prepared once (they cost as much as the rows' float work when
// redone per group: bench/RESULTS.md, "Decode mat-vec").
inline __m256 q4_0_rows8_block(const BlockQ4_0 * const (&x)[8], int64_t i, const BlockQ8_0 & yb, const Q4_0Act & ya, __m256 acc) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    const __m256i ylo = _mm256_broadcastsi128_si256(load128(yb.qs)), yhi = _mm256_broadcastsi128_si256(load128(yb.qs + 16));
    __m256i p[4];
    for (int q = 0; q < 4; ++q) {
        const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(x[q][i].qs)), load128(x[q + 4][i].qs), 1);
        const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        p[q] = _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(lo, ylo), _mm256_maddubs_epi16(hi, yhi)), ones);
    }
    // Lanes [p0 p0 p1 p1 | p4 p4 p5 p5] + [p2 p2 p3 p3 | p6 p6 p7 p7] -> rows [0 1 2 3 | 4 5 6 7].
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    const __m256i s = _mm256_sub_epi32(h, _mm256_set1_epi32(ya.sum8));
    const __m256 dx = _mm256_cvtph_ps(_mm_setr_epi16(int16_t(x[0][i].d), int16_t(x[1][i].d), int16_t(x[2][i].d), int16_t(x[3][i].d),
                                                     int16_t(x[4][i].d), int16_t(x[5][i].d), int16_t(x[6][i].d), int16_t(x[7][i].d)));
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), dx), _mm256_set1_ps(ya.d)));
}

void wrows_q4_0(const void * w, size_t stride, int64_t n_w, const void * a, float * out, int64_t n) {
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    const int64_t nb = n / kQK;
    thread_local std::vector<Q4_0Act> prep;
    if (prep.size() < size_t(nb)) prep.resize(size_t(nb));
    const __m256i one8 = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
    for (int64_t i = 0; i < nb; ++i) {
        const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(one8, load256(y[i].qs)), ones);
        prep[size_t(i)] = {8 * hsum(s32), fp16(y[i].d)};
    }
    const char * wb = static_cast<const char *>(w);
    for (int64_t r0 = 0; r0 < n_w; r0 += 8) {
        const int64_t cnt = std::min<int64_t>(8, n_w - r0);
        const BlockQ4_0 * x[8];
        for (int q = 0; q < 8; ++q) x[q] = reinterpret_cast<const BlockQ4_0 *>(wb + size_t(r0 + std::min<int64_t>(q, cnt - 1)) * stride);
        const NextRows next(wb + size_t(r0) * stride, stride, 8, (nb + 7) / 8);
        __m256 acc = _mm256_setzero_ps();
        for (int64_t i = 0; i < nb; ++i) {
            if ((i & 7) == 0) next.step(i / 8);
            acc = q4_0_rows8_block(x, i, y[i], prep[size_t(i)], acc);
        }
        alignas(32) float res[8];
        _mm256_store_ps(res, acc);
        for (int64_t q = 0; q < cnt; ++q) out[r0 + q] = res[q];
    }
}

// The int32 sums of 4 accumulators (fewer rows: zero vectors), exact, as one vector.
inline __m128i hsum4(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// ---- Q4_K . Q8_K -------------------------------------------------------------------------------

// int16 lanes of chunk-pair scales: scale j in every int16 of the register (both 128-bit lanes).
template <int J>
inline __m256i q4_k_scale(__m256i sc16_both) {
    return _mm256_shuffle_epi8(sc16_both, _mm256_set1_epi16(int16_t((2 * J) | ((2 * J + 1) << 8))));
}

// Rows one after another within each super-block, each row's int32 sums (products, and mins x
// activation sums) left in vectors; then one exact 4-way reduction each and dot_q4_k's float
// expression for the 4 rows in one 128-bit vector: bit for bit the reference, like vec_dot.
// Everything a row needs per super-block (scales, mins, the fp16 d/dmin) stays in registers and
// the scale broadcasts use constant shuffle controls, which took the kernel from ~10 to ~17 GB/s
// per core in L2 (bench/RESULTS.md, "Decode mat-vec").
template <int NR>
void wrows_q4_k_t(const void * w, size_t stride, const void * a, float * out, int64_t n) {
    const BlockQ4_K * x[NR];
    weight_rows<BlockQ4_K, NR>(w, stride, x);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m128 sum = _mm_setzero_ps();  // lane r: row r
    const NextRows next(w, stride, NR, n / kQK_K);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        next.step(i);
        __m256i acc[4], macc[4];
        const __m256i bsums = load256(y[i].bsums);
        const int8_t * yq = y[i].qs;
        uint16_t dh[4] = {}, mh[4] = {};
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
            if (r >= NR) {
                acc[r] = macc[r] = _mm256_setzero_si256();
                continue;
            }
            const BlockQ4_K & b = x[r][i];
            const __m128i sm = k4_scales_mins(b.scales);
            macc[r] = _mm256_madd_epi16(bsums, k4_mins_pairs16(sm));
            const __m256i sc = k4_scales16(sm);
            __m256i s = _mm256_setzero_si256();
            // Chunk c: 32 packed bytes = sub-blocks 2c (low nibbles) and 2c+1 (high nibbles).
#define QUANTA_Q4K_CHUNK(c)                                                                                              \
    {                                                                                                                    \
        const __m256i q = load256(b.qs + 32 * (c));                                                                     \
        const __m256i plo = _mm256_maddubs_epi16(_mm256_and_si256(q, m4), load256(yq + 64 * (c)));                       \
        const __m256i phi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), load256(yq + 64 * (c) + 32)); \
        s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_madd_epi16(plo, q4_k_scale<2 * (c)>(sc)),                        \
                                                 _mm256_madd_epi16(phi, q4_k_scale<2 * (c) + 1>(sc))));                  \
    }
            QUANTA_Q4K_CHUNK(0)
            QUANTA_Q4K_CHUNK(1)
            QUANTA_Q4K_CHUNK(2)
            QUANTA_Q4K_CHUNK(3)
#undef QUANTA_Q4K_CHUNK
            acc[r] = s;
            dh[r] = b.d;
            mh[r] = b.dmin;
        }
        const __m128 sumi = _mm_cvtepi32_ps(hsum4(acc[0], acc[1], acc[2], acc[3]));
        const __m128 summ = _mm_cvtepi32_ps(hsum4(macc[0], macc[1], macc[2], macc[3]));
        const __m128 dd = _mm_cvtph_ps(_mm_setr_epi16(int16_t(dh[0]), int16_t(dh[1]), int16_t(dh[2]), int16_t(dh[3]), 0, 0, 0, 0));
        const __m128 dmin = _mm_cvtph_ps(_mm_setr_epi16(int16_t(mh[0]), int16_t(mh[1]), int16_t(mh[2]), int16_t(mh[3]), 0, 0, 0, 0));
        // y.d * (d * float(sumi) - dmin * float(summ)), as dot_q4_k.
        sum = _mm_add_ps(sum, _mm_mul_ps(_mm_set1_ps(y[i].d), _mm_sub_ps(_mm_mul_ps(dd, sumi), _mm_mul_ps(dmin, summ))));
    }
    alignas(16) float res[4];
    _mm_store_ps(res, sum);
    for (int r = 0; r < NR; ++r) out[r] = res[r];
}

// ---- QT4 . Q8_KH --------------------------------------------------------------------------------

// One 32-byte load of QT4 indices covers sub-blocks j and j+1: its low nibbles are elements
// 32j+0..15 (low 128-bit lane) and 32(j+1)+0..15 (high lane), its high nibbles 32j+16..31 and
// 32(j+1)+16..31. The activation is arranged the same way (and its magnitudes taken) once for all
// rows of the group, so a row pays one load, three unpack ops and one scale shuffle per two
// sub-blocks. Products: maddubs(|y|, level carrying y's sign) = y * level summed in pairs;
// |level| <= 127 and |y| <= 127, so it never saturates and the int32 sums are exact. The float
// expression per 256 elements is dot_qt4's, evaluated for the 4 rows in one 128-bit vector.
struct QT4Pair {
    __m256i lo, hi, abs_lo, abs_hi;  // y arranged for the low / high nibbles, and |y|
};

inline QT4Pair arrange_pair(const int8_t * y64) {
    const __m256i lo = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(y64)), load128(y64 + 32), 1);
    const __m256i hi = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(y64 + 16)), load128(y64 + 48), 1);
    return {lo, hi, _mm256_sign_epi8(lo, lo), _mm256_sign_epi8(hi, hi)};
}

// 16 signed 6-bit scales of a QT4 block as int8 (= qt4_scale()), broadcast to both lanes.
inline __m256i qt4_scales_i8(const BlockQT4 & b) {
    uint64_t l8;
    std::memcpy(&l8, b.scales_l, 8);
    uint32_t hi;
    std::memcpy(&hi, b.scales_h, 4);
    const __m128i v = _mm_cvtsi64_si128(int64_t(l8));
    const __m128i m = _mm_set1_epi8(0x0F);
    const __m128i low = _mm_unpacklo_epi8(_mm_and_si128(v, m), _mm_and_si128(_mm_srli_epi16(v, 4), m));
    const __m128i rep = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(hi)), _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
    const __m128i bit4 = _mm_setr_epi8(1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64);
    const __m128i bit5 = _mm_add_epi8(bit4, bit4);
    const __m128i h4 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, bit4), bit4), _mm_set1_epi8(0x10));
    const __m128i h5 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, bit5), bit5), _mm_set1_epi8(0x20));
    const __m128i mag = _mm_or_si128(low, _mm_or_si128(h4, h5));
    const __m128i srep = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(b.signs)), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    const __m128i bits = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    const __m128i neg = _mm_cmpeq_epi8(_mm_and_si128(srep, bits), bits);
    return _mm256_broadcastsi128_si256(_mm_sub_epi8(_mm_xor_si128(mag, neg), neg));
}

inline __m256i qt4_table() {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i *>(kIQ4Values)));
}

template <int NR>
void wrows_qt4_t(const void * w, size_t stride, const void * a, float * out, int64_t n) {
    const BlockQT4 * x[NR];
    weight_rows<BlockQT4, NR>(w, stride, x);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i table = qt4_table();
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m128 sum = _mm_setzero_ps();  // lane r: row r
    const NextRows next(w, stride, NR, n / kQT4Block);
    for (int64_t i = 0; i < n / kQT4Block; ++i) {
        next.step(i);
        __m256i s8[NR];
        uint16_t dh[4] = {};
        for (int r = 0; r < NR; ++r) {
            s8[r] = qt4_scales_i8(x[r][i]);
            dh[r] = x[r][i].d;
        }
        const __m128 d = _mm_cvtph_ps(_mm_setr_epi16(int16_t(dh[0]), int16_t(dh[1]), int16_t(dh[2]), int16_t(dh[3]), 0, 0, 0, 0));
        for (int h = 0; h < 2; ++h) {
            const BlockQ8_K & yb = y[2 * i + h];
            __m256i acc[4];
            for (int r = 0; r < 4; ++r) acc[r] = _mm256_setzero_si256();
            for (int p = 0; p < 4; ++p) {
                const QT4Pair ya = arrange_pair(yb.qs + 64 * p);
                const int pp = 4 * h + p;  // sub-block pair of the block: sub-blocks 2pp, 2pp+1
                for (int r = 0; r < NR; ++r) {
                    const __m256i raw = load256(x[r][i].qs + 32 * pp);
                    const __m256i vlo = _mm256_shuffle_epi8(table, _mm256_and_si256(raw, m4));
                    const __m256i vhi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4));
                    // |y| times the level carrying y's sign: y * level, pairs summed, never saturating.
                    const __m256i plo = _mm256_maddubs_epi16(ya.abs_lo, _mm256_sign_epi8(vlo, ya.lo));
                    const __m256i phi = _mm256_maddubs_epi16(ya.abs_hi, _mm256_sign_epi8(vhi, ya.hi));
                    const __m256i sc = pair_scales_i8(s8[r], pp);
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_add_epi32(_mm256_madd_epi16(plo, sc), _mm256_madd_epi16(phi, sc)));
                }
            }
            // dot_qt4's expression per row, 4 rows per instruction: sum += d * y.d * float(sumi).
            const __m128 sumi = _mm_cvtepi32_ps(hsum4(acc[0], acc[1], acc[2], acc[3]));
            sum = _mm_add_ps(sum, _mm_mul_ps(_mm_mul_ps(d, _mm_set1_ps(yb.d)), sumi));
        }
    }
    alignas(16) float res[4];
    _mm_store_ps(res, sum);
    for (int r = 0; r < NR; ++r) out[r] = res[r];
}

// Rows 4 at a time through the NR-row kernels (a tail of 1-3 through their own instance).
template <template <int> class K>
void wrows_dispatch(const void * w, size_t stride, int64_t n_w, const void * a, float * out, int64_t n) {
    const char * wb = static_cast<const char *>(w);
    int64_t r = 0;
    for (; r + 4 <= n_w; r += 4) K<4>::run(wb + size_t(r) * stride, stride, a, out + r, n);
    switch (n_w - r) {
        case 1: K<1>::run(wb + size_t(r) * stride, stride, a, out + r, n); return;
        case 2: K<2>::run(wb + size_t(r) * stride, stride, a, out + r, n); return;
        case 3: K<3>::run(wb + size_t(r) * stride, stride, a, out + r, n); return;
        default: return;
    }
}
template <int NR> struct WQ8_0 { static void run(const void * w, size_t s, const void * a, float * o, int64_t n) { wrows_q8_0_t<NR>(w, s, a, o, n); } };
template <int NR> struct WQ6_K { static void run(const void * w, size_t s, const void * a, float * o, int64_t n) { wrows_q6_k_t<NR>(w, s, a, o, n); } };
template <int NR> struct WQ4_K { static void run(const void * w, size_t s, const void * a, float * o, int64_t n) { wrows_q4_k_t<NR>(w, s, a, o, n); } };
template <int NR> struct WQT4 { static void run(const void * w, size_t s, const void * a, float * o, int64_t n) { wrows_qt4_t<NR>(w, s, a, o, n); } };

}  // namespace

void fill_matvec_avx2(IsaKernels & k) {
    // QUANTA_MATVEC=0: no mat-vec kernels (decode calls vec_dot row by row, as before they existed),
    // for before/after comparisons in one binary.
    if (const char * e = std::getenv("QUANTA_MATVEC"); e && std::atoi(e) == 0) return;
    if (const char * e = std::getenv("QUANTA_MV_PREFETCH")) g_next = std::clamp(std::atoi(e), 0, 64);
    k.dot_wrows[size_t(Type::Q4_0)] = wrows_q4_0;
    k.dot_wrows[size_t(Type::Q8_0)] = wrows_dispatch<WQ8_0>;
    k.dot_wrows[size_t(Type::Q4_K)] = wrows_dispatch<WQ4_K>;
    k.dot_wrows[size_t(Type::Q6_K)] = wrows_dispatch<WQ6_K>;
    k.dot_wrows[size_t(Type::QT4)] = wrows_dispatch<WQT4>;
}

}  // namespace quanta::quant
