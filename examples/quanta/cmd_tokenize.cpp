// `quanta tokenize` and `quanta detokenize`: the model's tokenizer from the command line, for
// users and for checking parity against other tools. Only the tokenizer is read from the file.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/text/tokenizer.h"
#include "core/text/tokenizer_metadata.h"
#include "examples/quanta/commands.h"
#include "formats/qnt.h"

namespace quanta::cli {

namespace {

Result<text::Tokenizer> open_tokenizer(const std::string & path) {
    auto file = formats::QntReader::open(path);
    if (!file.ok()) return file.status();
    auto data = text::tokenizer_from_metadata(file->metadata());
    if (!data.ok()) return data.status().with_context(path);
    return text::Tokenizer::create(std::move(data.value()));
}

Result<std::string> read_text(const std::string & text, const std::string & file) {
    if (file.empty()) return text;
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::error(file + ": cannot open");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

void add_tokenize_commands(CLI::App & app) {
    static std::string model, text, file, ids;
    static bool pieces = false, no_special = false, untrusted = false;
    CLI::App * tok = app.add_subcommand("tokenize", "Print the token ids (or pieces) of a text");
    tok->add_option("-m,--model", model, "Model file (.qnt)")->required()->check(CLI::ExistingFile);
    auto * t = tok->add_option("text", text, "Text to tokenize");
    auto * f = tok->add_option("-f,--file", file, "Read the text from a file")->check(CLI::ExistingFile);
    t->excludes(f);
    tok->add_flag("--pieces", pieces, "Print id and piece per line instead of the id list");
    tok->add_flag("--no-special", no_special, "Do not add BOS/EOS");
    tok->add_flag("--no-parse-special", untrusted, "Treat special-token text as plain text (untrusted input)");
    on_run(tok, [] {
        auto tk = open_tokenizer(model);
        if (!tk.ok()) return report(tk.status());
        auto input = read_text(text, file);
        if (!input.ok()) return report(input.status());
        const std::vector<int32_t> out = tk->encode(*input, {!no_special, !untrusted});
        if (pieces) {
            for (int32_t id : out) std::printf("%d\t%s\n", id, tk->piece(id).c_str());
        } else {
            std::printf("[");
            for (size_t i = 0; i < out.size(); ++i) std::printf("%s%d", i ? ", " : "", out[i]);
            std::printf("]\n");
        }
        std::fprintf(stderr, "%zu tokens\n", out.size());
        return 0;
    });

    CLI::App * detok = app.add_subcommand("detokenize", "Print the text of comma-separated token ids");
    detok->add_option("-m,--model", model, "Model file (.qnt)")->required()->check(CLI::ExistingFile);
    detok->add_option("ids", ids, "Token ids: 2,651,6037")->required();
    on_run(detok, [] {
        auto tk = open_tokenizer(model);
        if (!tk.ok()) return report(tk.status());
        auto list = parse_token_ids(ids);
        if (!list.ok()) return report(list.status().with_context("detokenize"));
        const std::string s = tk->decode(*list);
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::printf("\n");
        return 0;
    });
}

}  // namespace quanta::cli
