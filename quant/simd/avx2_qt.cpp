// quant/simd/avx2_qt.cpp — AVX2 kernels of QT3 and QT2 (formats in quant/qt3.h, quant/qt2.h).
//
// Dot with Q8_KH, one or several activation rows (prompt processing): per rotation block (256
// weights, one Q8_KH block) the weight indices are expanded once into 8 vectors of 32 int8 levels
// and reused for every activation row. Expansion of 32 indices: one broadcast 128-bit load of the
// 2-bit plane, a variable 64-bit shift by (4h, 4h, 4h+2, 4h+2) and a mask; QT3 adds its third bit
// from one 32-bit word (byte shuffle + compare against the bit masks); the levels come from one
// 16-byte shuffle table. Products use the sign trick (maddubs needs one unsigned operand: |v|
// times y carrying v's sign; |level| <= 127 so pairs never saturate), and madd applies the
// sub-block scales (int16) while widening to int32. The int32 sum per rotation block is exact, and
// the float expression d * y.d * sumi is the reference's, so every result equals dot_row_qt3 /
// dot_row_qt2 bit for bit, for any number of rows. Dequantize writes the rotated values with the
// reference's float expression and then runs the reference's own unrotate_256, so it too is exact.
#include <cstring>

#include "quant/dispatch.h"
#include "quant/kquants.h"
#include "quant/qt2.h"
#include "quant/qt3.h"
#include "quant/qt4.h"
#include "quant/simd/simd.h"
#include "quant/simd/x86_common.h"

namespace quanta::quant {

namespace {

using namespace x86;

// Indices 32h'..32h'+31 of a 64-element group of the 2-bit plane (h' = 0 or 1) as 32 bytes.
inline __m256i expand2(const uint8_t * group16, int half) {
    const __m256i b = _mm256_broadcastsi128_si256(load128(group16));
    const __m256i sh = _mm256_setr_epi64x(4 * half, 4 * half, 4 * half + 2, 4 * half + 2);
    return _mm256_and_si256(_mm256_srlv_epi64(b, sh), _mm256_set1_epi8(3));
}

// 32 bits (element k at bit k) -> 32 bytes, 4 where the bit is set, else 0.
inline __m256i expand_bit2(const uint8_t * bits4) {
    uint32_t word;
    std::memcpy(&word, bits4, 4);
    const __m256i rep = _mm256_shuffle_epi8(_mm256_set1_epi32(int(word)),
                                            _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                             2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i mask = _mm256_set1_epi64x(int64_t(0x8040201008040201ULL));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(rep, mask), mask), _mm256_set1_epi8(4));
}

// 16 signed 6-bit scales packed as QtHeader does (bits 0..3 as nibbles of lo[0..8), bits 4..5 as
// 2-bit fields of hi, sign bits in signs16) -> 16 int8 in sub-block order (= qt_scale()).
inline __m128i signed_scales16(const uint8_t * lo, uint32_t hi, uint32_t signs16) {
    uint64_t l8 = 0;
    std::memcpy(&l8, lo, 8);
    const __m128i v = _mm_cvtsi64_si128(int64_t(l8));
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i low = _mm_unpacklo_epi8(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    const __m128i rep = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(hi)), _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
    const __m128i b4 = _mm_setr_epi8(1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64);
    const __m128i b5 = _mm_add_epi8(b4, b4);
    const __m128i h4 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, b4), b4), _mm_set1_epi8(0x10));
    const __m128i h5 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(rep, b5), b5), _mm_set1_epi8(0x20));
    const __m128i mag = _mm_or_si128(low, _mm_or_si128(h4, h5));
    const __m128i srep = _mm_shuffle_epi8(_mm_cvtsi32_si128(int(signs16)), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    const __m128i bits = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    const __m128i neg = _mm_cmpeq_epi8(_mm_and_si128(srep, bits), bits);
    return _mm_sub_epi8(_mm_xor_si128(mag, neg), neg);
}

inline void qt3_scales(const BlockQT3 & b, int8_t * sc16) {
    uint32_t hi;
    std::memcpy(&hi, b.h.scales_h, 4);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(sc16), signed_scales16(b.h.scales_l, hi, b.h.signs));
}

inline void qt2_scales(const BlockQT2 & b, int8_t * sc32) {
    uint32_t hi[2];
    std::memcpy(hi, b.scales_h, 8);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(sc32), signed_scales16(b.scales_l, hi[0], b.signs & 0xFFFFu));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(sc32 + 16), signed_scales16(b.scales_l + 8, hi[1], b.signs >> 16));
}

// Scales s[0] in int16 lanes 0..7 and s[1] in lanes 8..15.
inline __m256i scale_pair16(const int8_t * s) {
    uint16_t two;
    std::memcpy(&two, s, 2);
    const __m128i b = _mm_shuffle_epi8(_mm_cvtsi32_si128(two), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    return _mm256_cvtepi8_epi16(b);
}

inline __m256i level_table(const int8_t * levels, int n) {
    alignas(16) int8_t t[16] = {};
    for (int k = 0; k < n; ++k) t[k] = levels[k];
    return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i *>(t)));
}

// One rotation block, decoded: 8 vectors of 32 levels (|v| and v's signs kept apart for maddubs)
// and the int16 scale vector of each (both 128-bit lanes may carry different scales: QT2).
struct Decoded {
    __m256i abs_v[8];
    __m256i v[8];
    __m256i scale[8];
};

inline void decoded_set(Decoded & dc, int j, __m256i v, __m256i scale) {
    dc.v[j] = v;
    dc.abs_v[j] = _mm256_sign_epi8(v, v);
    dc.scale[j] = scale;
}

// QT3 rotation block h of block x: sub-blocks 8h..8h+7.
inline void decode_qt3(const BlockQT3 & x, int h, __m256i table, Decoded & dc) {
    alignas(16) int8_t sc[16];
    qt3_scales(x, sc);
    for (int jj = 0; jj < 8; ++jj) {
        const int j = 8 * h + jj;
        const __m256i idx = _mm256_or_si256(expand2(x.ql + 16 * (j >> 1), j & 1), expand_bit2(x.qh + 4 * j));
        decoded_set(dc, jj, _mm256_shuffle_epi8(table, idx), _mm256_set1_epi16(sc[j]));
    }
}

// QT2 rotation block h: 32-element vector jj holds sub-blocks 16h + 2jj (low lane) and +1 (high).
inline void decode_qt2(const BlockQT2 & x, int h, __m256i table, Decoded & dc) {
    alignas(16) int8_t sc[32];
    qt2_scales(x, sc);
    for (int jj = 0; jj < 8; ++jj) {
        const int j32 = 8 * h + jj;  // 32-element group of the block
        const __m256i idx = expand2(x.qs + 16 * (j32 >> 1), j32 & 1);
        decoded_set(dc, jj, _mm256_shuffle_epi8(table, idx), scale_pair16(sc + 2 * j32));
    }
}

inline int dot_decoded(const Decoded & dc, const int8_t * y256) {
    __m256i acc = _mm256_setzero_si256();
    for (int jj = 0; jj < 8; ++jj) {
        const __m256i p = _mm256_maddubs_epi16(dc.abs_v[jj], _mm256_sign_epi8(load256(y256 + 32 * jj), dc.v[jj]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, dc.scale[jj]));
    }
    return hsum(acc);
}

inline uint16_t block_d(const BlockQT3 & b) { return b.h.d; }
inline uint16_t block_d(const BlockQT2 & b) { return b.d; }

template <typename Block, void (*Decode)(const Block &, int, __m256i, Decoded &)>
void dot_rows_qt(const void * w, const void * a, size_t act_stride, int n_act, float * out, int64_t n,
                 const int8_t * levels, int n_levels) {
    const Block * x = static_cast<const Block *>(w);
    const __m256i table = level_table(levels, n_levels);
    float sum[kMaxDotRows] = {};
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        const float d = fp16(block_d(x[i]));
        for (int h = 0; h < 2; ++h) {
            Decoded dc;
            Decode(x[i], h, table, dc);
            for (int r = 0; r < n_act; ++r) {
                const BlockQ8_K * y = reinterpret_cast<const BlockQ8_K *>(static_cast<const uint8_t *>(a) + size_t(r) * act_stride);
                const BlockQ8_K & yb = y[2 * i + h];
                sum[r] += d * yb.d * float(dot_decoded(dc, yb.qs));
            }
        }
    }
    for (int r = 0; r < n_act; ++r) out[r] = sum[r];
}

void dot_rows_qt3(const void * w, const void * a, size_t act_stride, int n_act, float * out, int64_t n) {
    dot_rows_qt<BlockQT3, decode_qt3>(w, a, act_stride, n_act, out, n, kQT3Levels, 8);
}
void dot_rows_qt2(const void * w, const void * a, size_t act_stride, int n_act, float * out, int64_t n) {
    dot_rows_qt<BlockQT2, decode_qt2>(w, a, act_stride, n_act, out, n, kQT2Levels, 4);
}
// Single row (decode, matrix-vector): decode and multiply fused, nothing kept between sub-blocks.
// Same integer sums and the same float expression as dot_rows_qt, so the same floats.
float dot_qt3(const void * w, const void * a, int64_t n) {
    const BlockQT3 * x = static_cast<const BlockQT3 *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i table = level_table(kQT3Levels, 8);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        const float d = fp16(x[i].h.d);
        alignas(16) int8_t sc[16];
        qt3_scales(x[i], sc);
        for (int h = 0; h < 2; ++h) {
            const int8_t * yq = y[2 * i + h].qs;
            __m256i acc = _mm256_setzero_si256();
            for (int jj = 0; jj < 8; ++jj) {
                const int j = 8 * h + jj;
                const __m256i idx = _mm256_or_si256(expand2(x[i].ql + 16 * (j >> 1), j & 1), expand_bit2(x[i].qh + 4 * j));
                const __m256i v = _mm256_shuffle_epi8(table, idx);
                const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(load256(yq + 32 * jj), v));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(sc[j])));
            }
            sum += d * y[2 * i + h].d * float(hsum(acc));
        }
    }
    return sum;
}

float dot_qt2(const void * w, const void * a, int64_t n) {
    const BlockQT2 * x = static_cast<const BlockQT2 *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const __m256i table = level_table(kQT2Levels, 4);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        const float d = fp16(x[i].d);
        alignas(16) int8_t sc[32];
        qt2_scales(x[i], sc);
        for (int h = 0; h < 2; ++h) {
            const int8_t * yq = y[2 * i + h].qs;
            __m256i acc = _mm256_setzero_si256();
            for (int jj = 0; jj < 8; ++jj) {
                const int j32 = 8 * h + jj;
                const __m256i v = _mm256_shuffle_epi8(table, expand2(x[i].qs + 16 * (j32 >> 1), j32 & 1));
                const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(load256(yq + 32 * jj), v));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale_pair16(sc + 2 * j32)));
            }
            sum += d * y[2 * i + h].d * float(hsum(acc));
        }
    }
    return sum;
}

// Rotated values d * s * level (the reference's expression, in 8-float vectors), then the
// reference's unrotate_256.
template <typename Block, void (*Decode)(const Block &, int, __m256i, Decoded &)>
void dequantize_qt(const void * src, float * dst, int64_t n, const int8_t * levels, int n_levels) {
    const Block * x = static_cast<const Block *>(src);
    const __m256i table = level_table(levels, n_levels);
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        const __m256 d = _mm256_set1_ps(fp16(block_d(x[i])));
        for (int h = 0; h < 2; ++h) {
            Decoded dc;
            Decode(x[i], h, table, dc);
            float * out = dst + i * kQTBlock + h * kRotation;
            for (int jj = 0; jj < 8; ++jj) {
                alignas(32) int8_t v[32];
                alignas(32) int16_t s[16];
                _mm256_store_si256(reinterpret_cast<__m256i *>(v), dc.v[jj]);
                _mm256_store_si256(reinterpret_cast<__m256i *>(s), dc.scale[jj]);
                for (int q = 0; q < 4; ++q) {
                    const __m256 lv = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(v + 8 * q))));
                    const __m256 sc = _mm256_set1_ps(float(s[q < 2 ? 0 : 8]));
                    _mm256_storeu_ps(out + 32 * jj + 8 * q, _mm256_mul_ps(_mm256_mul_ps(d, sc), lv));
                }
            }
            unrotate_256(out);
        }
    }
}

void dequantize_qt3(const void * src, float * dst, int64_t n) { dequantize_qt<BlockQT3, decode_qt3>(src, dst, n, kQT3Levels, 8); }
void dequantize_qt2(const void * src, float * dst, int64_t n) { dequantize_qt<BlockQT2, decode_qt2>(src, dst, n, kQT2Levels, 4); }

}  // namespace

void fill_qt_avx2(IsaKernels & k) {
    k.dot[size_t(Type::QT3)] = dot_qt3;
    k.dot_rows[size_t(Type::QT3)] = dot_rows_qt3;
    k.dequantize[size_t(Type::QT3)] = dequantize_qt3;
    k.dot[size_t(Type::QT2)] = dot_qt2;
    k.dot_rows[size_t(Type::QT2)] = dot_rows_qt2;
    k.dequantize[size_t(Type::QT2)] = dequantize_qt2;
}

}  // namespace quanta::quant
