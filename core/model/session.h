// core/model/session.h — one conversation with a model: the KV cache, the position, and the
// planned graphs that evaluate tokens. A prompt is evaluated in chunks of up to n_ubatch tokens,
// then one token at a time; each distinct chunk size is planned once and reused.
//
// The KV cache holds position p at row p (n_ctx rows per layer); eval() refuses to go past n_ctx
// with an error that says so (never silent truncation). Not thread-safe: one thread per session.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/executor.h"
#include "core/model/decoder.h"
#include "core/model/model.h"

namespace quanta::model {

struct SessionOptions {
    int64_t n_ctx = 2048;       // positions the KV cache holds
    int64_t n_ubatch = 512;     // tokens per graph run while reading a prompt
    Type kv_type = Type::F16;   // F32, F16 or Q8_0
    core::NodeObserver * observer = nullptr;  // optional analysis hook on every planned graph (imatrix)
};

class Session {
public:
    // `cpu` runs the graphs (and is the fallback when `gpu` is given); both must outlive the session.
    static Result<std::unique_ptr<Session>> create(const Model & model, core::Backend & cpu,
                                                   const SessionOptions & options, core::Backend * gpu = nullptr,
                                                   int n_gpu_layers = 0);
    ~Session();

    // Evaluates `tokens` at positions n_past().. and appends them to the cache. Returns the logits
    // of the last token ([n_vocab]) or, with all_logits, of every token ([n_tokens][n_vocab]).
    Result<std::vector<float>> eval(std::span<const int32_t> tokens, bool all_logits = false);

    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return options_.n_ctx; }
    // Forgets the conversation (the cache rows are overwritten by later evals).
    void clear() { n_past_ = 0; }
    // Drops everything after `n` positions (e.g. to reuse a shared prompt prefix).
    Status truncate(int64_t n);

    const Model & model() const { return model_; }

private:
    struct Planned;
    Session(const Model & model, core::Backend & cpu, const SessionOptions & options, core::Backend * gpu, int n_gpu);
    Status init();
    Result<Planned *> planned(int64_t n_tokens, bool all_logits);

    const Model & model_;
    core::Backend & cpu_;
    core::Backend * gpu_;
    int n_gpu_layers_;
    SessionOptions options_;
    int64_t n_past_ = 0;
    core::BufferPtr file_buffer_;                  // the mapped model file, wrapped zero-copy
    std::map<std::string, core::BufferPtr> owned_weights_;  // weights not in the file (offset norms), wrapped once
    std::vector<core::BufferPtr> kv_;              // per layer: k then v
    // Planned graphs by (n_tokens, all_logits). The decode (1) and full-chunk (n_ubatch) plans stay;
    // plans for other chunk lengths (a prompt's remainder) are dropped beyond kMaxPlans.
    static constexpr size_t kMaxPlans = 4;
    std::map<std::pair<int64_t, bool>, std::unique_ptr<Planned>> plans_;
};

}  // namespace quanta::model
