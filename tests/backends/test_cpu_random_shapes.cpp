// tests/backends/test_cpu_random_shapes.cpp — seeded random shapes (odd extents, tile edges,
// broadcasting factors, batch broadcasting) for mul_mat, add/mul and rms_norm against naive
// references; 1 and 2 threads must agree bit for bit.
#include <catch2/catch.hpp>

#include "tests/backends/op_harness.h"

using namespace quanta;
using namespace quanta::test;

TEST_CASE("random shapes: mul_mat over F32 / F16 / Q8_0 / Q4_K weights with batch broadcasting", "[cpu][ops]") {
    std::mt19937 rng(2024);
    const Type types[] = {Type::F32, Type::F16, Type::Q8_0, Type::Q4_K};
    for (int trial = 0; trial < 16; ++trial) {
        const Type wt = types[trial % 4];
        const int64_t bs = std::max(quant::traits(wt).block_size, quant::traits(quant::traits(wt).dot_with).block_size);
        const int64_t K = bs == 1 ? 1 + int64_t(rng() % 150) : bs * (1 + int64_t(rng() % 2));
        const int64_t N = 1 + int64_t(rng() % 40), M = 1 + int64_t(rng() % 140);
        const int64_t b2 = 1 + int64_t(rng() % 2), B2 = b2 * (1 + int64_t(rng() % 2)), B3 = 1 + int64_t(rng() % 2);
        INFO("trial " << trial << " " << core::type_name(wt) << " K " << K << " N " << N << " M " << M << " b2 " << b2
                      << " B2 " << B2 << " B3 " << B3);
        OpCase c(uint32_t(100 + trial));
        std::vector<float> w, x;
        Tensor tw = c.typed("w", wt, {K, N, b2, 1}, w);
        Tensor tx = c.f32("x", {K, M, B2, B3}, x);
        std::vector<float> got = run_1_and_2(c, c.g.mul_mat(tw, tx));
        const Type vt = quant::traits(wt).dot_with;
        std::vector<double> ref(static_cast<size_t>(N * M * B2 * B3));
        for (int64_t i3 = 0; i3 < B3; ++i3) {
            for (int64_t i2 = 0; i2 < B2; ++i2) {
                for (int64_t m = 0; m < M; ++m) {
                    std::vector<float> xr = round_trip(vt, &x[size_t(((i3 * B2 + i2) * M + m) * K)], K);
                    for (int64_t n = 0; n < N; ++n) {
                        double s = 0;
                        const float * wr = &w[size_t(((i2 / (B2 / b2)) * N + n) * K)];
                        for (int64_t k = 0; k < K; ++k) s += double(wr[k]) * xr[size_t(k)];
                        ref[size_t(((i3 * B2 + i2) * M + m) * N + n)] = s;
                    }
                }
            }
        }
        CHECK(rel_max_err(got, ref) < 2e-4);
    }
}

TEST_CASE("random shapes: add / mul broadcasting and rms_norm", "[cpu][ops]") {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 24; ++trial) {
        core::Dims a, b;
        for (int i = 0; i < 4; ++i) {
            const int64_t f = 1 + int64_t(rng() % 3);
            b[i] = 1 + int64_t(rng() % 4);
            a[i] = b[i] * f;
        }
        INFO("trial " << trial << " a [" << a[0] << "," << a[1] << "," << a[2] << "," << a[3] << "] b [" << b[0] << ","
                      << b[1] << "," << b[2] << "," << b[3] << "]");
        OpCase c(uint32_t(300 + trial));
        std::vector<float> ha, hb, hw;
        Tensor ta = c.f32("a", a, ha);
        Tensor tb = c.f32("b", b, hb);
        const bool use_add = trial % 2 == 0;
        Tensor sum = use_add ? ta + tb : ta * tb;
        Tensor normed = c.g.rms_norm(sum, c.f32("w", {a[0]}, hw), 1e-6f);
        std::vector<std::vector<float>> one = c.run({sum, normed}, 1);
        std::vector<std::vector<float>> two = c.run({sum, normed}, 2);
        REQUIRE(bitwise_equal(one[0], two[0]));
        REQUIRE(bitwise_equal(one[1], two[1]));
        std::vector<double> ref_sum, ref_norm;
        for (int64_t i3 = 0; i3 < a[3]; ++i3) {
            for (int64_t i2 = 0; i2 < a[2]; ++i2) {
                for (int64_t i1 = 0; i1 < a[1]; ++i1) {
                    std::vector<double> row;
                    for (int64_t i0 = 0; i0 < a[0]; ++i0) {
                        const double x = ha[size_t(((i3 * a[2] + i2) * a[1] + i1) * a[0] + i0)];
                        const double y = hb[size_t((((i3 % b[3]) * b[2] + i2 % b[2]) * b[1] + i1 % b[1]) * b[0] + i0 % b[0])];
                        row.push_back(use_add ? x + y : x * y);
                    }
                    double ss = 0;
                    for (double v : row) ss += v * v;
                    const double s = 1.0 / std::sqrt(ss / double(a[0]) + 1e-6);
                    for (size_t i = 0; i < row.size(); ++i) {
                        ref_sum.push_back(row[i]);
                        ref_norm.push_back(row[i] * s * hw[i]);
                    }
                }
            }
        }
        CHECK(rel_max_err(one[0], ref_sum) < 1e-6);
        CHECK(rel_max_err(one[1], ref_norm) < 1e-5);
    }
}
