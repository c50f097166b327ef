// examples/quanta/model_args.h — the options every model-running subcommand shares (-m, -c, -t,
// --backend, --ngl, --cache-type, --ubatch, --act-bits) and the code that opens a model with them.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "core/backend.h"
#include "core/model/generate.h"
#include "core/model/model.h"
#include "core/model/session.h"
#include "core/text/tokenizer.h"

namespace quanta::cli {

struct ModelArgs {
    std::string model;
    int64_t n_ctx = 4096;
    int64_t n_ubatch = 512;
    int threads = 0;
    std::string backend = "cpu";
    int device = 0;
    std::string ngl;  // --ngl: "" or "all" (every layer when a GPU backend is given), "auto", or a count
    std::string cache_type = "f16";
    int act_bits = 8;            // --act-bits: mul_mat activation precision, 8 or 16 (SessionOptions::activation_bits)
    bool context_shift = false;  // --context-shift: drop the oldest half of the context when full
    int64_t n_keep = 1;          // --keep: tokens a context shift keeps at the start (BOS)
};

void add_model_options(CLI::App * sub, ModelArgs & a);
// --context-shift and --keep, for the commands that generate (run, chat).
void add_context_shift_options(CLI::App * sub, ModelArgs & a);
// -n, --temp, --top-k, --top-p, --min-p, penalties, --seed, --stop.
void add_sampling_options(CLI::App * sub, model::GenerateParams & g);

// A model ready to run: the file, its tokenizer, the backends and one session.
struct LoadedModel {
    std::unique_ptr<model::Model> model;
    std::unique_ptr<text::Tokenizer> tokenizer;
    std::unique_ptr<core::Backend> cpu;
    std::unique_ptr<core::Backend> gpu;
    std::unique_ptr<model::Session> session;
};

Result<LoadedModel> load_model(const ModelArgs & a);

}  // namespace quanta::cli
