// bench/quant/mix_sizes.cpp — what a model would weigh in each type policy, from its shapes alone
// (the converter's own choose_type over the architecture's tensor table; nothing is allocated).
//
//   bench_mix_sizes [--ctx 4096] [POLICY ...]
//
// Default: Gemma 2 27B (n_embd 4608, 46 layers, 32 heads, 16 KV heads, head_dim 128, FFN 36864,
// vocab 256000, tied output head) in the K-quant and QT mixes. Prints markdown: weight GiB, mean
// bits per weight, and weights + an f16 / q8_0 KV cache of --ctx tokens against 16 / 12 GiB cards
// (compute buffers and the runtime's own memory not included; say so next to any claim).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "convert/type_policy.h"
#include "core/arch/hparams.h"
#include "core/arch/tensors.h"
#include "quant/types.h"

using namespace quanta;

int main(int argc, char ** argv) {
    int64_t ctx = 4096;
    std::vector<std::string> policies;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--ctx" && i + 1 < argc) {
            ctx = std::atoll(argv[++i]);
        } else {
            policies.push_back(a);
        }
    }
    if (policies.empty()) policies = {"f16", "q8_0", "q4_k_m", "q4_k_s", "qt4", "q3_k_m", "qt3", "qt3_m", "q2_k", "qt2", "qt2_m"};
    arch::HParams hp;
    hp.arch = arch::Arch::Gemma2;
    hp.n_vocab = 256000;
    hp.n_embd = 4608;
    hp.n_layer = 46;
    hp.n_head = 32;
    hp.n_head_kv = 16;
    hp.head_dim = 128;
    hp.n_ff = 36864;
    const std::vector<arch::TensorSpec> specs = arch::tensor_specs(hp);
    // KV cache: K and V, every layer, n_head_kv * head_dim per token (Gemma 2 alternates 4096-token
    // sliding windows, which save nothing at ctx <= 4096).
    const double kv_elems = 2.0 * double(hp.n_layer) * double(hp.n_head_kv * hp.head_dim) * double(ctx);
    const double kv_f16 = kv_elems * 2.0 / double(1 << 30), kv_q8 = kv_elems * 34.0 / 32.0 / double(1 << 30);
    std::printf("Gemma 2 27B (n_embd %lld, %lld layers, FFN %lld, vocab %lld, tied head), KV cache at %lld tokens: "
                "f16 %.2f GiB, q8_0 %.2f GiB\n\n",
                (long long)hp.n_embd, (long long)hp.n_layer, (long long)hp.n_ff, (long long)hp.n_vocab, (long long)ctx,
                kv_f16, kv_q8);
    std::printf("| policy | weights GiB | bpw (all weights) | + f16 KV GiB | + q8_0 KV GiB | fits 16 GiB (q8_0 KV) | fits 12 GiB (q8_0 KV) | types used |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (const std::string & name : policies) {
        auto p = convert::parse_type_policy(name);
        if (!p.ok()) {
            std::fprintf(stderr, "bench_mix_sizes: %s\n", p.status().message().c_str());
            return 1;
        }
        double bytes = 0.0, weights = 0.0;
        std::vector<std::pair<std::string, double>> by_type;
        for (const arch::TensorSpec & s : specs) {
            if (s.optional) continue;  // output.weight: Gemma 2 ties it to token_embd
            int64_t rows = 1;
            for (size_t d = 1; d < s.ne.size(); ++d) rows *= s.ne[d];
            const Type t = convert::choose_type(*p, s, hp.n_layer);
            const double b = double(quant::row_bytes(t, s.ne[0])) * double(rows);
            bytes += b;
            weights += double(s.ne[0]) * double(rows);
            bool found = false;
            for (auto & [tn, tb] : by_type) {
                if (tn == quant::traits(t).name) { tb += b; found = true; }
            }
            if (!found) by_type.emplace_back(quant::traits(t).name, b);
        }
        const double gib = bytes / double(1 << 30);
        std::string used;
        for (const auto & [tn, tb] : by_type) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%s %.0f%%", used.empty() ? "" : ", ", tn.c_str(), 100.0 * tb / bytes);
            used += buf;
        }
        std::printf("| %s | %.2f | %.3f | %.2f | %.2f | %s | %s | %s |\n", name.c_str(), gib, 8.0 * bytes / weights,
                    gib + kv_f16, gib + kv_q8, gib + kv_q8 <= 16.0 ? "yes" : "no", gib + kv_q8 <= 12.0 ? "yes" : "no",
                    used.c_str());
    }
    return 0;
}
