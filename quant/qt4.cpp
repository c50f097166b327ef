// quant/qt4.cpp — reference codec of QT4 and Q8_KH (format and rationale in qt4.h).
//
// Quantizer: rotate each 256 weights, then per 32-element sub-block search a signed scale over
// the IQ4 grid (search.h), quantize the 16 scale magnitudes to 6 bits against one fp16
// super-scale, try each magnitude +-1 and keep the one with the lower error, refit the
// super-scale by least squares, and assign every element its nearest level under the stored
// scales. With an imatrix, the levels are then refined against the importance-weighted error in
// the original domain (qt_refine_importance, quant/qt_common.h): the rotation mixes all 256
// columns of a block, so per-column weights cannot enter the per-element search directly.
#include "quant/qt4.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/qt_common.h"
#include "quant/search.h"

namespace quanta::quant {

namespace {

// Fixed +-1 signs of S (an LCG, so the table needs no storage and never changes).
struct Signs {
    float s[kRotation];
    Signs() {
        uint32_t st = 0x51A7E5u;
        for (float & v : s) {
            st = st * 1664525u + 1013904223u;
            v = (st >> 31) ? -1.0f : 1.0f;
        }
    }
};
const Signs kSigns;

void fwht_256(float * p) {
    for (int h = 1; h < kRotation; h *= 2) {
        for (int i = 0; i < kRotation; i += 2 * h) {
            for (int j = i; j < i + h; ++j) {
                const float a = p[j], b = p[j + h];
                p[j] = a + b;
                p[j + h] = a - b;
            }
        }
    }
}

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace

void rotate_256(float * x) {
    for (int i = 0; i < kRotation; ++i) x[i] *= kSigns.s[i];
    fwht_256(x);
    for (int i = 0; i < kRotation; ++i) x[i] *= 0.0625f;  // 1/sqrt(256), exact
}

void unrotate_256(float * x) {
    fwht_256(x);
    for (int i = 0; i < kRotation; ++i) x[i] *= 0.0625f * kSigns.s[i];
}

void quantize_row_qt4(const float * src, void * dst, int64_t n, const float * importance) {
    BlockQT4 * y = static_cast<BlockQT4 *>(dst);
    const GridLut & lut = iq4_grid();
    float w[32];
    for (float & v : w) v = 1.0f;
    for (int64_t i = 0; i < n / kQT4Block; ++i) {
        float x[kQT4Block];
        std::memcpy(x, src + i * kQT4Block, sizeof x);
        rotate_256(x);
        rotate_256(x + kRotation);
        float sc[16];
        uint8_t q[kQT4Block];
        float amax = 0.0f;
        for (int j = 0; j < 16; ++j) {
            sc[j] = search_scale_grid(x + 32 * j, w, 32, lut, q + 32 * j);
            amax = std::max(amax, std::fabs(sc[j]));
        }
        y[i].d = fp32_to_fp16(amax / 63.0f);
        int ls[16];
        // Magnitudes against the stored super-scale; then each +-1 if that lowers the error.
        auto sub_error = [&](int j, int l, float ds) {
            const float dl = ds * float(l);
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            float e = 0.0f;
            for (int k = 32 * j; k < 32 * j + 32; ++k) {
                const float v = dl * float(kIQ4Values[grid_index(lut, x[k] * idl)]) - x[k];
                e += v * v;
            }
            return e;
        };
        for (int pass = 0; pass < 2; ++pass) {
            const float ds = fp16_to_fp32(y[i].d);
            const float ids = ds != 0.0f ? 1.0f / ds : 0.0f;
            for (int j = 0; j < 16; ++j) {
                const int base = clampi(round_away(sc[j] * ids), -63, 63);
                int best = base;
                float best_e = sub_error(j, base, ds);
                for (int l : {base - 1, base + 1}) {
                    if (l < -63 || l > 63) continue;
                    const float e = sub_error(j, l, ds);
                    if (e < best_e) { best_e = e; best = l; }
                }
                ls[j] = best;
                const float dl = ds * float(best);
                const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
                for (int k = 32 * j; k < 32 * j + 32; ++k) q[k] = uint8_t(grid_index(lut, x[k] * idl));
            }
            if (pass == 1) break;
            double sxu = 0.0, suu = 0.0;
            for (int k = 0; k < kQT4Block; ++k) {
                const double u = double(ls[k >> 5]) * kIQ4Values[q[k]];
                sxu += double(x[k]) * u;
                suu += u * u;
            }
            if (suu > 0.0) {
                const uint16_t nd = fp32_to_fp16(float(sxu / suu));
                if (fp16_to_fp32(nd) > 0.0f) {
                    // Express the found scales against the refitted super-scale.
                    const float ratio = fp16_to_fp32(y[i].d) / fp16_to_fp32(nd);
                    for (int j = 0; j < 16; ++j) sc[j] = float(ls[j]) * ratio * fp16_to_fp32(nd);
                    y[i].d = nd;
                }
            }
        }
        if (importance) {
            static const QtGrid grid = make_qt_grid(kIQ4Values, 16);
            float scale[kQT4Block];
            for (int k = 0; k < kQT4Block; ++k) scale[k] = fp16_to_fp32(y[i].d) * float(ls[k >> 5]);
            qt_refine_importance(x, importance + i * kQT4Block, grid, scale, q);
        }
        std::memset(y[i].scales_l, 0, sizeof y[i].scales_l);
        std::memset(y[i].scales_h, 0, sizeof y[i].scales_h);
        y[i].signs = 0;
        for (int j = 0; j < 16; ++j) {
            const int m = ls[j] < 0 ? -ls[j] : ls[j];
            y[i].scales_l[j >> 1] |= uint8_t((m & 0xF) << (4 * (j & 1)));
            y[i].scales_h[j >> 2] |= uint8_t((m >> 4) << (2 * (j & 3)));
            if (ls[j] < 0) y[i].signs = uint16_t(y[i].signs | (1u << j));
            for (int k = 0; k < 16; ++k) y[i].qs[16 * j + k] = uint8_t(q[32 * j + k] | (q[32 * j + 16 + k] << 4));
        }
    }
}

void dequantize_row_qt4(const void * src, float * dst, int64_t n) {
    const BlockQT4 * x = static_cast<const BlockQT4 *>(src);
    for (int64_t i = 0; i < n / kQT4Block; ++i) {
        float * out = dst + i * kQT4Block;
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < kQT4Block; ++e) out[e] = d * float(qt4_scale(x[i], e >> 5)) * float(kIQ4Values[qt4_index(x[i], e)]);
        unrotate_256(out);
        unrotate_256(out + kRotation);
    }
}

float dot_row_qt4(const void * w, const void * a, int64_t n) {
    const BlockQT4 * x = static_cast<const BlockQT4 *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQT4Block; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int h = 0; h < 2; ++h) {
            const BlockQ8_K & yb = y[2 * i + h];
            int sumi = 0;
            for (int j = 8 * h; j < 8 * h + 8; ++j) {
                int s = 0;
                for (int e = 32 * j; e < 32 * j + 32; ++e) s += kIQ4Values[qt4_index(x[i], e)] * yb.qs[e - 256 * h];
                sumi += qt4_scale(x[i], j) * s;
            }
            sum += d * yb.d * float(sumi);
        }
    }
    return sum;
}

void quantize_row_q8_kh(const float * src, void * dst, int64_t n, const float *) {
    uint8_t * out = static_cast<uint8_t *>(dst);
    for (int64_t i = 0; i < n / kRotation; ++i) {
        float x[kRotation];
        std::memcpy(x, src + i * kRotation, sizeof x);
        rotate_256(x);
        quantize_row_q8_k(x, out + i * sizeof(BlockQ8_K), kRotation, nullptr);
    }
}

void dequantize_row_q8_kh(const void * src, float * dst, int64_t n) {
    dequantize_row_q8_k(src, dst, n);
    for (int64_t i = 0; i < n / kRotation; ++i) unrotate_256(dst + i * kRotation);
}

float dot_row_q8_kh(const void * w, const void * a, int64_t n) { return dot_row_q8_k(w, a, n); }

}  // namespace quanta::quant
