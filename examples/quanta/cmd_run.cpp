// `quanta run`: generate from a prompt, streaming text to stdout; speeds to stderr at the end.
#include <cstdio>

#include "core/model/generate.h"
#include "examples/quanta/commands.h"
#include "examples/quanta/model_args.h"

namespace quanta::cli {

void add_run_command(CLI::App & app) {
    static ModelArgs a;
    static model::GenerateParams g;
    static std::string prompt;
    static bool no_bos = false;
    CLI::App * sub = app.add_subcommand("run", "Generate text from a prompt (streams to stdout)");
    add_model_options(sub, a);
    add_context_shift_options(sub, a);
    add_sampling_options(sub, g);
    sub->add_option("-p,--prompt", prompt, "The prompt, used as is (no chat template; see `quanta chat`)")->required();
    sub->add_flag("--no-bos", no_bos, "Do not add the model's BOS token");
    on_run(sub, [] {
        auto m = load_model(a);
        if (!m.ok()) return report(m.status());
        text::EncodeOptions eo;
        eo.add_special = !no_bos;
        const std::vector<int32_t> tokens = m->tokenizer->encode(prompt, eo);
        std::fwrite(prompt.data(), 1, prompt.size(), stdout);
        auto stats = model::generate(*m->session, *m->tokenizer, tokens, g, [](std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            return true;
        });
        std::printf("\n");
        std::fflush(stdout);
        if (!stats.ok()) return report(stats.status());
        std::fprintf(stderr, "prompt: %lld tokens, %.1f tok/s | generation: %lld tokens, %.1f tok/s | stop: %s\n",
                     (long long)stats->n_prompt, stats->prompt_tps(), (long long)stats->n_generated,
                     stats->generate_tps(), stats->stop_reason.c_str());
        return 0;
    });
}

}  // namespace quanta::cli
