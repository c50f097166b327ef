// core/model/session.h — one conversation with a model: the KV cache, the position, and the
// planned graphs that evaluate tokens. A prompt is evaluated in chunks of up to n_ubatch tokens,
// then one token at a time; each distinct chunk size is planned once and reused.
//
// Global layers' KV cache holds position p at row p (n_ctx rows). Sliding-window layers, when their
// window is shorter than the context, keep a bounded ring instead (docs/kv-cache.md): n_keep pinned
// slots for positions [0, n_keep), then window + n_ubatch - 1 slots where position p >= n_keep
// lives at slot n_keep + (p - n_keep) % ring; the session tracks each slot's position (kpos).
// When the context is full, eval() fails with an error that says so (never silent truncation), or,
// with context_shift set, keeps the first n_keep tokens, drops the oldest half of the rest and
// re-rotates the kept keys to their new positions (context_shift()). Not thread-safe.
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
    int64_t n_keep = 0;         // tokens a context shift keeps at the start (BOS, system prompt)
    bool context_shift = false; // eval() shifts the context when full instead of failing
    int activation_bits = 8;    // mul_mat activation precision (core::MulMatParams): 8 rounds each CPU
                                //   activation row to 8-bit blocks (llama.cpp's choice, fastest); 16 adds a
                                //   second 8-bit row for the residual (~15 bits, transformers-level logits)
    core::NodeObserver * observer = nullptr;  // optional analysis hook on every planned graph (imatrix)
};

class Session {
public:
    // Slots of each sliding-window layer's ring under these options (n_keep pinned slots, then the
    // window before a chunk's first query plus the chunk), or 0 when every layer keeps n_ctx slots.
    static int64_t ring_slots(const arch::HParams & hp, const SessionOptions & options);

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
    bool shifts_context() const { return options_.context_shift; }
    // The token ids whose keys and values are in the cache, in position order (n_past of them).
    const std::vector<int32_t> & tokens() const { return tokens_; }
    // Forgets the conversation (the cache rows are overwritten by later evals).
    void clear();
    // Drops everything after `n` positions (e.g. to reuse a shared prompt prefix). A sliding-window
    // ring that no longer holds the window before `n` is rebuilt by re-evaluating tokens()[0, n).
    Status truncate(int64_t n);
    // Keeps the first n_keep positions, drops the oldest half of the rest (n_discard = (n_past -
    // n_keep) / 2) and moves the kept keys and values to their new positions, rotating K by
    // -n_discard (one graph on the session's backends). Needs n_past - n_keep >= 2.
    Status context_shift();
    int64_t n_shifts() const { return n_shifts_; }
    // Slots of layer il's K (and V) cache: n_ctx, or the ring size for sliding-window layers.
    int64_t cache_slots(int64_t il) const;
    // Bytes of layer il's K and V caches together.
    size_t cache_bytes(int64_t il) const;
    // Layer il's cached K (value false) or V rows of positions [p0, p1), as f32 [p1 - p0][head_dim *
    // n_head_kv] (inspection, tests); an error when a position is not in the cache.
    Result<std::vector<float>> cache_rows(int64_t il, bool value, int64_t p0, int64_t p1) const;
    // The executor stats of the last graph eval() ran (node placement, fallbacks, copies); null
    // before the first eval.
    const core::ExecutorStats * last_stats() const;

    const Model & model() const { return model_; }

private:
    struct Planned;
    Session(const Model & model, core::Backend & cpu, const SessionOptions & options, core::Backend * gpu, int n_gpu);
    Status init();
    Result<Planned *> planned(int64_t n_tokens, bool all_logits);
    Status alloc_kv(const DecoderGraph & graph, const core::Executor & ex);
    int64_t ring_slot(int64_t pos) const;
    // Placement shared by the decode plans and the context-shift graph (no observer).
    core::ExecutorOptions executor_options() const;  // sliding-window ring slot of a position
    DecoderShape shape(int64_t n_tokens, bool all_logits) const;
    Result<std::vector<float>> eval_chunks(std::span<const int32_t> tokens, bool all_logits);

    const Model & model_;
    core::Backend & cpu_;
    core::Backend * gpu_;
    int n_gpu_layers_;
    SessionOptions options_;
    int64_t n_past_ = 0;
    int64_t n_shifts_ = 0;
    int64_t n_swa_ = 0;                            // ring slots of sliding-window layers (0: no ring)
    std::vector<int32_t> swa_kpos_;                // position held by each ring slot, -1 empty
    std::vector<int32_t> tokens_;                  // ids in the cache, by position
    core::BufferPtr file_buffer_;                  // the mapped model file, wrapped zero-copy
    std::map<std::string, core::BufferPtr> owned_weights_;  // weights not in the file (offset norms), wrapped once
    std::vector<core::BufferPtr> kv_;              // per layer: k then v
    std::map<std::string, core::BufferPtr> gpu_weights_;  // weights uploaded to the GPU backend, shared by plans
    Planned * last_ = nullptr;                     // the plan eval() ran last
    // Planned graphs by (n_tokens, all_logits). The decode (1) and full-chunk (n_ubatch) plans stay;
    // plans for other chunk lengths (a prompt's remainder) are dropped beyond kMaxPlans.
    static constexpr size_t kMaxPlans = 4;
    std::map<std::pair<int64_t, bool>, std::unique_ptr<Planned>> plans_;
};

}  // namespace quanta::model
