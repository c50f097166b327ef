// quant/qt2.cpp — reference codec of QT2 (format in qt2.h; quantizer in qt_common.cpp).
#include "quant/qt2.h"

#include <cstring>

#include "quant/kquants.h"
#include "quant/qt4.h"

namespace quanta::quant {

const QtGrid & qt2_grid() {
    static const QtGrid g = make_qt_grid(kQT2Levels, 4);
    return g;
}

void quantize_row_qt2(const float * src, void * dst, int64_t n, const float * importance) {
    BlockQT2 * y = static_cast<BlockQT2 *>(dst);
    const QtGrid & grid = qt2_grid();
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        float x[kQTBlock], w[kQTBlock];
        uint8_t idx[kQTBlock];
        int ls[kQTBlock / kQT2Sub];
        qt_rotate_and_weigh(src + i * kQTBlock, importance ? importance + i * kQTBlock : nullptr, x, w);
        BlockQT2 & b = y[i];
        std::memset(&b, 0, sizeof b);
        b.d = qt_quantize_scales(x, w, grid, kQT2Sub, ls, idx);
        if (importance) qt_refine_importance(x, importance + i * kQTBlock, grid, b.d, kQT2Sub, ls, idx);
        qt_pack_scales(ls, kQTBlock / kQT2Sub, b.scales_l, b.scales_h, reinterpret_cast<uint8_t *>(&b.signs));
        qt_pack2(idx, b.qs);
    }
}

void dequantize_row_qt2(const void * src, float * dst, int64_t n) {
    const BlockQT2 * x = static_cast<const BlockQT2 *>(src);
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        float * out = dst + i * kQTBlock;
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < kQTBlock; ++e) out[e] = d * float(qt2_scale(x[i], e / kQT2Sub)) * float(kQT2Levels[qt2_index(x[i], e)]);
        unrotate_256(out);
        unrotate_256(out + kRotation);
    }
}

// Exact int32 per rotation block (|sum| <= 16 * 63 * 16 * 127 * 127 < 2^31), then the float
// expression d * y.d * sumi: SIMD versions equal this bit for bit.
float dot_row_qt2(const void * w, const void * a, int64_t n) {
    const BlockQT2 * x = static_cast<const BlockQT2 *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQTBlock; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int h = 0; h < 2; ++h) {
            const BlockQ8_K & yb = y[2 * i + h];
            int sumi = 0;
            for (int j = 16 * h; j < 16 * h + 16; ++j) {
                int s = 0;
                for (int e = kQT2Sub * j; e < kQT2Sub * j + kQT2Sub; ++e) s += kQT2Levels[qt2_index(x[i], e)] * yb.qs[e - 256 * h];
                sumi += qt2_scale(x[i], j) * s;
            }
            sum += d * yb.d * float(sumi);
        }
    }
    return sum;
}

}  // namespace quanta::quant
