// tests/quant/qt_doc.h — docs/quant-formats.md's rotation, written again from the text (not from
// quant/), for the layout tests of QT3 and QT2.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/types.h"
#include "tests/quant/test_data.h"

namespace quanta::quant::testing {

// R^T x per the doc: Walsh-Hadamard butterflies, then element i times S_i / 16, S_i = -1 when
// bit 31 of the i-th LCG state (s = s * 1664525 + 1013904223, seed 0x51A7E5) is set.
inline void doc_unrotate(double * x) {
    for (int h = 1; h < 256; h *= 2) {
        for (int i = 0; i < 256; i += 2 * h) {
            for (int j = i; j < i + h; ++j) {
                const double a = x[j], b = x[j + h];
                x[j] = a + b;
                x[j + h] = a - b;
            }
        }
    }
    uint32_t s = 0x51A7E5u;
    for (int i = 0; i < 256; ++i) {
        s = s * 1664525u + 1013904223u;
        x[i] *= ((s >> 31) ? -1.0 : 1.0) / 16.0;
    }
}

// The 2-bit plane of the doc: element e of the block at byte 16 * (e / 64) + e % 16, bits
// 2 * ((e % 64) / 16).
inline void doc_put2(uint8_t * plane, int e, int v) {
    plane[16 * (e / 64) + e % 16] = uint8_t(plane[16 * (e / 64) + e % 16] | (v << (2 * ((e % 64) / 16))));
}

// Signed 6-bit scales as the doc packs them: magnitude bits 0..3 in nibble j % 2 of lo[j / 2],
// bits 4..5 in bits 2 * (j % 4) of hi[j / 4], sign in bit j of the signs field.
inline void doc_put_scale(uint8_t * lo, uint8_t * hi, uint8_t * signs, int j, int m, bool neg) {
    lo[j / 2] = uint8_t(lo[j / 2] | ((m & 0xF) << (4 * (j % 2))));
    hi[j / 4] = uint8_t(hi[j / 4] | ((m >> 4) << (2 * (j % 4))));
    if (neg) signs[j / 8] = uint8_t(signs[j / 8] | (1 << (j % 8)));
}

// dot_row of a QT row (heavy-tailed weights, seed) against a Q8_KH row (Gaussian, seed + 1), next
// to the plain double dot of the two decoded rows: the rotation is orthonormal, so they agree.
struct DecodedDot {
    double got = 0.0;        // dot_row
    double plain = 0.0;      // sum of decoded weight x decoded activation
    double magnitude = 0.0;  // sum of their absolute products (the tolerance's scale)
    double exact = 0.0;      // sum of the unquantized weight x activation
};
inline DecodedDot dot_vs_decoded(Type type, int64_t n, uint32_t seed) {
    const std::vector<float> w = heavy_tailed(size_t(n), seed);
    const std::vector<float> a = gaussian(size_t(n), seed + 1);
    std::vector<uint8_t> qw(row_bytes(type, n)), qa(row_bytes(Type::Q8_KH, n));
    traits(type).quantize_row(w.data(), qw.data(), n, nullptr);
    traits(Type::Q8_KH).quantize_row(a.data(), qa.data(), n, nullptr);
    std::vector<float> dw(static_cast<size_t>(n)), da(static_cast<size_t>(n));
    traits(type).dequantize_row(qw.data(), dw.data(), n);
    traits(Type::Q8_KH).dequantize_row(qa.data(), da.data(), n);
    DecodedDot r;
    for (size_t i = 0; i < size_t(n); ++i) {
        r.plain += double(dw[i]) * double(da[i]);
        r.magnitude += std::fabs(double(dw[i]) * double(da[i]));
        r.exact += double(w[i]) * double(a[i]);
    }
    r.got = double(traits(type).dot_row(qw.data(), qa.data(), n));
    return r;
}

}  // namespace quanta::quant::testing
