// core/model/perplexity.h — chunked perplexity computed as llama.cpp's llama-perplexity does, so
// the numbers are comparable: the tokenized text is cut into chunks of n_ctx tokens, each chunk is
// evaluated from an empty cache with its first token replaced by BOS (when the model has one), and
// only the second half of each chunk is scored (token j + 1 predicted from position j, for
// j in [n_ctx/2, n_ctx - 1)), so every scored token has at least n_ctx/2 tokens of context.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "core/model/session.h"

namespace quanta::model {

struct PerplexityOptions {
    int64_t n_ctx = 512;        // chunk length; the session's n_ctx must be at least this
    int64_t max_chunks = 0;     // 0: all whole chunks of the text
};

struct PerplexityResult {
    int64_t n_chunks = 0;
    int64_t n_scored = 0;
    double nll_sum = 0;         // sum of -log p(target)
    double nll2_sum = 0;        // sum of squares, for the standard error
    double ppl() const;
    double ppl_error() const;   // standard error of the estimate, as llama-perplexity prints it
};

// Called once per chunk with the scored rows: logits [count][n_vocab] and the target of each row.
using ScoredChunkFn = std::function<Status(int64_t chunk, std::span<const float> logits, std::span<const int32_t> targets)>;

// `bos` < 0: the model has no BOS and chunks are used as they are. Progress: `on_chunk` (may be
// empty) sees every chunk's rows, for KL divergence against a saved base.
Result<PerplexityResult> perplexity(Session & session, std::span<const int32_t> tokens, int32_t bos,
                                    const PerplexityOptions & options, const ScoredChunkFn & on_chunk = {});

// log-softmax of one logit row, in double precision.
void log_softmax(std::span<const float> logits, std::vector<double> & out);

// KL(base || other) of two log-softmax rows of the same length.
double kl_divergence(std::span<const double> base_lp, std::span<const double> other_lp);

}  // namespace quanta::model
