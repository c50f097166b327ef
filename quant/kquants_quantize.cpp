// quant/kquants_quantize.cpp — encoders of Q2_K .. Q6_K and IQ4_XS.
//
// Two levels, as the formats have two levels of scales:
//  1. each sub-block's float scale (and min) is searched on its own (search.h), weighted by the
//     imatrix importance when one is given;
//  2. the sub-block scales are quantized to their small integers against one fp16 super-scale
//     (the largest maps to the end of the integer range), and then every element is re-assigned
//     to its nearest level under the scale *as decoded*, which is the best assignment for the
//     stored scales. A last pass refits the fp16 super-scale(s) by weighted least squares.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/search.h"

namespace quanta::quant {

namespace {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Signed value of largest magnitude.
float signed_absmax(const float * v, int n) {
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(v[i]) > amax) { amax = std::fabs(v[i]); vmax = v[i]; }
    }
    return vmax;
}

// Scale-and-min super-block (Q2_K, Q4_K, Q5_K): n_sub sub-blocks of `sub` elements, levels
// [0, qmax], integer scales and mins in [0, smax]. Outputs levels L[256], ls[], lm[], d, dmin.
void encode_scale_min(const float * x, const float * w, int n_sub, int sub, int qmax, int smax,
                      uint8_t * L, int * ls, int * lm, uint16_t * d_out, uint16_t * dmin_out) {
    float sc[16], mn[16];
    float max_sc = 0.0f, max_mn = 0.0f;
    for (int j = 0; j < n_sub; ++j) {
        float d, m;
        search_scale_offset(x + j * sub, w + j * sub, sub, qmax, true, L + j * sub, &d, &m);
        sc[j] = d;
        mn[j] = -m;  // >= 0
        max_sc = std::max(max_sc, sc[j]);
        max_mn = std::max(max_mn, mn[j]);
    }
    const float d = max_sc / float(smax), dmin = max_mn / float(smax);
    const float id = d > 0.0f ? 1.0f / d : 0.0f, idmin = dmin > 0.0f ? 1.0f / dmin : 0.0f;
    for (int j = 0; j < n_sub; ++j) {
        ls[j] = clampi(round_away(sc[j] * id), 0, smax);
        lm[j] = clampi(round_away(mn[j] * idmin), 0, smax);
    }
    *d_out = fp32_to_fp16(d);
    *dmin_out = fp32_to_fp16(dmin);
    // Re-assign levels under the decoded scales, then refit (d, dmin) jointly by least squares
    // for those levels: x ~= d * (ls*q) - dmin * lm.
    for (int pass = 0; pass < 2; ++pass) {
        const float ds = fp16_to_fp32(*d_out), dms = fp16_to_fp32(*dmin_out);
        for (int j = 0; j < n_sub; ++j) {
            const float dl = ds * float(ls[j]), ml = dms * float(lm[j]);
            const float idl = dl > 0.0f ? 1.0f / dl : 0.0f;
            for (int k = j * sub; k < (j + 1) * sub; ++k) L[k] = uint8_t(clampi(round_away((x[k] + ml) * idl), 0, qmax));
        }
        if (pass == 1) break;
        double a = 0, b = 0, c = 0, sx = 0, sy = 0;  // over u = ls*q, v = -lm
        for (int k = 0; k < n_sub * sub; ++k) {
            const double u = double(ls[k / sub]) * L[k], v = -double(lm[k / sub]);
            a += w[k] * u * u;
            b += w[k] * u * v;
            c += w[k] * v * v;
            sx += w[k] * u * x[k];
            sy += w[k] * v * x[k];
        }
        const double det = a * c - b * b;
        if (!(det > 1e-30 * a * c) || a <= 0.0) continue;
        const double nd = (sx * c - b * sy) / det, ndm = (a * sy - b * sx) / det;
        if (nd > 0.0 && ndm >= 0.0) {
            *d_out = fp32_to_fp16(float(nd));
            *dmin_out = fp32_to_fp16(float(ndm));
        }
    }
}

// Symmetric super-block (Q3_K, Q6_K): levels [qmin, qmax], signed integer scales [smin, smax]
// (the largest-magnitude sub-block scale maps to smin). Outputs levels (as signed) and ls[].
void encode_symmetric(const float * x, const float * w, int n_sub, int sub, int qmin, int qmax, int smin,
                      int smax, int8_t * L, int * ls, uint16_t * d_out) {
    float sc[16];
    for (int j = 0; j < n_sub; ++j) sc[j] = search_scale_symmetric(x + j * sub, w + j * sub, sub, qmin, qmax, L + j * sub);
    const float vmax = signed_absmax(sc, n_sub);
    const float d = vmax / float(smin);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < n_sub; ++j) ls[j] = clampi(round_away(sc[j] * id), smin, smax);
    *d_out = fp32_to_fp16(d);
    for (int pass = 0; pass < 2; ++pass) {
        const float ds = fp16_to_fp32(*d_out);
        for (int j = 0; j < n_sub; ++j) {
            const float dl = ds * float(ls[j]);
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            for (int k = j * sub; k < (j + 1) * sub; ++k) L[k] = int8_t(clampi(round_away(x[k] * idl), qmin, qmax));
        }
        if (pass == 1) break;
        double sxu = 0, suu = 0;
        for (int k = 0; k < n_sub * sub; ++k) {
            const double u = double(ls[k / sub]) * L[k];
            sxu += w[k] * x[k] * u;
            suu += w[k] * u * u;
        }
        if (suu > 0.0) *d_out = fp32_to_fp16(float(sxu / suu));
    }
}

void pack_k4_scales(const int * ls, const int * lm, uint8_t * s) {
    std::memset(s, 0, 12);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            s[j] = uint8_t(ls[j]);
            s[j + 4] = uint8_t(lm[j]);
        } else {
            s[j + 4] = uint8_t((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            s[j - 4] |= uint8_t((ls[j] >> 4) << 6);
            s[j] |= uint8_t((lm[j] >> 4) << 6);
        }
    }
}

void pack_q4k_levels(const uint8_t * L, uint8_t * qs) {
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) qs[32 * c + l] = uint8_t((L[64 * c + l] & 0xF) | ((L[64 * c + 32 + l] & 0xF) << 4));
    }
}

}  // namespace

void quantize_row_q2_k(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ2_K * y = static_cast<BlockQ2_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float * x = src + i * kQK_K;
        float w[kQK_K];
        uint8_t L[kQK_K];
        int ls[16], lm[16];
        element_weights(imp ? imp + i * kQK_K : nullptr, kQK_K, w);
        encode_scale_min(x, w, 16, 16, 3, 15, L, ls, lm, &y[i].d, &y[i].dmin);
        for (int j = 0; j < 16; ++j) y[i].scales[j] = uint8_t(ls[j] | (lm[j] << 4));
        std::memset(y[i].qs, 0, sizeof y[i].qs);
        for (int e = 0; e < kQK_K; ++e) y[i].qs[32 * (e >> 7) + (e & 31)] |= uint8_t(L[e] << (2 * ((e >> 5) & 3)));
    }
}

void quantize_row_q3_k(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ3_K * y = static_cast<BlockQ3_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float * x = src + i * kQK_K;
        float w[kQK_K];
        int8_t L[kQK_K];
        int ls[16];
        element_weights(imp ? imp + i * kQK_K : nullptr, kQK_K, w);
        encode_symmetric(x, w, 16, 16, -4, 3, -32, 31, L, ls, &y[i].d);
        std::memset(y[i].scales, 0, sizeof y[i].scales);
        for (int j = 0; j < 16; ++j) {
            const int u = ls[j] + 32;
            y[i].scales[j & 7] |= uint8_t((u & 0xF) << (j < 8 ? 0 : 4));
            y[i].scales[8 + (j & 3)] |= uint8_t((u >> 4) << (2 * (j >> 2)));
        }
        std::memset(y[i].qs, 0, sizeof y[i].qs);
        std::memset(y[i].hmask, 0, sizeof y[i].hmask);
        for (int e = 0; e < kQK_K; ++e) {
            const int u = L[e] + 4;  // 0..7
            y[i].qs[32 * (e >> 7) + (e & 31)] |= uint8_t((u & 3) << (2 * ((e >> 5) & 3)));
            if (u > 3) y[i].hmask[e & 31] |= uint8_t(1u << (e >> 5));
        }
    }
}

void quantize_row_q4_k(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ4_K * y = static_cast<BlockQ4_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        float w[kQK_K];
        uint8_t L[kQK_K];
        int ls[8], lm[8];
        element_weights(imp ? imp + i * kQK_K : nullptr, kQK_K, w);
        encode_scale_min(src + i * kQK_K, w, 8, 32, 15, 63, L, ls, lm, &y[i].d, &y[i].dmin);
        pack_k4_scales(ls, lm, y[i].scales);
        pack_q4k_levels(L, y[i].qs);
    }
}

void quantize_row_q5_k(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ5_K * y = static_cast<BlockQ5_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        float w[kQK_K];
        uint8_t L[kQK_K];
        int ls[8], lm[8];
        element_weights(imp ? imp + i * kQK_K : nullptr, kQK_K, w);
        encode_scale_min(src + i * kQK_K, w, 8, 32, 31, 63, L, ls, lm, &y[i].d, &y[i].dmin);
        pack_k4_scales(ls, lm, y[i].scales);
        pack_q4k_levels(L, y[i].qs);
        std::memset(y[i].qh, 0, sizeof y[i].qh);
        for (int e = 0; e < kQK_K; ++e) y[i].qh[e & 31] |= uint8_t(((L[e] >> 4) & 1) << (e >> 5));
    }
}

void quantize_row_q6_k(const float * src, void * dst, int64_t n, const float * imp) {
    BlockQ6_K * y = static_cast<BlockQ6_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float * x = src + i * kQK_K;
        float w[kQK_K];
        int8_t L[kQK_K];
        int ls[16];
        element_weights(imp ? imp + i * kQK_K : nullptr, kQK_K, w);
        encode_symmetric(x, w, 16, 16, -32, 31, -128, 127, L, ls, &y[i].d);
        for (int j = 0; j < 16; ++j) y[i].scales[j] = int8_t(ls[j]);
        std::memset(y[i].ql, 0, sizeof y[i].ql);
        std::memset(y[i].qh, 0, sizeof y[i].qh);
        for (int e = 0; e < kQK_K; ++e) {
            const int u = L[e] + 32;  // 0..63
            const int nb = e >> 7, k = (e >> 5) & 3, l = e & 31;
            y[i].ql[64 * nb + 32 * (k & 1) + l] |= uint8_t((u & 0xF) << (k < 2 ? 0 : 4));
            y[i].qh[32 * nb + l] |= uint8_t((u >> 4) << (2 * k));
        }
    }
}

void quantize_row_iq4_xs(const float * src, void * dst, int64_t n, const float * imp) {
    BlockIQ4_XS * y = static_cast<BlockIQ4_XS *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float * x = src + i * kQK_K;
        float w[kQK_K];
        uint8_t q[kQK_K];
        float sc[8];
        int ls[8];
        element_weights(imp ? imp + i * kQK_K : nullptr, kQK_K, w);
        for (int b = 0; b < 8; ++b) sc[b] = search_scale_grid(x + 32 * b, w + 32 * b, 32, iq4_grid(), q + 32 * b);
        const float vmax = signed_absmax(sc, 8);
        const float d = vmax / -32.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int b = 0; b < 8; ++b) ls[b] = clampi(round_away(sc[b] * id), -32, 31);
        y[i].d = fp32_to_fp16(d);
        // Refit the super-scale for the chosen indices and integer scales, then re-assign.
        for (int pass = 0; pass < 2; ++pass) {
            const float ds = fp16_to_fp32(y[i].d);
            for (int b = 0; b < 8; ++b) {
                const float dl = ds * float(ls[b]);
                const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
                for (int e = 32 * b; e < 32 * b + 32; ++e) q[e] = uint8_t(grid_index(iq4_grid(), x[e] * idl));
            }
            if (pass == 1) break;
            double sxu = 0, suu = 0;
            for (int e = 0; e < kQK_K; ++e) {
                const double u = double(ls[e >> 5]) * kIQ4Values[q[e]];
                sxu += w[e] * x[e] * u;
                suu += w[e] * u * u;
            }
            if (suu > 0.0) y[i].d = fp32_to_fp16(float(sxu / suu));
        }
        y[i].scales_h = 0;
        std::memset(y[i].scales_l, 0, sizeof y[i].scales_l);
        for (int b = 0; b < 8; ++b) {
            const int u = ls[b] + 32;
            y[i].scales_l[b >> 1] |= uint8_t((u & 0xF) << (4 * (b & 1)));
            y[i].scales_h = uint16_t(y[i].scales_h | ((u >> 4) << (2 * b)));
        }
        for (int b = 0; b < 8; ++b) {
            for (int j = 0; j < 16; ++j) y[i].qs[16 * b + j] = uint8_t(q[32 * b + j] | (q[32 * b + 16 + j] << 4));
        }
    }
}

}  // namespace quanta::quant
