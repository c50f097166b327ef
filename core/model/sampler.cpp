#include "core/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace quanta::model {

Sampler::Sampler(const SamplerParams & params) : p_(params), rng_(params.seed) {}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    const int32_t n = int32_t(logits.size());
    work_.assign(logits.begin(), logits.end());

    if (p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f) {
        const size_t from = history.size() > size_t(std::max(0, p_.penalty_last_n))
                                ? history.size() - size_t(std::max(0, p_.penalty_last_n)) : 0;
        std::unordered_map<int32_t, int> counts;
        for (size_t i = from; i < history.size(); ++i) {
            if (history[i] >= 0 && history[i] < n) ++counts[history[i]];
        }
        for (const auto & [id, count] : counts) {
            float & l = work_[size_t(id)];
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
            l -= p_.presence_penalty + p_.frequency_penalty * float(count);
        }
    }
    if (p_.temperature <= 0.0f) return int32_t(std::max_element(work_.begin(), work_.end()) - work_.begin());

    // Candidates sorted by logit (ties by id, so the order never depends on the sort).
    ids_.resize(size_t(n));
    std::iota(ids_.begin(), ids_.end(), 0);
    auto by_logit = [&](int32_t a, int32_t b) {
        return work_[size_t(a)] > work_[size_t(b)] || (work_[size_t(a)] == work_[size_t(b)] && a < b);
    };
    size_t keep = size_t(n);
    if (p_.top_k > 0 && p_.top_k < n) {
        keep = size_t(p_.top_k);
        std::partial_sort(ids_.begin(), ids_.begin() + std::ptrdiff_t(keep), ids_.end(), by_logit);
    } else {
        std::sort(ids_.begin(), ids_.end(), by_logit);
    }
    ids_.resize(keep);

    std::vector<double> prob(keep);
    const double top = work_[size_t(ids_[0])];
    double sum = 0;
    for (size_t i = 0; i < keep; ++i) sum += prob[i] = std::exp((double(work_[size_t(ids_[i])]) - top) / p_.temperature);
    for (double & p : prob) p /= sum;

    if (p_.top_p < 1.0f) {
        double cum = 0;
        size_t k = 0;
        while (k < keep && cum < double(p_.top_p)) cum += prob[k++];
        keep = std::max<size_t>(1, k);
    }
    if (p_.min_p > 0.0f) {
        size_t k = 1;
        while (k < keep && prob[k] >= double(p_.min_p) * prob[0]) ++k;
        keep = k;
    }
    std::discrete_distribution<size_t> pick(prob.begin(), prob.begin() + std::ptrdiff_t(keep));
    return ids_[pick(rng_)];
}

}  // namespace quanta::model
