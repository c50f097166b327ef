// `quanta bench`: prompt-processing and generation speed of a model, as llama-bench measures them
// (pp: one pass over -p random tokens from an empty cache; tg: -n tokens one at a time), over
// repetitions with median and spread, plus peak memory and, for generation, the effective
// bandwidth (weight bytes + KV bytes read per token × tokens/s) against this machine's measured
// read bandwidth (or --bandwidth GB/s).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "backends/cpu/read_bandwidth.h"
#include "examples/quanta/commands.h"
#include "examples/quanta/model_args.h"

namespace quanta::cli {

namespace {

using Clock = std::chrono::steady_clock;


struct Spread { double median, min, max; };
Spread spread(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front(), v.back()};
}

}  // namespace

void add_bench_command(CLI::App & app) {
    static ModelArgs a;
    static int64_t n_prompt = 512, n_gen = 128;
    static int reps = 3;
    static double bandwidth = 0;
    CLI::App * sub = app.add_subcommand("bench", "Prompt-processing and generation speed (median of repetitions)");
    add_model_options(sub, a);
    sub->add_option("-p,--n-prompt", n_prompt, "Prompt tokens (pp); 0 skips")->check(CLI::Range(int64_t(0), int64_t(1) << 16));
    sub->add_option("-n,--n-gen", n_gen, "Generated tokens (tg); 0 skips")->check(CLI::Range(int64_t(0), int64_t(1) << 16));
    sub->add_option("-r,--repetitions", reps, "Repetitions (median and spread reported)")->check(CLI::Range(1, 100));
    sub->add_option("--bandwidth", bandwidth, "Memory read bandwidth in GB/s (default: measured now)")->check(CLI::NonNegativeNumber);
    on_run(sub, [] {
        ModelArgs args = a;
        args.n_ctx = std::max<int64_t>(n_prompt + n_gen, 1);
        auto m = load_model(args);
        if (!m.ok()) return report(m.status());
        const auto & hp = m->model->hparams();
        std::mt19937 rng(1234);
        std::uniform_int_distribution<int32_t> any_token(0, int32_t(hp.n_vocab - 1));
        std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
        for (int32_t & t : prompt) t = any_token(rng);

        std::vector<double> pp, tg;
        for (int rep = 0; rep < reps; ++rep) {
            if (n_prompt > 0) {
                m->session->clear();
                auto t0 = Clock::now();
                auto r = m->session->eval(prompt);
                if (!r.ok()) return report(r.status());
                pp.push_back(double(n_prompt) / std::chrono::duration<double>(Clock::now() - t0).count());
            }
            if (n_gen > 0) {
                m->session->clear();
                int32_t next = any_token(rng);
                auto t0 = Clock::now();
                for (int64_t i = 0; i < n_gen; ++i) {
                    auto r = m->session->eval(std::span(&next, 1));
                    if (!r.ok()) return report(r.status());
                    next = int32_t(std::max_element(r->begin(), r->end()) - r->begin());
                }
                tg.push_back(double(n_gen) / std::chrono::duration<double>(Clock::now() - t0).count());
            }
        }

        uint64_t weight_bytes = 0;
        for (const auto & t : m->model->file().tensors()) weight_bytes += t.size;
        // Per generated token: every weight once (the embedding table is only gathered, one row),
        // plus the K and V rows of half the generated context on average.
        const auto * embd = m->model->file().find("token_embd.weight");
        if (embd && m->model->has("output.weight")) weight_bytes -= embd->size;
        const double kv_row = double(quant::row_bytes(a.cache_type == "f32" ? Type::F32 : a.cache_type == "q8_0" ? Type::Q8_0 : Type::F16,
                                                      hp.head_dim * hp.n_head_kv));
        const double per_token = double(weight_bytes) + 2.0 * double(hp.n_layer) * kv_row * double(n_gen) / 2.0;
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);

        const std::string threads = a.threads > 0 ? std::to_string(a.threads) : "physical-core";
        std::printf("model: %s (%s, %lld layers, %.1f MiB file), backend %s, %s threads, %d-bit activations\n",
                    a.model.c_str(), std::string(arch::arch_name(hp.arch)).c_str(), (long long)hp.n_layer,
                    double(m->model->file().file_size()) / 1048576.0, a.backend.c_str(), threads.c_str(), a.act_bits);
        if (!pp.empty()) {
            Spread s = spread(pp);
            std::printf("pp%-5lld %8.1f tok/s  (min %.1f, max %.1f, %d runs)\n", (long long)n_prompt, s.median, s.min, s.max, reps);
        }
        if (!tg.empty()) {
            Spread s = spread(tg);
            const int bw_threads = a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
            const double machine = bandwidth > 0 ? bandwidth : backends::cpu::measure_read_bandwidth(bw_threads);
            const double effective = per_token * s.median / 1e9;
            std::printf("tg%-5lld %8.1f tok/s  (min %.1f, max %.1f, %d runs)\n", (long long)n_gen, s.median, s.min, s.max, reps);
            std::printf("effective bandwidth %.1f GB/s = %.0f%% of %.1f GB/s (%s)\n", effective, 100.0 * effective / machine,
                        machine, bandwidth > 0 ? "given" : "measured: 1 GiB read, best of 3");
        }
        std::printf("peak memory (RSS) %.1f MiB\n", double(ru.ru_maxrss) / 1024.0);
        return 0;
    });
}

}  // namespace quanta::cli
