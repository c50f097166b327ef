// `quanta perplexity`: chunked perplexity as llama-perplexity computes it (core/model/perplexity.h),
// and KL divergence against a base model: --kl-divergence-base OUT saves the base's log-probs of
// every scored token, --kl-divergence BASE compares against them (mean/median/p99 KL, top-1
// agreement, PPL ratio) — the yardstick for quant formats.
//
// Base file layout (little-endian): "QNTKLD1\0", u32 n_vocab, u32 n_ctx, u32 n_chunks, u32 rows per
// chunk, u64 n_tokens, i32 tokens[n_tokens], then per chunk and scored row n_vocab f16 log-probs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/model/perplexity.h"
#include "examples/quanta/commands.h"
#include "examples/quanta/model_args.h"
#include "quant/fp.h"

namespace quanta::cli {

namespace {

constexpr char kMagic[8] = {'Q', 'N', 'T', 'K', 'L', 'D', '1', '\0'};

struct KlHeader {
    char magic[8];
    uint32_t n_vocab, n_ctx, n_chunks, rows;
    uint64_t n_tokens;
};

struct KlStats {
    std::vector<double> kl;
    int64_t top1 = 0;
    double base_nll = 0;
};

double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))];
}

}  // namespace

void add_perplexity_command(CLI::App & app) {
    static ModelArgs a;
    static std::string text_file, kl_base_out, kl_base_in;
    static int64_t chunks = 0;
    CLI::App * sub = app.add_subcommand("perplexity", "Perplexity of a text, computed as llama-perplexity does; KL divergence against a base");
    add_model_options(sub, a);
    a.n_ctx = 512;
    sub->add_option("-f,--file", text_file, "Text file to score")->required()->check(CLI::ExistingFile);
    sub->add_option("--chunks", chunks, "Score at most this many chunks (0: all)")->check(CLI::NonNegativeNumber);
    auto * save = sub->add_option("--kl-divergence-base", kl_base_out, "Save this model's log-probs as the base for --kl-divergence");
    auto * cmp = sub->add_option("--kl-divergence", kl_base_in, "Compare against a base saved with --kl-divergence-base")
                     ->check(CLI::ExistingFile);
    save->excludes(cmp);
    on_run(sub, [] {
        std::ifstream in(text_file, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        auto m = load_model(a);
        if (!m.ok()) return report(m.status());
        const std::vector<int32_t> tokens = m->tokenizer->encode(ss.str(), {/*add_special=*/true, /*parse_special=*/false});
        const int64_t n_vocab = m->model->hparams().n_vocab;
        model::PerplexityOptions po;
        po.n_ctx = a.n_ctx;
        po.max_chunks = chunks;
        const uint32_t rows = uint32_t(po.n_ctx - 1 - po.n_ctx / 2);

        std::ofstream base_out;
        std::ifstream base_in;
        KlHeader header{};
        if (!kl_base_out.empty()) {
            base_out.open(kl_base_out + ".tmp", std::ios::binary);
            if (!base_out) return report(Status::error(kl_base_out + ": cannot write"));
            int64_t n_chunks = int64_t(tokens.size()) / po.n_ctx;
            if (chunks > 0) n_chunks = std::min(n_chunks, chunks);
            header = {{}, uint32_t(n_vocab), uint32_t(po.n_ctx), uint32_t(n_chunks), rows, uint64_t(tokens.size())};
            std::memcpy(header.magic, kMagic, sizeof kMagic);
            base_out.write(reinterpret_cast<const char *>(&header), sizeof header);
            base_out.write(reinterpret_cast<const char *>(tokens.data()), std::streamsize(tokens.size() * 4));
        }
        if (!kl_base_in.empty()) {
            base_in.open(kl_base_in, std::ios::binary);
            std::vector<int32_t> base_tokens;
            if (base_in.read(reinterpret_cast<char *>(&header), sizeof header) &&
                std::memcmp(header.magic, kMagic, 8) == 0 && header.n_tokens == tokens.size()) {
                base_tokens.resize(tokens.size());
                base_in.read(reinterpret_cast<char *>(base_tokens.data()), std::streamsize(tokens.size() * 4));
            }
            if (!base_in || base_tokens != tokens || header.n_vocab != uint32_t(n_vocab) ||
                header.n_ctx != uint32_t(po.n_ctx)) {
                return report(Status::error(kl_base_in + ": not a base for this text, tokenizer, vocabulary and -c "
                                            "(save it with --kl-divergence-base on the same text and -c)"));
            }
            po.max_chunks = chunks > 0 ? std::min<int64_t>(chunks, header.n_chunks) : header.n_chunks;
        }

        KlStats kl;
        std::vector<double> lp, lb;
        std::vector<uint16_t> half(static_cast<size_t>(n_vocab));
        auto on_chunk = [&](int64_t c, std::span<const float> logits, std::span<const int32_t> targets) -> Status {
            for (size_t r = 0; r < targets.size(); ++r) {
                model::log_softmax(logits.subspan(r * size_t(n_vocab), size_t(n_vocab)), lp);
                if (base_out.is_open()) {
                    for (int64_t i = 0; i < n_vocab; ++i) half[size_t(i)] = quant::fp32_to_fp16(float(lp[size_t(i)]));
                    base_out.write(reinterpret_cast<const char *>(half.data()), std::streamsize(half.size() * 2));
                }
                if (base_in.is_open()) {
                    if (!base_in.read(reinterpret_cast<char *>(half.data()), std::streamsize(half.size() * 2))) {
                        return Status::error(kl_base_in + ": truncated");
                    }
                    lb.resize(size_t(n_vocab));
                    for (int64_t i = 0; i < n_vocab; ++i) lb[size_t(i)] = quant::fp16_to_fp32(half[size_t(i)]);
                    kl.kl.push_back(model::kl_divergence(lb, lp));
                    kl.top1 += std::max_element(lb.begin(), lb.end()) - lb.begin() ==
                               std::max_element(lp.begin(), lp.end()) - lp.begin();
                    kl.base_nll -= lb[size_t(targets[r])];
                }
            }
            std::fprintf(stderr, "[%lld]", (long long)c + 1);
            return ok_status();
        };
        auto r = model::perplexity(*m->session, tokens, m->tokenizer->data().bos_id, po, on_chunk);
        std::fprintf(stderr, "\n");
        if (!r.ok()) {
            if (base_out.is_open()) std::filesystem::remove(kl_base_out + ".tmp");
            return report(r.status());
        }
        std::printf("%lld tokens, %lld chunks of %lld, %lld scored\n", (long long)tokens.size(), (long long)r->n_chunks,
                    (long long)po.n_ctx, (long long)r->n_scored);
        std::printf("PPL = %.4f +/- %.4f\n", r->ppl(), r->ppl_error());
        if (base_out.is_open()) {
            base_out.close();
            std::filesystem::rename(kl_base_out + ".tmp", kl_base_out);
            std::printf("base log-probs saved to %s\n", kl_base_out.c_str());
        }
        if (base_in.is_open()) {
            double sum = 0;
            for (double d : kl.kl) sum += d;
            const double base_ppl = std::exp(kl.base_nll / double(kl.kl.size()));
            std::printf("KL divergence: mean %.6f, median %.6f, p99 %.6f\n", sum / double(kl.kl.size()),
                        quantile(kl.kl, 0.5), quantile(kl.kl, 0.99));
            std::printf("top-1 agreement: %.2f%%\n", 100.0 * double(kl.top1) / double(kl.kl.size()));
            std::printf("PPL ratio (this / base): %.5f (base PPL %.4f)\n", r->ppl() / base_ppl, base_ppl);
        }
        return 0;
    });
}

}  // namespace quanta::cli
