// core/model/generate.h — the generation loop: evaluate a prompt, then sample and stream tokens
// until an end-of-generation token, a stop string, or the token limit.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/sampler.h"
#include "core/model/session.h"
#include "core/text/tokenizer.h"

namespace quanta::model {

struct GenerateParams {
    int32_t max_tokens = 256;           // generated tokens at most (< 0: until the context is full)
    SamplerParams sampling;
    std::vector<std::string> stop;      // stop strings: generation ends before them, unprinted
};

struct GenerateStats {
    int64_t n_prompt = 0, n_generated = 0;
    double prompt_seconds = 0, generate_seconds = 0;
    std::string stop_reason;            // "eos", "stop string", "max tokens", "context full", "callback"
    std::vector<int32_t> tokens;        // the generated ids (including an end token, if sampled)
    double prompt_tps() const { return prompt_seconds > 0 ? double(n_prompt) / prompt_seconds : 0; }
    double generate_tps() const { return generate_seconds > 0 ? double(n_generated) / generate_seconds : 0; }
};

// Ids that end a turn: the tokenizer's EOS and the chat end-of-turn tokens it has
// (<end_of_turn>, <|eot_id|>, <|im_end|>, <|endoftext|>).
std::vector<int32_t> end_tokens(const text::Tokenizer & tokenizer);

// Evaluates `prompt` at the session's current position, then generates. `on_text` receives each
// complete piece of text as it is decided (stop strings held back until ruled out); returning false
// stops. Context full is a normal end (stop_reason "context full"), never a silent truncation.
Result<GenerateStats> generate(Session & session, const text::Tokenizer & tokenizer, std::span<const int32_t> prompt,
                               const GenerateParams & params, const std::function<bool(std::string_view)> & on_text);

}  // namespace quanta::model
