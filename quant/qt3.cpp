// quant/qt3.cpp — reference codec of QT3 (format in qt3.h; quantizer in qt_common.cpp).
#include "quant/qt3.h"

#include <cstring>

#include "quant/kquants.h"
#include "quant/qt4.h"

namespace quanta::quant {

const QtGrid & qt3_grid() {
    static const QtGrid g = make_qt_grid(kQT3Levels, 8);
    return g;
}

void quantize_row_qt3(const float * src, void * dst, int64_t n, const float * importance) {
    BlockQT3 * y = static_cast<BlockQT3 *>(dst);
    const QtGrid & grid = qt3_grid();
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        float x[kQTBlock], w[kQTBlock];
        uint8_t idx[kQTBlock];
        qt_rotate_and_weigh(src + i * kQTBlock, importance ? importance + i * kQTBlock : nullptr, x, w);
        int ls[kQTBlock / kQTSub];
        y[i].h.d = qt_quantize_scales(x, w, grid, kQTSub, ls, idx);
        if (importance) qt_refine_importance(x, importance + i * kQTBlock, grid, y[i].h.d, kQTSub, ls, idx);
        QtHeader & h = y[i].h;
        qt_pack_scales(ls, kQTBlock / kQTSub, h.scales_l, h.scales_h, reinterpret_cast<uint8_t *>(&h.signs));
        qt_pack2(idx, y[i].ql);
        std::memset(y[i].qh, 0, sizeof y[i].qh);
        for (int e = 0; e < kQTBlock; ++e) y[i].qh[e >> 3] = uint8_t(y[i].qh[e >> 3] | (((idx[e] >> 2) & 1) << (e & 7)));
    }
}

void dequantize_row_qt3(const void * src, float * dst, int64_t n) {
    const BlockQT3 * x = static_cast<const BlockQT3 *>(src);
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        float * out = dst + i * kQTBlock;
        const float d = fp16_to_fp32(x[i].h.d);
        for (int e = 0; e < kQTBlock; ++e) out[e] = d * float(qt_scale(x[i].h, e / kQTSub)) * float(kQT3Levels[qt3_index(x[i], e)]);
        unrotate_256(out);
        unrotate_256(out + kRotation);
    }
}

// Exact int32 per rotation block (|sum| <= 8 * 63 * 32 * 127 * 127 < 2^31), then the float
// expression d * y.d * sumi, as QT4's dot: SIMD versions equal this bit for bit.
float dot_row_qt3(const void * w, const void * a, int64_t n) {
    const BlockQT3 * x = static_cast<const BlockQT3 *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        const float d = fp16_to_fp32(x[i].h.d);
        for (int h = 0; h < 2; ++h) {
            const BlockQ8_K & yb = y[2 * i + h];
            int sumi = 0;
            for (int j = 8 * h; j < 8 * h + 8; ++j) {
                int s = 0;
                for (int e = kQTSub * j; e < kQTSub * j + kQTSub; ++e) s += kQT3Levels[qt3_index(x[i], e)] * yb.qs[e - 256 * h];
                sumi += qt_scale(x[i].h, j) * s;
            }
            sum += d * yb.d * float(sumi);
        }
    }
    return sum;
}

}  // namespace quanta::quant
