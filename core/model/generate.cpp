#include "core/model/generate.h"

#include <algorithm>
#include <chrono>

#include "core/text/detokenizer.h"

namespace quanta::model {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Length of the longest suffix of `text` that is a proper prefix of some stop string: that much
// must be held back, since the next tokens may complete a stop string.
size_t held_back(std::string_view text, const std::vector<std::string> & stops) {
    size_t hold = 0;
    for (const std::string & s : stops) {
        for (size_t k = std::min(s.size() - 1, text.size()); k > hold; --k) {
            if (text.substr(text.size() - k) == std::string_view(s).substr(0, k)) { hold = k; break; }
        }
    }
    return hold;
}

}  // namespace

std::vector<int32_t> end_tokens(const text::Tokenizer & tokenizer) {
    std::vector<int32_t> out;
    if (tokenizer.data().eos_id >= 0) out.push_back(tokenizer.data().eos_id);
    for (const char * piece : {"<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<|endoftext|>", "<|end_of_text|>"}) {
        const int32_t id = tokenizer.token_id(piece);
        if (id >= 0 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
    return out;
}

Result<GenerateStats> generate(Session & session, const text::Tokenizer & tokenizer, std::span<const int32_t> prompt,
                               const GenerateParams & params, const std::function<bool(std::string_view)> & on_text) {
    GenerateStats stats;
    stats.n_prompt = int64_t(prompt.size());
    const std::vector<int32_t> ends = end_tokens(tokenizer);
    std::vector<int32_t> history(prompt.begin(), prompt.end());

    auto t0 = Clock::now();
    auto logits = session.eval(prompt);
    if (!logits.ok()) return logits.status();
    stats.prompt_seconds = seconds_since(t0);

    Sampler sampler(params.sampling);
    text::Detokenizer detok(tokenizer, /*skip_special=*/true);
    std::string pending;  // decided text not yet handed out (may start a stop string)
    auto t1 = Clock::now();
    for (;;) {
        if (params.max_tokens >= 0 && stats.n_generated >= params.max_tokens) { stats.stop_reason = "max tokens"; break; }
        const int32_t next = sampler.sample(*logits, history);
        stats.tokens.push_back(next);
        ++stats.n_generated;
        history.push_back(next);
        if (std::find(ends.begin(), ends.end(), next) != ends.end()) { stats.stop_reason = "eos"; break; }

        pending += detok.push(next);
        bool stopped = false;
        for (const std::string & s : params.stop) {
            if (size_t at = pending.find(s); !s.empty() && at != std::string::npos) {
                pending.resize(at);
                stopped = true;
            }
        }
        const size_t hold = stopped ? 0 : held_back(pending, params.stop);
        if (pending.size() > hold) {
            if (!on_text(std::string_view(pending).substr(0, pending.size() - hold))) {
                stats.stop_reason = "callback";
                pending.clear();
                break;
            }
            pending.erase(0, pending.size() - hold);
        }
        if (stopped) { stats.stop_reason = "stop string"; break; }
        if (!session.shifts_context() && session.n_past() >= session.n_ctx()) {
            stats.stop_reason = "context full";
            break;
        }
        logits = session.eval(std::span(&next, 1));
        if (!logits.ok()) return logits.status();
    }
    if (stats.stop_reason != "stop string" && stats.stop_reason != "callback") {
        pending += detok.finish();
        if (!pending.empty()) on_text(pending);
    }
    stats.generate_seconds = seconds_since(t1);
    return stats;
}

}  // namespace quanta::model
