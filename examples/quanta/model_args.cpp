#include "examples/quanta/model_args.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "backends/registry.h"

namespace quanta::cli {

namespace {

// Device bytes a session puts on the GPU: per layer its weights and KV cache, outside the layers
// every other weight (output head, embeddings), and a working reserve for activations and scratch
// (1 GiB plus a ubatch of the widest activations, generous: the planner's exact peak is known only
// once the graph is built).
struct GpuNeed {
    std::vector<int64_t> layer;
    int64_t fixed = 0;
    int64_t reserve = 0;
};

GpuNeed gpu_need(const model::Model & m, const model::SessionOptions & so) {
    const arch::HParams & hp = m.hparams();
    GpuNeed need;
    need.layer.assign(size_t(hp.n_layer), 0);
    // K and V rows per layer: n_ctx, or the ring's slots for sliding-window layers.
    const int64_t row = hp.n_head_kv * int64_t(core::type_row_bytes(so.kv_type, hp.head_dim));
    const int64_t ring = model::Session::ring_slots(hp, so);
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        need.layer[size_t(il)] = 2 * row * (ring > 0 && hp.is_sliding(il) ? ring : so.n_ctx);
    }
    for (const arch::TensorSpec & spec : m.specs()) {
        const model::Weight * w = m.find(spec.name);
        if (!w) continue;
        if (spec.layer >= 0 && spec.layer < hp.n_layer) need.layer[size_t(spec.layer)] += int64_t(w->bytes);
        else need.fixed += int64_t(w->bytes);
    }
    need.reserve = (int64_t(1) << 30) + so.n_ubatch * (3 * hp.n_ff + hp.n_vocab) * 4;
    return need;
}

std::string mib(int64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

// The layer count for --ngl against the GPU's free memory: "auto" takes what fits; a count (or
// all) that does not fit is an error that says how many would.
Result<int> gpu_layers(const ModelArgs & a, const model::Model & m, const model::SessionOptions & so, core::Backend & gpu) {
    const int n_layer = int(m.hparams().n_layer);
    const bool automatic = a.ngl == "auto";
    const int requested = a.ngl.empty() || a.ngl == "all" || automatic ? n_layer : std::min(n_layer, std::stoi(a.ngl));
    auto mem = backends::device_memory(gpu);
    if (!mem.ok()) {
        if (automatic) return Status::error("--ngl auto: " + mem.status().message() + "; pass --ngl N");
        return requested;  // no query: the allocation itself reports running out
    }
    const GpuNeed need = gpu_need(m, so);
    const int fit = backends::layers_that_fit(need.layer, need.fixed, need.reserve, int64_t(mem->free_bytes));
    int64_t want = need.fixed + need.reserve;
    for (int il = 0; il < requested; ++il) want += need.layer[size_t(il)];
    if (automatic) {
        std::fprintf(stderr, "--ngl auto: %d of %d layers on %s (%s free)\n", fit, n_layer, std::string(gpu.name()).c_str(),
                     mib(int64_t(mem->free_bytes)).c_str());
        return fit;
    }
    if (requested > fit) {
        return Status::error(std::string(gpu.name()) + ": " + std::to_string(requested) + " layers need about " + mib(want) +
                             " but " + mib(int64_t(mem->free_bytes)) + " are free; --ngl " + std::to_string(fit) +
                             " fits (or --ngl auto)");
    }
    return requested;
}

}  // namespace

void add_model_options(CLI::App * sub, ModelArgs & a) {
    sub->add_option("-m,--model", a.model, "Model file (.qnt; convert others with `quanta convert`)")->required();
    sub->add_option("-c,--ctx-size", a.n_ctx, "Context length in tokens (KV cache size)")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    sub->add_option("--ubatch", a.n_ubatch, "Prompt tokens per forward pass")->check(CLI::Range(int64_t(1), int64_t(1) << 16));
    sub->add_option("-t,--threads", a.threads, "CPU threads (default: physical cores)")->check(CLI::NonNegativeNumber);
    sub->add_option("--backend", a.backend, "cpu, cuda or vulkan (`quanta version` lists what is here)");
    sub->add_option("--device", a.device, "Device index of the backend")->check(CLI::NonNegativeNumber);
    sub->add_option("--ngl", a.ngl,
                    "Layers on the GPU backend, the rest on the CPU: N, all (the default with --backend) or auto "
                    "(as many as fit in free device memory)")
        ->check(CLI::Validator(
            [](std::string & v) -> std::string {
                if (v == "all" || v == "auto") return {};
                if (!v.empty() && v.size() < 9 && v.find_first_not_of("0123456789") == std::string::npos) return {};
                return "--ngl takes a layer count, all or auto (got '" + v + "')";
            },
            "N|all|auto"));
    sub->add_option("--cache-type", a.cache_type, "KV cache type: f16, q8_0 or f32")->check(CLI::IsMember({"f16", "q8_0", "f32"}));
    sub->add_option("--act-bits", a.act_bits,
                    "CPU mul_mat activation precision: 8 (default, fastest; rounds activations to 8-bit blocks as "
                    "llama.cpp does) or 16 (a second 8-bit row for the residual: logits match transformers, "
                    "slower prompt processing)")
        ->check(CLI::Validator(
            [](std::string & v) -> std::string {
                if (v == "8" || v == "16") return {};
                return "--act-bits takes 8 or 16 (got '" + v + "')";
            },
            "8|16"));
}

void add_context_shift_options(CLI::App * sub, ModelArgs & a) {
    sub->add_flag("--context-shift", a.context_shift,
                  "When the context is full, keep the first --keep tokens, drop the oldest half of the rest "
                  "and continue (default: stop with \"context full\")");
    sub->add_option("--keep", a.n_keep, "Tokens --context-shift keeps at the start (default 1: the BOS)")
        ->check(CLI::NonNegativeNumber);
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
    } else if (!a.ngl.empty() && a.ngl != "0") {
        return Status::error("--ngl needs a GPU backend: add --backend cuda or --backend vulkan");
    }
    model::SessionOptions so;
    so.n_ctx = a.n_ctx;
    so.n_ubatch = a.n_ubatch;
    so.kv_type = a.cache_type == "f32" ? Type::F32 : a.cache_type == "q8_0" ? Type::Q8_0 : Type::F16;
    so.context_shift = a.context_shift;
    so.activation_bits = a.act_bits;
    so.n_keep = a.context_shift ? std::min(a.n_keep, a.n_ctx - 1) : 0;
    int n_gpu = 0;
    if (out.gpu) {
        auto layers = gpu_layers(a, *out.model, so, *out.gpu);
        if (!layers.ok()) return layers.status();
        n_gpu = *layers;
    }
    auto s = model::Session::create(*out.model, *out.cpu, so, out.gpu.get(), n_gpu);
    if (!s.ok()) return s.status();
    out.session = std::move(s.value());
    return out;
}

}  // namespace quanta::cli
