#include "examples/quanta/model_args.h"

#include <filesystem>

#include "backends/registry.h"

namespace quanta::cli {

void add_model_options(CLI::App * sub, ModelArgs & a) {
    sub->add_option("-m,--model", a.model, "Model file (.qnt; convert others with `quanta convert`)")->required();
    sub->add_option("-c,--ctx-size", a.n_ctx, "Context length in tokens (KV cache size)")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    sub->add_option("--ubatch", a.n_ubatch, "Prompt tokens per forward pass")->check(CLI::Range(int64_t(1), int64_t(1) << 16));
    sub->add_option("-t,--threads", a.threads, "CPU threads (default: physical cores)")->check(CLI::NonNegativeNumber);
    sub->add_option("--backend", a.backend, "cpu, cuda or vulkan (`quanta version` lists what is here)");
    sub->add_option("--device", a.device, "Device index of the backend")->check(CLI::NonNegativeNumber);
    sub->add_option("--ngl", a.n_gpu_layers, "Layers to run on the GPU backend (the rest on the CPU)")->check(CLI::NonNegativeNumber);
    sub->add_option("--cache-type", a.cache_type, "KV cache type: f16, q8_0 or f32")->check(CLI::IsMember({"f16", "q8_0", "f32"}));
}

void add_sampling_options(CLI::App * sub, model::GenerateParams & g) {
    sub->add_option("-n,--n-predict", g.max_tokens, "Tokens to generate at most (-1: until the context is full)");
    sub->add_option("--temp", g.sampling.temperature, "Temperature (0: greedy)")->check(CLI::NonNegativeNumber);
    sub->add_option("--top-k", g.sampling.top_k, "Top-k (0: off)")->check(CLI::NonNegativeNumber);
    sub->add_option("--top-p", g.sampling.top_p, "Top-p (1: off)")->check(CLI::Range(0.0, 1.0));
    sub->add_option("--min-p", g.sampling.min_p, "Min-p (0: off)")->check(CLI::Range(0.0, 1.0));
    sub->add_option("--repeat-penalty", g.sampling.repeat_penalty, "Repetition penalty (1: off)")->check(CLI::PositiveNumber);
    sub->add_option("--presence-penalty", g.sampling.presence_penalty, "Presence penalty (0: off)");
    sub->add_option("--frequency-penalty", g.sampling.frequency_penalty, "Frequency penalty (0: off)");
    sub->add_option("--seed", g.sampling.seed, "Random seed: the same seed gives the same output");
    sub->add_option("--stop", g.stop, "Stop string (repeatable); generation ends before it");
}

Result<LoadedModel> load_model(const ModelArgs & a) {
    namespace fs = std::filesystem;
    const fs::path p(a.model);
    std::error_code ec;
    if (fs::is_directory(p, ec) || p.extension() == ".gguf" || p.extension() == ".safetensors") {
        return Status::error(a.model + ": run `quanta convert " + a.model + " -o model.qnt` first, then pass the .qnt");
    }
    LoadedModel out;
    auto m = model::Model::load(a.model);
    if (!m.ok()) return m.status();
    out.model = std::move(m.value());
    auto tok = text::Tokenizer::create(out.model->tokenizer());
    if (!tok.ok()) return tok.status().with_context(a.model);
    out.tokenizer = std::make_unique<text::Tokenizer>(std::move(tok.value()));

    out.cpu = backends::create_cpu_backend(a.threads);
    if (a.backend != "cpu") {
        auto gpu = backends::create_backend(a.backend, a.device);
        if (!gpu.ok()) return gpu.status();
        out.gpu = std::move(gpu.value());
    } else if (a.n_gpu_layers > 0) {
        return Status::error("--ngl needs a GPU backend: add --backend cuda or --backend vulkan");
    }
    model::SessionOptions so;
    so.n_ctx = a.n_ctx;
    so.n_ubatch = a.n_ubatch;
    so.kv_type = a.cache_type == "f32" ? Type::F32 : a.cache_type == "q8_0" ? Type::Q8_0 : Type::F16;
    const int n_gpu = out.gpu ? (a.n_gpu_layers > 0 ? a.n_gpu_layers : int(out.model->hparams().n_layer)) : 0;
    auto s = model::Session::create(*out.model, *out.cpu, so, out.gpu.get(), n_gpu);
    if (!s.ok()) return s.status();
    out.session = std::move(s.value());
    return out;
}

}  // namespace quanta::cli
