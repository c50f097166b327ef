// tests/quant/test_data.h — deterministic test data for the quant tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "quant/types.h"

namespace quanta::quant::testing {

// Unit Gaussian values.
inline std::vector<float> gaussian(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float & x : v) x = dist(rng);
    return v;
}

// Heavy-tailed like real LLM weights: Gaussian with per-32-block scale variation and ~1% outliers
// at 8-20 sigma.
inline std::vector<float> heavy_tailed(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    std::vector<float> v(n);
    float block_scale = 1.0f;
    for (size_t i = 0; i < n; ++i) {
        if (i % 32 == 0) block_scale = std::exp(uni(rng) * 1.5f - 0.75f);
        v[i] = dist(rng) * block_scale;
        if (uni(rng) < 0.01f) v[i] *= 8.0f + 12.0f * uni(rng);
    }
    return v;
}

inline double rel_rmse(const std::vector<float> & ref, const std::vector<float> & got) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
        num += double(ref[i] - got[i]) * double(ref[i] - got[i]);
        den += double(ref[i]) * double(ref[i]);
    }
    return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

// quantize_row then dequantize_row of `x` (one row), with optional per-column importance.
inline std::vector<float> round_trip(const TypeTraits & t, const std::vector<float> & x, const float * imp = nullptr) {
    std::vector<uint8_t> q(row_bytes(t.type, int64_t(x.size())));
    t.quantize_row(x.data(), q.data(), int64_t(x.size()), imp);
    std::vector<float> y(x.size());
    t.dequantize_row(q.data(), y.data(), int64_t(x.size()));
    return y;
}

}  // namespace quanta::quant::testing
