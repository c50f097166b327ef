// tests/quant/test_qt2.cpp — QT2's bytes mean what docs/quant-formats.md says (a block written
// field by field from the doc decodes, through the doc's rotation, to what dequantize_row gives);
// its dot with Q8_KH equals the dot of the decoded rows; on heavy-tailed data it stays close to
// Q2_K at fewer bits. (SIMD == reference: test_qt3.cpp; tolerances and determinism: test_types.cpp.)
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

const int kLevels[4] = {-127, -48, 13, 79};

}  // namespace

TEST_CASE("QT2 block layout matches docs/quant-formats.md", "[quant][qt2]") {
    const TypeTraits & t = traits(Type::QT2);
    REQUIRE(t.block_size == 512);
    REQUIRE(t.block_bytes == 160);
    CHECK(t.bits_per_weight() == 2.5);
    std::mt19937 rng(9);
    uint8_t block[160] = {};
    const uint16_t d = fp32_to_fp16(0.0113f);
    std::memcpy(block, &d, 2);
    int m[32], neg[32], q[512];
    for (int j = 0; j < 32; ++j) {
        m[j] = int(rng() % 64);
        neg[j] = int(rng() % 2);
        doc_put_scale(block + 8, block + 24, block + 4, j, m[j], neg[j] != 0);
    }
    for (int e = 0; e < 512; ++e) {
        q[e] = int(rng() % 4);
        doc_put2(block + 32, e, q[e]);
    }
    std::vector<double> ref(512);
    for (int e = 0; e < 512; ++e) {
        const int j = e / 16;
        ref[size_t(e)] = double(fp16_to_fp32(d)) * (neg[j] ? -m[j] : m[j]) * kLevels[q[e]];
    }
    doc_unrotate(ref.data());
    doc_unrotate(ref.data() + 256);
    std::vector<float> got(512);
    t.dequantize_row(block, got.data(), 512);
    for (int e = 0; e < 512; ++e) {
        INFO("element " << e);
        CHECK(std::fabs(double(got[size_t(e)]) - ref[size_t(e)]) <= 1e-5 * (1.0 + std::fabs(ref[size_t(e)])));
    }
    // The quantizer writes the reserved field as zero.
    const std::vector<float> x = gaussian(512, 10);
    uint8_t out[160];
    std::memset(out, 0xAB, sizeof out);
    t.quantize_row(x.data(), out, 512, nullptr);
    CHECK(out[2] == 0);
    CHECK(out[3] == 0);
}

TEST_CASE("QT2 . Q8_KH equals the dot of the decoded rows", "[quant][qt2]") {
    const DecodedDot r = dot_vs_decoded(Type::QT2, 512 * 5, 31);
    CHECK(std::fabs(r.got - r.plain) <= 1e-5 * r.magnitude);
}

TEST_CASE("QT2 stays within 5% of Q2_K's error on heavy-tailed data at fewer bits", "[quant][qt2]") {
    const std::vector<float> x = heavy_tailed(512 * 32, 13);
    const double qt2 = rel_rmse(x, round_trip(traits(Type::QT2), x));
    const double q2k = rel_rmse(x, round_trip(traits(Type::Q2_K), x));
    INFO("QT2 " << qt2 << " (2.5 bpw), Q2_K " << q2k << " (2.625 bpw)");
    // Measured: QT2 0.274 vs Q2_K 0.267 here (real weights: 0.287 vs 0.278, bench/RESULTS.md).
    // The rotation makes every block Gaussian, the worst case for a 4-level scalar grid, while
    // Q2_K's per-16 scale and min exploit the blocks' varying spread; QT2 pays 0.125 bpw less.
    CHECK(qt2 < 1.05 * q2k);
    const std::vector<float> g = gaussian(512 * 32, 14);
    CHECK(rel_rmse(g, round_trip(traits(Type::QT2), g)) < 0.34);  // Lloyd-Max 4 levels: 0.343 at known sigma
}
