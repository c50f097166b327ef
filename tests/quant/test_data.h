// tests/quant/test_data.h — deterministic test data for the quant tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

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

}  // namespace quanta::quant::testing
