// `quanta imatrix`: importance statistics for importance-weighted quantization. Runs the model over
// calibration text in chunks (core/model/imatrix.h) and writes, per weight, the mean of x^2 of each
// input channel (formats/imatrix.h). Then: `quanta quantize MODEL --type q4_k_m --imatrix FILE`.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backends/registry.h"
#include "core/model/imatrix.h"
#include "core/text/tokenizer.h"
#include "examples/quanta/commands.h"

namespace quanta::cli {

void add_imatrix_command(CLI::App & app) {
    static std::string model_path, text_file, output;
    static int64_t n_ctx = 512, chunks = 0, n_ubatch = 512;
    static int threads = 0;
    static bool process_output = false, force = false, quiet = false;
    CLI::App * sub = app.add_subcommand("imatrix", "Importance statistics (per-channel mean of squared activations) "
                                                   "for `quantize --imatrix`");
    sub->add_option("-m,--model", model_path, "Model file (.qnt), ideally unquantized (f16/bf16/f32)")
        ->required()->check(CLI::ExistingFile);
    sub->add_option("-f,--file", text_file, "Calibration text")->required()->check(CLI::ExistingFile);
    sub->add_option("-o,--output", output, "Statistics file to write")->required();
    sub->add_option("-c,--ctx-size", n_ctx, "Tokens per chunk (each chunk starts from an empty cache)")
        ->check(CLI::Range(int64_t(2), int64_t(1) << 20));
    sub->add_option("--chunks", chunks, "Evaluate at most this many chunks (0: all)")->check(CLI::NonNegativeNumber);
    sub->add_option("--ubatch", n_ubatch, "Tokens per forward pass")->check(CLI::Range(int64_t(1), int64_t(1) << 16));
    sub->add_option("-t,--threads", threads, "CPU threads (default: physical cores)")->check(CLI::NonNegativeNumber);
    sub->add_flag("--process-output", process_output,
                  "Also collect the output head (computes every token's logits; off by default, as in llama-imatrix)");
    sub->add_flag("--force", force, "Overwrite the output if it exists");
    sub->add_flag("-q,--quiet", quiet, "No progress output");
    on_run(sub, [] {
        std::error_code ec;
        if (std::filesystem::exists(output, ec) && !force) {
            return report(Status::error(output + ": already exists; pass --force to overwrite it"));
        }
        std::ifstream in(text_file, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string text = ss.str();
        const std::filesystem::path mp(model_path);
        if (mp.extension() == ".gguf" || mp.extension() == ".safetensors") {
            return report(Status::error(model_path + ": run `quanta convert " + model_path +
                                        " -o model.qnt` first, then pass the .qnt"));
        }
        auto m = model::Model::load(model_path);
        if (!m.ok()) return report(m.status());
        auto tok = text::Tokenizer::create((*m)->tokenizer());
        if (!tok.ok()) return report(tok.status().with_context(model_path));
        const std::vector<int32_t> tokens = tok->encode(text, {/*add_special=*/true, /*parse_special=*/false});
        auto cpu = backends::create_cpu_backend(threads);

        model::ImatrixOptions o;
        o.n_ctx = n_ctx;
        o.max_chunks = chunks;
        o.n_ubatch = n_ubatch;
        o.include_output = process_output;
        const bool tty = isatty(STDERR_FILENO);
        const auto start = std::chrono::steady_clock::now();
        if (!quiet) {
            o.progress = [&](int64_t c, int64_t n) {
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                const double tps = s > 0 ? double((c + 1) * n_ctx) / s : 0.0;
                const double eta = s / double(c + 1) * double(n - c - 1);
                std::fprintf(stderr, tty ? "\rimatrix: chunk %lld/%lld, %.0f tokens/s, ETA %.0fs   "
                                         : "imatrix: chunk %lld/%lld, %.0f tokens/s, ETA %.0fs\n",
                             (long long)c + 1, (long long)n, tps, eta);
                if (tty && c + 1 == n) std::fprintf(stderr, "\n");
            };
        }
        auto r = model::collect_imatrix(**m, *cpu, tokens, tok->data().bos_id, o);
        if (!r.ok()) return report(r.status());
        r->text_xxh3 = formats::imatrix_text_hash(text);
        r->model = std::filesystem::path(model_path).filename().string();
        if (Status s = formats::write_imatrix(output, *r); !s.ok()) return report(s);
        std::printf("%zu weights, %llu chunks of %llu tokens (%llu tokens) -> %s\n", r->entries.size(),
                    (unsigned long long)r->n_chunks, (unsigned long long)r->chunk_size,
                    (unsigned long long)r->n_tokens, output.c_str());
        return 0;
    });
}

}  // namespace quanta::cli
