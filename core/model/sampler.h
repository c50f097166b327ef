// core/model/sampler.h — picks the next token from logits. The order (docs/sampling.md):
//   1. penalties over the last penalty_last_n tokens: repetition (divide positive logits, multiply
//      negative ones by repeat_penalty), presence (subtract once per seen token) and frequency
//      (subtract per occurrence);
//   2. temperature <= 0: greedy (the first maximum) — nothing below applies;
//   3. top-k (k <= 0: off), then softmax of logits / temperature over what is left;
//   4. top-p: the smallest set of most likely tokens whose probability reaches top_p (1: off);
//   5. min-p: drop tokens below min_p × the top probability (0: off);
//   6. draw from what is left with a seeded generator: the same seed and inputs give the same tokens.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace quanta::model {

struct SamplerParams {
    float temperature = 0.8f;
    int32_t top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;     // 1: off
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    int32_t penalty_last_n = 64;
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplerParams & params);
    // `history`: the tokens so far (prompt and generated), for the penalties.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
    const SamplerParams & params() const { return p_; }

private:
    SamplerParams p_;
    std::mt19937_64 rng_;
    std::vector<float> work_;
    std::vector<int32_t> ids_;
};

}  // namespace quanta::model
