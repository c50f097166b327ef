// quant/qt4.cpp — reference codec of QT4 and Q8_KH (format and rationale in qt4.h).
//
// Quantizer: QT3's and QT2's (quant/qt_common.h) on the 16-level IQ4 grid: rotate each 256
// weights, per 32-element sub-block search a signed scale, quantize the 16 scale magnitudes to 6
// bits against one fp16 super-scale (each +-1 where that lowers the error), refit the
// super-scale by least squares, assign every element its nearest level. With an imatrix, scales
// and levels are then refined against the importance-weighted error in the original domain
// (qt_refine_importance): the rotation mixes all 256 columns of a block, so per-column weights
// cannot enter the per-element search directly.
#include "quant/qt4.h"

#include <cstring>

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/qt_common.h"

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
    static const QtGrid grid = make_qt_grid(kIQ4Values, 16);
    for (int64_t i = 0; i < n / kQT4Block; ++i) {
        float x[kQT4Block], w[kQT4Block];
        uint8_t q[kQT4Block];
        int ls[16];
        qt_rotate_and_weigh(src + i * kQT4Block, importance ? importance + i * kQT4Block : nullptr, x, w);
        y[i].d = qt_quantize_scales(x, w, grid, 32, ls, q);
        if (importance) qt_refine_importance(x, importance + i * kQT4Block, grid, y[i].d, 32, ls, q);
        qt_pack_scales(ls, 16, y[i].scales_l, y[i].scales_h, reinterpret_cast<uint8_t *>(&y[i].signs));
        for (int j = 0; j < 16; ++j) {
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
