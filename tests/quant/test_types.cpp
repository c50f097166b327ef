// tests/quant/test_types.cpp — the traits table: every types.def row round-trips within its
// tolerance, its dot product equals dequantize-then-dot, and its encoder is deterministic.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "quant/fp.h"
#include "quant/types.h"
#include "tests/quant/test_data.h"

using namespace quanta;
using namespace quanta::quant;
using namespace quanta::quant::testing;

TEST_CASE("traits table is consistent with types.def", "[quant]") {
    REQUIRE(all_types().size() == 21);
    for (const TypeTraits & t : all_types()) {
        INFO(t.name);
        CHECK(t.quantize_row != nullptr);
        CHECK(t.dequantize_row != nullptr);
        CHECK(t.dot_row != nullptr);
        CHECK(type_from_id(t.id) == t.type);
        CHECK(type_from_name(t.name) == t.type);
        CHECK(uint32_t(t.type) == t.id);
        CHECK(t.block_size % traits(t.dot_with).block_size == 0);
        CHECK(is_quantized(t.type) == (t.block_size > 1));
        CHECK(row_bytes(t.type, t.block_size * 3) == 3 * t.block_bytes);
    }
    CHECK(type_from_name("q4_k") == Type::Q4_K);
    CHECK(!type_from_name("Q4_K_M").has_value());
    CHECK(!type_from_id(4).has_value());  // ggml's removed Q4_2
    CHECK(traits(Type::Q4_K).bits_per_weight() == 4.5);
    CHECK(traits(Type::IQ4_XS).bits_per_weight() == 4.25);
}

TEST_CASE("every type round-trips Gaussian data within its tolerance", "[quant]") {
    const std::vector<float> x = gaussian(256 * 64, 1);
    for (const TypeTraits & t : all_types()) {
        const double err = rel_rmse(x, round_trip(t, x));
        INFO(t.name << " rel_rmse " << err << " tolerance " << t.max_rel_rmse);
        CHECK(err <= t.max_rel_rmse);
        if (t.type == Type::F32) CHECK(err == 0.0);
    }
}

TEST_CASE("every type round-trips heavy-tailed data within twice its tolerance", "[quant]") {
    // About a quarter of the 32-blocks hold an 8-20 sigma outlier, which stretches that block's
    // scale: weight types stay within 2x their Gaussian tolerance. Activation-only types (Q8_1,
    // Q8_K) use one plain absmax scale per block by design (SIMD must reproduce them exactly);
    // Q8_K's single scale per 256 elements gets 3x.
    const std::vector<float> x = heavy_tailed(256 * 64, 2);
    for (const TypeTraits & t : all_types()) {
        const double err = rel_rmse(x, round_trip(t, x));
        const double bound = (t.activation_only && t.block_size == 256 ? 3.0 : 2.0) * t.max_rel_rmse;
        INFO(t.name << " rel_rmse " << err << " bound " << bound);
        CHECK(err <= bound);
    }
}

TEST_CASE("dot_row equals dequantize-then-dot", "[quant]") {
    const int64_t n = 256 * 8;
    const std::vector<float> w = heavy_tailed(size_t(n), 3);
    const std::vector<float> a = gaussian(size_t(n), 4);
    for (const TypeTraits & t : all_types()) {
        INFO(t.name);
        const TypeTraits & at = traits(t.dot_with);
        std::vector<uint8_t> qw(row_bytes(t.type, n)), qa(row_bytes(at.type, n));
        t.quantize_row(w.data(), qw.data(), n, nullptr);
        at.quantize_row(a.data(), qa.data(), n, nullptr);
        std::vector<float> dw(static_cast<size_t>(n)), da(static_cast<size_t>(n));
        t.dequantize_row(qw.data(), dw.data(), n);
        at.dequantize_row(qa.data(), da.data(), n);
        double ref = 0.0, mag = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            ref += double(dw[size_t(i)]) * double(da[size_t(i)]);
            mag += std::fabs(double(dw[size_t(i)]) * double(da[size_t(i)]));
        }
        const float got = t.dot_row(qw.data(), qa.data(), n);
        // Integer sums are exact and the float accumulation rounds at most a few ulps of the
        // magnitude. Q8_1 activations also carry s = fp16(d * sum q), which the offset term of
        // Q4_1 / Q5_1 uses: that adds up to half an fp16 ulp (2^-11 relative) of |m * s| per block.
        double bound = 1e-5 * mag + 1e-30;
        if (t.dot_with == Type::Q8_1 && t.type != Type::Q8_1) {
            for (int64_t b = 0; b < n / 32; ++b) {
                uint16_t m, s;
                std::memcpy(&m, qw.data() + b * int64_t(t.block_bytes) + 2, 2);
                std::memcpy(&s, qa.data() + b * int64_t(at.block_bytes) + 2, 2);
                bound += std::ldexp(std::fabs(double(fp16_to_fp32(m)) * double(fp16_to_fp32(s))), -11);
            }
        }
        INFO("dot " << got << " reference " << ref << " magnitude " << mag << " bound " << bound);
        CHECK(std::fabs(double(got) - ref) <= bound);
    }
}

TEST_CASE("encoders are deterministic and thread-count independent", "[quant]") {
    const int64_t ncols = 512, nrows = 7;  // odd row count: uneven thread split
    const std::vector<float> x = heavy_tailed(size_t(ncols * nrows), 5);
    const std::vector<float> imp = gaussian(size_t(ncols), 6);
    std::vector<float> importance(imp.size());
    for (size_t i = 0; i < imp.size(); ++i) importance[i] = imp[i] * imp[i];
    for (const TypeTraits & t : all_types()) {
        INFO(t.name);
        const size_t bytes = row_bytes(t.type, ncols) * size_t(nrows);
        std::vector<uint8_t> one(bytes), three(bytes), again(bytes), rowwise(bytes);
        quantize_rows(t.type, x.data(), one.data(), nrows, ncols, importance.data(), 1);
        quantize_rows(t.type, x.data(), three.data(), nrows, ncols, importance.data(), 3);
        quantize_rows(t.type, x.data(), again.data(), nrows, ncols, importance.data(), 16);
        for (int64_t r = 0; r < nrows; ++r) {
            t.quantize_row(x.data() + r * ncols, rowwise.data() + size_t(r) * row_bytes(t.type, ncols), ncols,
                           importance.data());
        }
        CHECK(one == three);
        CHECK(one == again);
        CHECK(one == rowwise);
    }
    // Zero rows is a no-op.
    quantize_rows(Type::Q4_K, x.data(), nullptr, 0, ncols, nullptr, 2);
}

TEST_CASE("importance weighting lowers the weighted error", "[quant]") {
    // Columns with high importance should be reproduced better when the quantizer knows it.
    const int64_t n = 256 * 32;
    const std::vector<float> x = heavy_tailed(size_t(n), 7);
    std::vector<float> imp(static_cast<size_t>(n));
    const std::vector<float> g = gaussian(size_t(n), 8);
    for (size_t i = 0; i < imp.size(); ++i) imp[i] = std::exp(2.0f * g[i]);  // log-normal, like E[a^2]
    for (const TypeTraits & t : all_types()) {
        // Q8_0 is round-to-nearest. QT4 / QT3 / QT2 use it through qt_refine_importance
        // (qt_common.h), as their rotation mixes 256 columns.
        if (!is_quantized(t.type) || t.activation_only || t.type == Type::Q8_0) continue;
        const std::vector<float> plain = round_trip(t, x, nullptr);
        const std::vector<float> weighted = round_trip(t, x, imp.data());
        double e_plain = 0.0, e_weighted = 0.0;
        for (size_t i = 0; i < x.size(); ++i) {
            e_plain += imp[i] * double(x[i] - plain[i]) * double(x[i] - plain[i]);
            e_weighted += imp[i] * double(x[i] - weighted[i]) * double(x[i] - weighted[i]);
        }
        INFO(t.name << " weighted error without imatrix " << e_plain << ", with " << e_weighted);
        CHECK(e_weighted < 0.97 * e_plain);
    }
}

TEST_CASE("fp16 conversion round-trips every half value", "[quant]") {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16_to_fp32(uint16_t(h));
        const uint16_t back = fp32_to_fp16(f);
        if (std::isnan(f)) {
            CHECK(std::isnan(fp16_to_fp32(back)));
        } else if (back != h) {
            FAIL("fp16 " << h << " -> " << f << " -> " << back);
        }
    }
    CHECK(fp32_to_fp16(65520.0f) == 0x7C00);  // ties to even rounds up to inf
    CHECK(fp32_to_fp16(65519.0f) == 0x7BFF);
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -25)) == 0);      // tie below the smallest subnormal -> 0
    CHECK(fp32_to_fp16(std::ldexp(1.5f, -25)) == 1);
}
