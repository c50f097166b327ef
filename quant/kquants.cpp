// quant/kquants.cpp — reference decoders and dot products of the K super-block formats and
// IQ4_XS (layouts in kquants.h), plus the Q8_K activation quantizer. Written element by element
// through the shared decode helpers, so this file is the plain statement of each format's maths;
// SIMD kernels (quant/simd/) are tested to equal it.
#include <algorithm>
#include <cmath>

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/search.h"

namespace quanta::quant {

void quantize_row_q8_k(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_K * y = static_cast<BlockQ8_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float * x = src + i * kQK_K;
        float amax = 0.0f;
        for (int j = 0; j < kQK_K; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = d;
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int j = 16 * g; j < 16 * g + 16; ++j) {
                y[i].qs[j] = int8_t(round_away(x[j] * id));
                sum += y[i].qs[j];
            }
            y[i].bsums[g] = int16_t(sum);
        }
    }
}

void dequantize_row_q8_k(const void * src, float * dst, int64_t n) {
    const BlockQ8_K * x = static_cast<const BlockQ8_K *>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        for (int e = 0; e < kQK_K; ++e) dst[i * kQK_K + e] = x[i].d * float(x[i].qs[e]);
    }
}

float dot_row_q8_k(const void * w, const void * a, int64_t n) {
    const BlockQ8_K * x = static_cast<const BlockQ8_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int s = 0;
        for (int e = 0; e < kQK_K; ++e) s += x[i].qs[e] * y[i].qs[e];
        sum += x[i].d * y[i].d * float(s);
    }
    return sum;
}

// ---- Q2_K ----------------------------------------------------------------------------------

void dequantize_row_q2_k(const void * src, float * dst, int64_t n) {
    const BlockQ2_K * x = static_cast<const BlockQ2_K *>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        for (int e = 0; e < kQK_K; ++e) {
            const uint8_t s = x[i].scales[e >> 4];
            dst[i * kQK_K + e] = d * float(s & 0xF) * float(q2k_level(x[i], e)) - dmin * float(s >> 4);
        }
    }
}

float dot_row_q2_k(const void * w, const void * a, int64_t n) {
    const BlockQ2_K * x = static_cast<const BlockQ2_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sumi = 0, summ = 0;
        for (int e = 0; e < kQK_K; ++e) sumi += (x[i].scales[e >> 4] & 0xF) * q2k_level(x[i], e) * y[i].qs[e];
        for (int g = 0; g < 16; ++g) summ += (x[i].scales[g] >> 4) * y[i].bsums[g];
        sum += y[i].d * (fp16_to_fp32(x[i].d) * float(sumi) - fp16_to_fp32(x[i].dmin) * float(summ));
    }
    return sum;
}

// ---- Q3_K ----------------------------------------------------------------------------------

void dequantize_row_q3_k(const void * src, float * dst, int64_t n) {
    const BlockQ3_K * x = static_cast<const BlockQ3_K *>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < kQK_K; ++e) {
            dst[i * kQK_K + e] = d * float(q3k_scale(x[i].scales, e >> 4)) * float(q3k_level(x[i], e));
        }
    }
}

float dot_row_q3_k(const void * w, const void * a, int64_t n) {
    const BlockQ3_K * x = static_cast<const BlockQ3_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sumi = 0;
        for (int e = 0; e < kQK_K; ++e) sumi += q3k_scale(x[i].scales, e >> 4) * q3k_level(x[i], e) * y[i].qs[e];
        sum += fp16_to_fp32(x[i].d) * y[i].d * float(sumi);
    }
    return sum;
}

// ---- Q4_K / Q5_K ---------------------------------------------------------------------------

void dequantize_row_q4_k(const void * src, float * dst, int64_t n) {
    const BlockQ4_K * x = static_cast<const BlockQ4_K *>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        for (int j = 0; j < 8; ++j) {
            int sc, m;
            k4_scale_min(x[i].scales, j, &sc, &m);
            const float dl = d * float(sc), ml = dmin * float(m);
            for (int e = 32 * j; e < 32 * j + 32; ++e) dst[i * kQK_K + e] = dl * float(q4k_level(x[i].qs, e)) - ml;
        }
    }
}

float dot_row_q4_k(const void * w, const void * a, int64_t n) {
    const BlockQ4_K * x = static_cast<const BlockQ4_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            int sc, m;
            k4_scale_min(x[i].scales, j, &sc, &m);
            int s = 0;
            for (int e = 32 * j; e < 32 * j + 32; ++e) s += q4k_level(x[i].qs, e) * y[i].qs[e];
            sumi += sc * s;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        sum += y[i].d * (fp16_to_fp32(x[i].d) * float(sumi) - fp16_to_fp32(x[i].dmin) * float(summ));
    }
    return sum;
}

void dequantize_row_q5_k(const void * src, float * dst, int64_t n) {
    const BlockQ5_K * x = static_cast<const BlockQ5_K *>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        for (int j = 0; j < 8; ++j) {
            int sc, m;
            k4_scale_min(x[i].scales, j, &sc, &m);
            const float dl = d * float(sc), ml = dmin * float(m);
            for (int e = 32 * j; e < 32 * j + 32; ++e) dst[i * kQK_K + e] = dl * float(q5k_level(x[i], e)) - ml;
        }
    }
}

float dot_row_q5_k(const void * w, const void * a, int64_t n) {
    const BlockQ5_K * x = static_cast<const BlockQ5_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            int sc, m;
            k4_scale_min(x[i].scales, j, &sc, &m);
            int s = 0;
            for (int e = 32 * j; e < 32 * j + 32; ++e) s += q5k_level(x[i], e) * y[i].qs[e];
            sumi += sc * s;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        sum += y[i].d * (fp16_to_fp32(x[i].d) * float(sumi) - fp16_to_fp32(x[i].dmin) * float(summ));
    }
    return sum;
}

// ---- Q6_K ----------------------------------------------------------------------------------

void dequantize_row_q6_k(const void * src, float * dst, int64_t n) {
    const BlockQ6_K * x = static_cast<const BlockQ6_K *>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < kQK_K; ++e) {
            dst[i * kQK_K + e] = d * float(x[i].scales[e >> 4]) * float(q6k_level(x[i], e));
        }
    }
}

float dot_row_q6_k(const void * w, const void * a, int64_t n) {
    const BlockQ6_K * x = static_cast<const BlockQ6_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sumi = 0;
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int e = 16 * g; e < 16 * g + 16; ++e) s += q6k_level(x[i], e) * y[i].qs[e];
            sumi += x[i].scales[g] * s;
        }
        sum += fp16_to_fp32(x[i].d) * y[i].d * float(sumi);
    }
    return sum;
}

// ---- IQ4_XS --------------------------------------------------------------------------------

void dequantize_row_iq4_xs(const void * src, float * dst, int64_t n) {
    const BlockIQ4_XS * x = static_cast<const BlockIQ4_XS *>(src);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < kQK_K; ++e) {
            const float dl = d * float(iq4xs_scale(x[i], e >> 5));
            dst[i * kQK_K + e] = dl * float(kIQ4Values[iq4xs_index(x[i], e)]);
        }
    }
}

float dot_row_iq4_xs(const void * w, const void * a, int64_t n) {
    const BlockIQ4_XS * x = static_cast<const BlockIQ4_XS *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sumi = 0;
        for (int b = 0; b < 8; ++b) {
            int s = 0;
            for (int e = 32 * b; e < 32 * b + 32; ++e) s += kIQ4Values[iq4xs_index(x[i], e)] * y[i].qs[e];
            sumi += iq4xs_scale(x[i], b) * s;
        }
        sum += fp16_to_fp32(x[i].d) * y[i].d * float(sumi);
    }
    return sum;
}

}  // namespace quanta::quant
