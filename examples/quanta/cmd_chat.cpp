// `quanta chat`: a conversation through the model's own chat template. The KV cache is reused
// across turns: each turn re-renders the conversation, keeps the cached prefix it shares with the
// previous render, and evaluates only the rest. /clear starts over; Ctrl-D (end of input) exits.
// With -p, one turn is answered and the command exits (scripts, `make demo`).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/text/chat_template.h"
#include "examples/quanta/commands.h"
#include "examples/quanta/model_args.h"

namespace quanta::cli {

namespace {

struct Chat {
    Chat(LoadedModel & model, const model::GenerateParams & p) : m(model), params(p) {}
    LoadedModel & m;
    const model::GenerateParams & params;
    nlohmann::json messages = nlohmann::json::array();
    std::vector<int32_t> cached;  // the tokens whose keys and values are in the session's cache

    Status turn(const std::string & user, bool print_stats) {
        messages.push_back({{"role", "user"}, {"content", user}});
        auto history = text::jinja::Value::from_json(messages.dump());
        if (!history.ok()) return history.status();
        const text::Tokenizer & tok = *m.tokenizer;
        text::ChatOptions co;
        co.add_generation_prompt = true;
        if (tok.data().bos_id >= 0) co.bos_token = tok.piece(tok.data().bos_id);
        if (tok.data().eos_id >= 0) co.eos_token = tok.piece(tok.data().eos_id);
        auto rendered = text::apply_chat_template(tok.data().chat_template, *history, co);
        if (!rendered.ok()) return rendered.status().with_context("chat template");
        // The template writes BOS itself; its control tokens are parsed as special tokens.
        const std::vector<int32_t> ids = tok.encode(*rendered, {/*add_special=*/false, /*parse_special=*/true});

        size_t common = 0;
        while (common < cached.size() && common < ids.size() && common + 1 < ids.size() && cached[common] == ids[common]) ++common;
        QUANTA_TRY(m.session->truncate(int64_t(common)));
        std::string answer;
        auto stats = model::generate(*m.session, tok, std::span(ids).subspan(common), params, [&](std::string_view text) {
            answer += text;
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            return true;
        });
        std::printf("\n");
        std::fflush(stdout);
        if (!stats.ok()) return stats.status();
        cached = m.session->tokens();  // after a context shift, not a prefix of ids
        messages.push_back({{"role", "assistant"}, {"content", answer}});
        if (print_stats) {
            std::fprintf(stderr, "[prompt %lld tokens (%lld new) %.1f tok/s | answer %lld tokens %.1f tok/s | %s]\n",
                         (long long)ids.size(), (long long)stats->n_prompt, stats->prompt_tps(),
                         (long long)stats->n_generated, stats->generate_tps(), stats->stop_reason.c_str());
        }
        return ok_status();
    }

    void clear(const std::string & system) {
        messages = nlohmann::json::array();
        if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
        cached.clear();
        m.session->clear();
    }
};

}  // namespace

void add_chat_command(CLI::App & app) {
    static ModelArgs a;
    static model::GenerateParams g;
    static std::string system, prompt;
    static bool stats_flag = false;
    CLI::App * sub = app.add_subcommand("chat", "Converse with the model through its own chat template");
    add_model_options(sub, a);
    add_context_shift_options(sub, a);
    add_sampling_options(sub, g);
    sub->add_option("--system", system, "System message");
    sub->add_option("-p,--prompt", prompt, "Answer this one message and exit");
    sub->add_flag("--stats", stats_flag, "Print token counts and speeds after each answer");
    on_run(sub, [] {
        auto m = load_model(a);
        if (!m.ok()) return report(m.status());
        if (m->tokenizer->data().chat_template.empty()) {
            return report(Status::error(a.model + ": the model has no chat template; use `quanta run -p` instead"));
        }
        Chat chat(*m, g);
        chat.clear(system);
        if (!prompt.empty()) return report(chat.turn(prompt, true));

        const bool tty = isatty(STDIN_FILENO);
        if (tty) std::fprintf(stderr, "quanta chat: /clear starts over, Ctrl-D exits\n");
        std::string line;
        for (;;) {
            if (tty) std::fprintf(stderr, "> ");
            if (!std::getline(std::cin, line)) break;
            if (line.empty()) continue;
            if (line == "/clear") {
                chat.clear(system);
                continue;
            }
            Status s = chat.turn(line, stats_flag);
            if (!s.ok()) return report(s);
        }
        return 0;
    });
}

}  // namespace quanta::cli
