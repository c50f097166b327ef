// `quanta logits`: the logits of every position as a float32 .npy (n_tokens x n_vocab), plus the
// token ids beside it (OUT.tokens.npy, int32) — what the oracle tests and cross-runtime checks use.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "examples/quanta/commands.h"
#include "examples/quanta/model_args.h"

namespace quanta::cli {

namespace {

// numpy format 1.0: magic, version, little-endian u16 header length, a dict padded with spaces
// to a multiple of 64 bytes and ending in '\n', then the raw data (C order).
Status write_npy(const std::string & path, const char * descr, const void * data, size_t elem_size,
                 const std::vector<int64_t> & shape) {
    std::ostringstream dict;
    dict << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
    size_t count = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        dict << shape[i] << (shape.size() == 1 || i + 1 < shape.size() ? "," : "") << (i + 1 < shape.size() ? " " : "");
        count *= size_t(shape[i]);
    }
    dict << "), }";
    std::string header = dict.str();
    header.append(64 - (10 + header.size() + 1) % 64, ' ');
    header += '\n';
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        const uint16_t len = uint16_t(header.size());
        out.write("\x93NUMPY\x01\x00", 8);
        out.write(reinterpret_cast<const char *>(&len), 2);
        out << header;
        out.write(static_cast<const char *>(data), std::streamsize(count * elem_size));
        if (!out.flush()) {
            std::filesystem::remove(tmp);
            return Status::error(path + ": cannot write (disk full or no permission?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Status::error(path + ": cannot rename into place: " + ec.message());
    return ok_status();
}

}  // namespace

void add_logits_command(CLI::App & app) {
    static ModelArgs a;
    static std::string prompt, tokens, output;
    CLI::App * sub = app.add_subcommand("logits", "Write the logits of every prompt position to a .npy file");
    add_model_options(sub, a);
    auto * p = sub->add_option("-p,--prompt", prompt, "Prompt text (tokenized with the model's tokenizer, BOS added)");
    auto * t = sub->add_option("--tokens", tokens, "Token ids instead of text: 2,651,6037");
    p->excludes(t);
    sub->add_option("-o,--output", output, "Output .npy (float32, n_tokens x n_vocab); ids go to OUTPUT.tokens.npy")->required();
    on_run(sub, [] {
        if (prompt.empty() && tokens.empty()) return report(Status::error("logits: give --prompt TEXT or --tokens IDS"));
        ModelArgs args = a;
        auto m = load_model(args);
        if (!m.ok()) return report(m.status());
        std::vector<int32_t> ids;
        if (tokens.empty()) {
            ids = m->tokenizer->encode(prompt);
        } else {
            auto parsed = parse_token_ids(tokens);
            if (!parsed.ok()) return report(parsed.status().with_context("logits"));
            ids = std::move(parsed.value());
        }
        if (ids.empty()) return report(Status::error("logits: the prompt has no tokens"));
        auto logits = m->session->eval(ids, /*all_logits=*/true);
        if (!logits.ok()) return report(logits.status());
        const int64_t n_vocab = m->model->hparams().n_vocab;
        Status s = write_npy(output, "<f4", logits->data(), 4, {int64_t(ids.size()), n_vocab});
        if (s.ok()) s = write_npy(output + ".tokens.npy", "<i4", ids.data(), 4, {int64_t(ids.size())});
        if (!s.ok()) return report(s);
        std::fprintf(stderr, "logits: %zu tokens x %lld -> %s\n", ids.size(), (long long)n_vocab, output.c_str());
        return 0;
    });
}

}  // namespace quanta::cli
