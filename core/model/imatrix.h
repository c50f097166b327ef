// core/model/imatrix.h — collects importance statistics (formats/imatrix.h) by running a model over
// calibration text: for every mul_mat whose first source is one of the model's weights, the mean
// over all evaluated tokens of x_i^2 for each input channel i of its activation (the second source,
// [n_in, rows...]: every row of every batch dim counts, so a batched or grouped mul_mat
// accumulates per the weight's columns). Sums are kept in double and added in graph order, one
// thread, so the statistics are a pure function of the activations (deterministic).
//
// The text is cut into chunks of n_ctx tokens as perplexity does (core/model/perplexity.h): each
// chunk is evaluated from an empty cache with its first token replaced by BOS. The output head
// sees only the last token of a chunk unless include_output is set (then every token's logits are
// computed, which costs n_ctx * n_vocab floats); by default it is left out, as llama-imatrix does.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/executor.h"
#include "core/model/model.h"
#include "formats/imatrix.h"

namespace quanta::model {

// The NodeObserver that accumulates the statistics; usable with any graph of `model`.
class ImatrixCollector : public core::NodeObserver {
public:
    ImatrixCollector(const Model & model, bool include_output);

    uint32_t wants(const core::Graph & graph, int node) const override;
    Status observe(const core::Graph & graph, int node, std::span<const core::HostView> src) override;

    // Means so far; n_tokens etc. are left for the caller to fill in.
    formats::Imatrix result() const;

private:
    struct Sum {
        std::vector<double> sum_sq;
        uint64_t rows = 0;
    };
    const Model & model_;
    std::string head_;  // the output head's weight name (left out unless include_output)
    bool include_output_;
    std::map<std::string, Sum, std::less<>> sums_;
};

struct ImatrixOptions {
    int64_t n_ctx = 512;         // tokens per chunk
    int64_t max_chunks = 0;      // 0: every whole chunk of the text
    int64_t n_ubatch = 512;      // tokens per graph run
    bool include_output = false; // also the output head (every token's logits)
    // Called after each chunk (index from 0, chunk count). May be empty.
    std::function<void(int64_t, int64_t)> progress;
};

// Runs `model` on `cpu` over the chunks of `tokens`. `bos` < 0: the model has no BOS. Fails when
// the text is shorter than one chunk (the message says how many tokens it has).
Result<formats::Imatrix> collect_imatrix(const Model & model, core::Backend & cpu, std::span<const int32_t> tokens,
                                         int32_t bos, const ImatrixOptions & options);

}  // namespace quanta::model
