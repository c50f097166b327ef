// tests/quant/test_qt4.cpp — QT4's bytes mean what docs/quant-formats.md says: a block written
// field by field from the documented layout decodes (through an independent implementation of
// the documented rotation) to what dequantize_row / dot_row compute; and the rotation is
// orthonormal, so QT4 . Q8_KH equals the plain dot product of the decoded rows.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/fp.h"
#include "quant/types.h"
#include "tests/quant/test_data.h"

using namespace quanta;
using namespace quanta::quant;

namespace {

// R^T x per the doc: Walsh-Hadamard butterflies, then element i times S_i / 16, S_i = -1 when
// bit 31 of the i-th LCG state (s = s * 1664525 + 1013904223, seed 0x51A7E5) is set.
void doc_unrotate(double * x) {
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

const int kGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

}  // namespace

TEST_CASE("QT4 block layout matches docs/quant-formats.md", "[quant][qt4]") {
    const TypeTraits & t = traits(Type::QT4);
    REQUIRE(t.block_size == 512);
    REQUIRE(t.block_bytes == 272);
    std::mt19937 rng(7);
    uint8_t block[272] = {};
    const uint16_t d = fp32_to_fp16(0.0123f);
    std::memcpy(block, &d, 2);
    int m[16], sign[16], q[512];
    for (int j = 0; j < 16; ++j) {
        m[j] = int(rng() % 64);
        sign[j] = int(rng() % 2);
        block[2 + j / 2] |= uint8_t((m[j] & 0xF) << (4 * (j % 2)));
        block[10 + j / 4] |= uint8_t((m[j] >> 4) << (2 * (j % 4)));
        block[14 + j / 8] |= uint8_t(sign[j] << (j % 8));
    }
    for (int e = 0; e < 512; ++e) q[e] = int(rng() % 16);
    for (int j = 0; j < 16; ++j) {
        for (int i = 0; i < 16; ++i) block[16 + 16 * j + i] = uint8_t(q[32 * j + i] | (q[32 * j + 16 + i] << 4));
    }
    std::vector<double> ref(512);
    for (int e = 0; e < 512; ++e) {
        const int j = e / 32;
        ref[size_t(e)] = double(fp16_to_fp32(d)) * (sign[j] ? -m[j] : m[j]) * kGrid[q[e]];
    }
    doc_unrotate(ref.data());
    doc_unrotate(ref.data() + 256);
    std::vector<float> got(512);
    t.dequantize_row(block, got.data(), 512);
    for (int e = 0; e < 512; ++e) {
        INFO("element " << e);
        CHECK(std::fabs(double(got[size_t(e)]) - ref[size_t(e)]) <= 1e-5 * (1.0 + std::fabs(ref[size_t(e)])));
    }
}

TEST_CASE("QT4 rotation is orthonormal: dot in the rotated domain equals the plain dot", "[quant][qt4]") {
    const int64_t n = 512 * 6;
    const std::vector<float> w = testing::heavy_tailed(size_t(n), 11);
    const std::vector<float> a = testing::gaussian(size_t(n), 12);
    std::vector<uint8_t> qw(row_bytes(Type::QT4, n)), qa(row_bytes(Type::Q8_KH, n));
    traits(Type::QT4).quantize_row(w.data(), qw.data(), n, nullptr);
    traits(Type::Q8_KH).quantize_row(a.data(), qa.data(), n, nullptr);
    std::vector<float> dw(static_cast<size_t>(n)), da(static_cast<size_t>(n));
    traits(Type::QT4).dequantize_row(qw.data(), dw.data(), n);
    traits(Type::Q8_KH).dequantize_row(qa.data(), da.data(), n);
    double plain = 0.0, mag = 0.0, exact = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        plain += double(dw[size_t(i)]) * double(da[size_t(i)]);
        mag += std::fabs(double(dw[size_t(i)]) * double(da[size_t(i)]));
        exact += double(w[size_t(i)]) * double(a[size_t(i)]);
    }
    const float got = traits(Type::QT4).dot_row(qw.data(), qa.data(), n);
    CHECK(std::fabs(double(got) - plain) <= 1e-5 * mag);
    // And the quantized dot is close to the exact one (4-bit weights, 8-bit activations).
    INFO("quantized " << got << " exact " << exact << " magnitude " << mag);
    CHECK(std::fabs(double(got) - exact) <= 0.05 * mag);
}
