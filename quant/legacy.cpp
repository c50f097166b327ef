// quant/legacy.cpp — reference codecs of the 32-element block formats (layouts in legacy.h).
//
// Two encoders per type: *_rtn reproduces ggml's reference round-to-nearest bit for bit (the
// fixture tests hold it to gguf.quants), and quantize_row_* searches the scale (search.h) with
// the imatrix importance and then re-assigns every element to its nearest level under the scale
// as stored (fp16-rounded), which is optimal for that scale. Q8_0 / Q8_1 are activation types
// too: they stay round-to-nearest so SIMD activation quantizers can match them bit for bit.
#include "quant/legacy.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/search.h"

namespace quanta::quant {

namespace {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

void pack_nibbles(const int * l, uint8_t * qs) {
    for (int j = 0; j < 16; ++j) qs[j] = uint8_t((l[j] & 0xF) | ((l[j + 16] & 0xF) << 4));
}

void pack_q5(const int * l, uint8_t * qh, uint8_t * qs) {
    pack_nibbles(l, qs);
    uint32_t h = 0;
    for (int j = 0; j < 32; ++j) h |= uint32_t((l[j] >> 4) & 1) << j;
    for (int b = 0; b < 4; ++b) qh[b] = uint8_t(h >> (8 * b));
}

// Largest-magnitude element with its sign (first one wins ties, as in ggml).
float signed_absmax(const float * x, int n) {
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); vmax = x[i]; }
    }
    return vmax;
}

// Symmetric block with levels [qmin, qmax] (unsigned code = level - qmin), scale searched.
template <typename Block>
void encode_symmetric(const float * x, const float * imp, int qmin, int qmax, Block & b, int * code) {
    float w[kQK];
    int8_t q[kQK];
    element_weights(imp, kQK, w);
    const float d = search_scale_symmetric(x, w, kQK, qmin, qmax, q);
    b.d = fp32_to_fp16(d);
    const float ds = fp16_to_fp32(b.d);
    const float id = ds != 0.0f ? 1.0f / ds : 0.0f;
    for (int j = 0; j < kQK; ++j) code[j] = clampi(round_away(x[j] * id), qmin, qmax) - qmin;
}

template <typename Block>
void encode_offset(const float * x, const float * imp, int qmax, Block & b, int * code) {
    float w[kQK];
    uint8_t q[kQK];
    float d = 0.0f, m = 0.0f;
    element_weights(imp, kQK, w);
    search_scale_offset(x, w, kQK, qmax, false, q, &d, &m);
    b.d = fp32_to_fp16(d);
    b.m = fp32_to_fp16(m);
    const float ds = fp16_to_fp32(b.d), ms = fp16_to_fp32(b.m);
    const float id = ds != 0.0f ? 1.0f / ds : 0.0f;
    for (int j = 0; j < kQK; ++j) code[j] = clampi(round_away((x[j] - ms) * id), 0, qmax);
}

}  // namespace

// ---- round-to-nearest references (ggml quantize_row_*_ref) ---------------------------------

void quantize_row_q4_0_rtn(const float * src, void * dst, int64_t n) {
    BlockQ4_0 * y = static_cast<BlockQ4_0 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float * x = src + i * kQK;
        const float d = signed_absmax(x, kQK) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int l[kQK];
        for (int j = 0; j < kQK; ++j) l[j] = std::min(15, int(x[j] * id + 8.5f));
        pack_nibbles(l, y[i].qs);
    }
}

void quantize_row_q4_1_rtn(const float * src, void * dst, int64_t n) {
    BlockQ4_1 * y = static_cast<BlockQ4_1 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float * x = src + i * kQK;
        const float mn = *std::min_element(x, x + kQK), mx = *std::max_element(x, x + kQK);
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(mn);
        int l[kQK];
        for (int j = 0; j < kQK; ++j) l[j] = std::min(15, int((x[j] - mn) * id + 0.5f));
        pack_nibbles(l, y[i].qs);
    }
}

void quantize_row_q5_0_rtn(const float * src, void * dst, int64_t n) {
    BlockQ5_0 * y = static_cast<BlockQ5_0 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float * x = src + i * kQK;
        const float d = signed_absmax(x, kQK) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int l[kQK];
        for (int j = 0; j < kQK; ++j) l[j] = std::min(31, int(x[j] * id + 16.5f));
        pack_q5(l, y[i].qh, y[i].qs);
    }
}

void quantize_row_q5_1_rtn(const float * src, void * dst, int64_t n) {
    BlockQ5_1 * y = static_cast<BlockQ5_1 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float * x = src + i * kQK;
        const float mn = *std::min_element(x, x + kQK), mx = *std::max_element(x, x + kQK);
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(mn);
        int l[kQK];
        for (int j = 0; j < kQK; ++j) l[j] = std::min(31, int((x[j] - mn) * id + 0.5f));
        pack_q5(l, y[i].qh, y[i].qs);
    }
}

// ---- searched encoders ---------------------------------------------------------------------

void quantize_row_q4_0(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ4_0 * y = static_cast<BlockQ4_0 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        int code[kQK];
        encode_symmetric(src + i * kQK, imp ? imp + i * kQK : nullptr, -8, 7, y[i], code);
        pack_nibbles(code, y[i].qs);
    }
}

void quantize_row_q5_0(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ5_0 * y = static_cast<BlockQ5_0 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        int code[kQK];
        encode_symmetric(src + i * kQK, imp ? imp + i * kQK : nullptr, -16, 15, y[i], code);
        pack_q5(code, y[i].qh, y[i].qs);
    }
}

void quantize_row_q4_1(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ4_1 * y = static_cast<BlockQ4_1 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        int code[kQK];
        encode_offset(src + i * kQK, imp ? imp + i * kQK : nullptr, 15, y[i], code);
        pack_nibbles(code, y[i].qs);
    }
}

void quantize_row_q5_1(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ5_1 * y = static_cast<BlockQ5_1 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        int code[kQK];
        encode_offset(src + i * kQK, imp ? imp + i * kQK : nullptr, 31, y[i], code);
        pack_q5(code, y[i].qh, y[i].qs);
    }
}

void quantize_row_q8_0(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_0 * y = static_cast<BlockQ8_0 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float * x = src + i * kQK;
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < kQK; ++j) y[i].qs[j] = int8_t(round_away(x[j] * id));
    }
}

void quantize_row_q8_1(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_1 * y = static_cast<BlockQ8_1 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float * x = src + i * kQK;
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            y[i].qs[j] = int8_t(round_away(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].d = fp32_to_fp16(d);
        y[i].s = fp32_to_fp16(float(sum) * d);
    }
}

void quantize_row_iq4_nl(const float * src, void * dst, int64_t n, const float * imp) {
    BlockIQ4_NL * y = static_cast<BlockIQ4_NL *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float * x = src + i * kQK;
        float w[kQK];
        uint8_t q[kQK];
        element_weights(imp ? imp + i * kQK : nullptr, kQK, w);
        const float d = search_scale_grid(x, w, kQK, iq4_grid(), q);
        y[i].d = fp32_to_fp16(d);
        const float ds = fp16_to_fp32(y[i].d);
        const float id = ds != 0.0f ? 1.0f / ds : 0.0f;
        int code[kQK];
        for (int j = 0; j < kQK; ++j) code[j] = grid_index(iq4_grid(), x[j] * id);
        pack_nibbles(code, y[i].qs);
    }
}

// ---- decoders ------------------------------------------------------------------------------

void dequantize_row_q4_0(const void * src, float * dst, int64_t n) {
    const BlockQ4_0 * x = static_cast<const BlockQ4_0 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = d * float(q4_nibble(x[i].qs, j) - 8);
    }
}

void dequantize_row_q4_1(const void * src, float * dst, int64_t n) {
    const BlockQ4_1 * x = static_cast<const BlockQ4_1 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = d * float(q4_nibble(x[i].qs, j)) + m;
    }
}

void dequantize_row_q5_0(const void * src, float * dst, int64_t n) {
    const BlockQ5_0 * x = static_cast<const BlockQ5_0 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK; ++j) {
            const int q = q4_nibble(x[i].qs, j) | (q5_high(x[i].qh, j) << 4);
            dst[i * kQK + j] = d * float(q - 16);
        }
    }
}

void dequantize_row_q5_1(const void * src, float * dst, int64_t n) {
    const BlockQ5_1 * x = static_cast<const BlockQ5_1 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < kQK; ++j) {
            const int q = q4_nibble(x[i].qs, j) | (q5_high(x[i].qh, j) << 4);
            dst[i * kQK + j] = d * float(q) + m;
        }
    }
}

void dequantize_row_q8_0(const void * src, float * dst, int64_t n) {
    const BlockQ8_0 * x = static_cast<const BlockQ8_0 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = d * float(x[i].qs[j]);
    }
}

void dequantize_row_q8_1(const void * src, float * dst, int64_t n) {
    const BlockQ8_1 * x = static_cast<const BlockQ8_1 *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = d * float(x[i].qs[j]);
    }
}

void dequantize_row_iq4_nl(const void * src, float * dst, int64_t n) {
    const BlockIQ4_NL * x = static_cast<const BlockIQ4_NL *>(src);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK; ++j) dst[i * kQK + j] = d * float(kIQ4Values[q4_nibble(x[i].qs, j)]);
    }
}

// ---- dot products --------------------------------------------------------------------------

float dot_row_q4_0(const void * w, const void * a, int64_t n) {
    const BlockQ4_0 * x = static_cast<const BlockQ4_0 *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += (q4_nibble(x[i].qs, j) - 8) * y[i].qs[j];
        sum += float(s) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    }
    return sum;
}

float dot_row_q4_1(const void * w, const void * a, int64_t n) {
    const BlockQ4_1 * x = static_cast<const BlockQ4_1 *>(w);
    const BlockQ8_1 * y = static_cast<const BlockQ8_1 *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += q4_nibble(x[i].qs, j) * y[i].qs[j];
        sum += float(s) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) + fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
    }
    return sum;
}

float dot_row_q5_0(const void * w, const void * a, int64_t n) {
    const BlockQ5_0 * x = static_cast<const BlockQ5_0 *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) {
            const int q = q4_nibble(x[i].qs, j) | (q5_high(x[i].qh, j) << 4);
            s += (q - 16) * y[i].qs[j];
        }
        sum += float(s) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    }
    return sum;
}

float dot_row_q5_1(const void * w, const void * a, int64_t n) {
    const BlockQ5_1 * x = static_cast<const BlockQ5_1 *>(w);
    const BlockQ8_1 * y = static_cast<const BlockQ8_1 *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += (q4_nibble(x[i].qs, j) | (q5_high(x[i].qh, j) << 4)) * y[i].qs[j];
        sum += float(s) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d) + fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
    }
    return sum;
}

float dot_row_q8_0(const void * w, const void * a, int64_t n) {
    const BlockQ8_0 * x = static_cast<const BlockQ8_0 *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += x[i].qs[j] * y[i].qs[j];
        sum += float(s) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    }
    return sum;
}

float dot_row_q8_1(const void * w, const void * a, int64_t n) {
    const BlockQ8_1 * x = static_cast<const BlockQ8_1 *>(w);
    const BlockQ8_1 * y = static_cast<const BlockQ8_1 *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += x[i].qs[j] * y[i].qs[j];
        sum += float(s) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    }
    return sum;
}

float dot_row_iq4_nl(const void * w, const void * a, int64_t n) {
    const BlockIQ4_NL * x = static_cast<const BlockIQ4_NL *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += kIQ4Values[q4_nibble(x[i].qs, j)] * y[i].qs[j];
        sum += float(s) * fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d);
    }
    return sum;
}

}  // namespace quanta::quant
