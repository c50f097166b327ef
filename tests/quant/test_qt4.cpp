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
#include "tests/quant/qt_doc.h"
#include "tests/quant/test_data.h"

using namespace quanta;
using namespace quanta::quant;
using namespace quanta::quant::testing;

namespace {

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
    const DecodedDot r = dot_vs_decoded(Type::QT4, 512 * 6, 11);
    CHECK(std::fabs(r.got - r.plain) <= 1e-5 * r.magnitude);
    // And the quantized dot is close to the exact one (4-bit weights, 8-bit activations).
    INFO("quantized " << r.got << " exact " << r.exact << " magnitude " << r.magnitude);
    CHECK(std::fabs(r.got - r.exact) <= 0.05 * r.magnitude);
}
