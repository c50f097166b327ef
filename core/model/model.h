// core/model/model.h — a .qnt model opened for running: hyperparameters, tokenizer, and every
// weight as a zero-copy view into the mapped file, checked against the architecture's tensor table.
//
// Weights stay in the page cache (shared between processes); only the RMSNorm scales of models
// whose norm_offset is not 0 (Gemma's HF weights: x * (1 + w)) are copied once, with the offset
// added, so the graph multiplies by plain data. Immutable after load: shareable between sessions.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/arch/hparams.h"
#include "core/arch/tensors.h"
#include "core/text/tokenizer_data.h"
#include "formats/qnt.h"
#include "quant/status.h"

namespace quanta::model {

struct Weight {
    const arch::TensorSpec * spec = nullptr;
    Type type = Type::F32;
    const void * data = nullptr;   // into the mapping, or into Model::owned_ for offset norms
    size_t bytes = 0;
};

class Model {
public:
    // Opens `path` (a .qnt), validates hyperparameters, tokenizer and every tensor's presence,
    // shape and type. Errors name the file and the tensor.
    static Result<std::unique_ptr<Model>> load(const std::string & path);

    const arch::HParams & hparams() const { return hp_; }
    const text::TokenizerData & tokenizer() const { return tokenizer_; }
    const formats::QntReader & file() const { return *file_; }

    // The weight named as in the tensor table ("blk.3.attn_q.weight"); nullptr when absent
    // (optional tensors, and variant tensors such as biases in families without them).
    const Weight * find(const std::string & name) const;
    bool has(const std::string & name) const { return find(name) != nullptr; }
    // The output head: output.weight, or the token embeddings when they are tied.
    const Weight & output_head() const;
    const std::vector<arch::TensorSpec> & specs() const { return specs_; }

private:
    Model() = default;
    Status init(const std::string & path);

    std::optional<formats::QntReader> file_;  // set by init(); the reader has no empty state
    arch::HParams hp_;
    text::TokenizerData tokenizer_;
    std::vector<arch::TensorSpec> specs_;
    std::map<std::string, Weight, std::less<>> weights_;
    std::vector<std::vector<float>> owned_;  // norm scales with norm_offset added
};

}  // namespace quanta::model
