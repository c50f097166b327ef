#include "core/model/perplexity.h"

#include <algorithm>
#include <cmath>

namespace quanta::model {

double PerplexityResult::ppl() const { return n_scored ? std::exp(nll_sum / double(n_scored)) : 0.0; }

double PerplexityResult::ppl_error() const {
    if (n_scored < 2) return 0.0;
    const double mean = nll_sum / double(n_scored);
    const double var = std::max(0.0, nll2_sum / double(n_scored) - mean * mean);
    return ppl() * std::sqrt(var / double(n_scored - 1));  // ref: llama-perplexity's +/- estimate
}

void log_softmax(std::span<const float> logits, std::vector<double> & out) {
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(double(l) - mx);
    const double lse = mx + std::log(sum);
    out.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) out[i] = double(logits[i]) - lse;
}

double kl_divergence(std::span<const double> base_lp, std::span<const double> other_lp) {
    double kl = 0;
    for (size_t i = 0; i < base_lp.size(); ++i) kl += std::exp(base_lp[i]) * (base_lp[i] - other_lp[i]);
    return std::max(0.0, kl);  // rounding can leave a tiny negative sum
}

Result<PerplexityResult> perplexity(Session & session, std::span<const int32_t> tokens, int32_t bos,
                                    const PerplexityOptions & o, const ScoredChunkFn & on_chunk) {
    if (o.n_ctx < 4) return Status::error("perplexity: the chunk length must be at least 4 tokens");
    if (session.n_ctx() < o.n_ctx) {
        return Status::error("perplexity: the session holds " + std::to_string(session.n_ctx()) +
                             " positions, fewer than the chunk length " + std::to_string(o.n_ctx));
    }
    int64_t n_chunks = int64_t(tokens.size()) / o.n_ctx;
    if (o.max_chunks > 0) n_chunks = std::min(n_chunks, o.max_chunks);
    if (n_chunks == 0) {
        return Status::error("perplexity: the text has " + std::to_string(tokens.size()) +
                             " tokens, fewer than one chunk of " + std::to_string(o.n_ctx) + " (use a smaller -c)");
    }
    const int64_t n_vocab = session.model().hparams().n_vocab;
    const int64_t first = o.n_ctx / 2;
    PerplexityResult r;
    std::vector<int32_t> chunk(size_t(o.n_ctx));
    std::vector<int32_t> targets;
    std::vector<double> lp;
    for (int64_t c = 0; c < n_chunks; ++c) {
        std::copy_n(tokens.begin() + c * o.n_ctx, o.n_ctx, chunk.begin());
        if (bos >= 0) chunk[0] = bos;
        session.clear();
        auto logits = session.eval(chunk, /*all_logits=*/true);
        if (!logits.ok()) return logits.status();
        targets.assign(chunk.begin() + first + 1, chunk.end());
        // The original text's tokens are the targets (position first + 1 onwards is never the BOS).
        for (int64_t j = first; j < o.n_ctx - 1; ++j) {
            std::span<const float> row(logits->data() + size_t(j * n_vocab), size_t(n_vocab));
            log_softmax(row, lp);
            const double nll = -lp[size_t(chunk[size_t(j + 1)])];
            r.nll_sum += nll;
            r.nll2_sum += nll * nll;
            ++r.n_scored;
        }
        if (on_chunk) {
            QUANTA_TRY(on_chunk(c, std::span<const float>(logits->data() + size_t(first * n_vocab),
                                                          size_t((o.n_ctx - 1 - first) * n_vocab)),
                                targets));
        }
        ++r.n_chunks;
    }
    session.clear();
    return r;
}

}  // namespace quanta::model
