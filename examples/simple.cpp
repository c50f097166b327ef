// examples/simple.cpp — the library API in one small program:
//   quanta-simple MODEL.qnt "The capital of France is"
// Loads the model, tokenizes the prompt, and streams a greedy continuation to stdout.
#include <cstdio>
#include <string_view>

#include "backends/registry.h"
#include "core/quanta.h"

int main(int argc, char ** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL.qnt PROMPT\n", argv[0]);
        return 2;
    }
    auto model = quanta::model::Model::load(argv[1]);
    if (!model.ok()) {
        std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
        return 1;
    }
    auto tokenizer = quanta::text::Tokenizer::create((*model)->tokenizer());
    if (!tokenizer.ok()) {
        std::fprintf(stderr, "error: %s\n", tokenizer.status().message().c_str());
        return 1;
    }

    auto cpu = quanta::backends::create_cpu_backend();  // threads: physical cores
    quanta::model::SessionOptions options;
    options.n_ctx = 512;
    auto session = quanta::model::Session::create(**model, *cpu, options);
    if (!session.ok()) {
        std::fprintf(stderr, "error: %s\n", session.status().message().c_str());
        return 1;
    }

    quanta::model::GenerateParams params;
    params.max_tokens = 64;
    params.sampling.temperature = 0.0f;  // greedy
    std::vector<int32_t> prompt = tokenizer->encode(argv[2]);
    auto stats = quanta::model::generate(**session, *tokenizer, prompt, params, [](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;  // false would stop generation
    });
    if (!stats.ok()) {
        std::fprintf(stderr, "\nerror: %s\n", stats.status().message().c_str());
        return 1;
    }
    std::fprintf(stderr, "\n[%lld prompt tokens at %.1f tok/s, %lld generated at %.1f tok/s]\n",
                 (long long)stats->n_prompt, stats->prompt_tps(), (long long)stats->n_generated, stats->generate_tps());
    return 0;
}
