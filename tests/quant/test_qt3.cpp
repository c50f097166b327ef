// tests/quant/test_qt3.cpp — QT3's bytes mean what docs/quant-formats.md says (a block written
// field by field from the doc decodes, through the doc's rotation, to what dequantize_row gives);
// its dot with Q8_KH equals the dot of the decoded rows; on heavy-tailed data it beats Q3_K at
// fewer bits; every SIMD kernel equals the reference bit for bit on odd lengths and misaligned
// rows. (Round-trip tolerances and determinism of every type: test_types.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/dispatch.h"
#include "quant/fp.h"
#include "quant/types.h"
#include "tests/quant/qt_doc.h"
#include "tests/quant/test_data.h"

using namespace quanta;
using namespace quanta::quant;
using namespace quanta::quant::testing;

namespace {

const int kLevels[8] = {-127, -76, -42, -14, 13, 40, 70, 107};

}  // namespace

TEST_CASE("QT3 block layout matches docs/quant-formats.md", "[quant][qt3]") {
    const TypeTraits & t = traits(Type::QT3);
    REQUIRE(t.block_size == 512);
    REQUIRE(t.block_bytes == 208);
    CHECK(t.bits_per_weight() == 3.25);
    std::mt19937 rng(5);
    uint8_t block[208] = {};
    const uint16_t d = fp32_to_fp16(0.0071f);
    std::memcpy(block, &d, 2);
    int m[16], neg[16], q[512];
    for (int j = 0; j < 16; ++j) {
        m[j] = int(rng() % 64);
        neg[j] = int(rng() % 2);
        doc_put_scale(block + 2, block + 10, block + 14, j, m[j], neg[j] != 0);
    }
    for (int e = 0; e < 512; ++e) {
        q[e] = int(rng() % 8);
        doc_put2(block + 16, e, q[e] & 3);
        block[144 + e / 8] = uint8_t(block[144 + e / 8] | ((q[e] >> 2) << (e % 8)));
    }
    std::vector<double> ref(512);
    for (int e = 0; e < 512; ++e) {
        const int j = e / 32;
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
}

TEST_CASE("QT3 . Q8_KH equals the dot of the decoded rows", "[quant][qt3]") {
    const DecodedDot r = dot_vs_decoded(Type::QT3, 512 * 5, 21);
    CHECK(std::fabs(r.got - r.plain) <= 1e-5 * r.magnitude);
}

TEST_CASE("QT3 beats Q3_K on heavy-tailed data at fewer bits", "[quant][qt3]") {
    const std::vector<float> x = heavy_tailed(512 * 32, 3);
    const double qt3 = rel_rmse(x, round_trip(traits(Type::QT3), x));
    const double q3k = rel_rmse(x, round_trip(traits(Type::Q3_K), x));
    INFO("QT3 " << qt3 << " (3.25 bpw), Q3_K " << q3k << " (3.44 bpw)");
    CHECK(qt3 < q3k);
    const std::vector<float> g = gaussian(512 * 32, 4);
    CHECK(rel_rmse(g, round_trip(traits(Type::QT3), g)) < 0.20);  // Lloyd-Max 8 levels: 0.186 at known sigma
}

TEST_CASE("QT3 and QT2 SIMD kernels equal the reference bit for bit", "[quant][qt3][qt2][simd]") {
    for (Type type : {Type::QT3, Type::QT2}) {
        const TypeTraits & t = traits(type);
        for (int64_t nb : {1, 3, 7}) {
            const int64_t n = 512 * nb;
            const std::vector<float> w = heavy_tailed(size_t(n), uint32_t(40 + nb));
            const std::vector<float> a = gaussian(size_t(n), uint32_t(50 + nb));
            // Rows at an odd 2-byte offset (blocks need 2-byte alignment), activations at +4.
            // Three different activation rows, so the multi-row dot cannot pass by reading one row.
            const size_t astride = row_bytes(Type::Q8_KH, n);
            std::vector<uint8_t> wbuf(row_bytes(type, n) + 2), abuf(3 * astride + 4);
            uint8_t * qw = wbuf.data() + 2;
            uint8_t * qa = abuf.data() + 4;
            t.quantize_row(w.data(), qw, n, nullptr);
            float ref_rows[3];
            for (int r = 0; r < 3; ++r) {
                const std::vector<float> ar = r == 0 ? a : gaussian(size_t(n), uint32_t(60 + 10 * nb + r));
                traits(Type::Q8_KH).quantize_row(ar.data(), qa + size_t(r) * astride, n, nullptr);
                ref_rows[r] = t.dot_row(qw, qa + size_t(r) * astride, n);
            }
            const float ref = ref_rows[0];
            std::vector<float> ref_deq(static_cast<size_t>(n)), got_deq(static_cast<size_t>(n));
            t.dequantize_row(qw, ref_deq.data(), n);
            for (Isa isa : available_isas()) {
                INFO(t.name << " isa " << isa_name(isa) << " blocks " << nb);
                const Kernels & k = kernels(type, isa);
                // x86 levels above scalar run quant/simd/avx2_qt.cpp (no AVX-512 version).
                if (isa == Isa::Avx2 || isa == Isa::Avx512 || isa == Isa::Avx512Vnni) CHECK(k.isa == Isa::Avx2);
                CHECK(k.vec_dot(qw, qa, n) == ref);
                float out[kMaxDotRows];
                dot_rows(k, qw, qa, astride, 3, out, n);
                for (int r = 0; r < 3; ++r) CHECK(out[r] == ref_rows[r]);
                k.dequantize_row(qw, got_deq.data(), n);
                CHECK(got_deq == ref_deq);
            }
        }
    }
}
