// bench/core/core_bench.cpp — mul_mat throughput of the CPU backend per weight type on a
// 2048 x 8192 matrix (8192 rows of 2048; dim 0 first), as the executor runs it:
//   mat-vec  (1 token: decode)   -> weight GB/s, next to the measured read bandwidth
//   mat-mat  (512 tokens: prompt) -> GFLOP/s, next to the measured peak SIMD FMA rate
// Activation quantization is included (it is part of every mul_mat).
// Usage: core_bench [--threads N] [--tokens M] [--types Q4_0,Q8_0,...]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "bench/core/peak.h"
#include "core/executor.h"
#include "quant/dispatch.h"

using namespace quanta;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kK = 2048, kN = 8192;

struct Timing {
    double seconds = 0;  // per run
};

// Times executor.run() until at least min_s has passed (after one warm-up run).
Timing time_runs(core::Executor & e, double min_s) {
    if (!e.run().ok()) return {-1};
    int reps = 0;
    const auto t0 = Clock::now();
    double el = 0;
    do {
        if (!e.run().ok()) return {-1};
        ++reps;
        el = std::chrono::duration<double>(Clock::now() - t0).count();
    } while (el < min_s);
    return {el / reps};
}

double run_case(backends::cpu::CpuBackend & cpu, Type wt, const std::vector<uint8_t> & wbytes, int64_t m, double min_s) {
    core::GraphBuilder g;
    core::Tensor w = g.weight("w", wt, {kK, kN});
    core::Tensor x = g.input("x", Type::F32, {kK, m});
    core::Tensor y = g.mul_mat(w, x);
    g.mark_output(y);
    Result<core::Graph> graph = g.build();
    if (!graph.ok()) return -1;
    core::ExecutorOptions o;
    o.cpu = &cpu;
    auto ex = core::Executor::create(std::move(graph.value()), o);
    if (!ex.ok()) return -1;
    core::Executor & e = *ex.value();
    if (!e.bind_new(w, cpu).ok() || !e.write(w, wbytes.data(), wbytes.size()).ok()) return -1;
    std::vector<float> xs(static_cast<size_t>(kK * m));
    std::mt19937 rng(7);
    std::normal_distribution<float> dist;
    for (float & v : xs) v = dist(rng);
    if (!e.bind_new(x, cpu).ok() || !e.write(x, xs.data(), xs.size() * 4).ok()) return -1;
    return time_runs(e, min_s).seconds;
}

// Fused attention: n_q queries at positions n_kv - n_q .. n_kv - 1 over an n_kv cache of kv type.
double run_attention(backends::cpu::CpuBackend & cpu, Type kv, int64_t n_q, int64_t n_kv, double min_s) {
    const int64_t hd = 128, n_head = 32, n_head_kv = 8;
    core::GraphBuilder g;
    core::Tensor q = g.input("q", Type::F32, {hd, n_head, n_q});
    core::Tensor k = g.input("k", kv, {hd, n_head_kv, n_kv});
    core::Tensor v = g.input("v", kv, {hd, n_head_kv, n_kv});
    core::Tensor pos = g.input("pos", core::kI32, {n_q});
    core::AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(hd));
    core::Tensor out = g.attention(q, k, v, pos, p);
    g.mark_output(out);
    Result<core::Graph> graph = g.build();
    if (!graph.ok()) return -1;
    core::ExecutorOptions o;
    o.cpu = &cpu;
    auto ex = core::Executor::create(std::move(graph.value()), o);
    if (!ex.ok()) return -1;
    core::Executor & e = *ex.value();
    std::mt19937 rng(5);
    std::normal_distribution<float> dist;
    for (const core::Tensor & t : {q, k, v}) {
        if (!e.bind_new(t, cpu).ok()) return -1;
        const int64_t rows = t.nrows();
        std::vector<float> row(static_cast<size_t>(t.ne[0]));
        std::vector<uint8_t> bytes(static_cast<size_t>(t.extent_bytes()));
        const size_t rb = core::type_row_bytes(t.type, t.ne[0]);
        for (int64_t r = 0; r < rows; ++r) {
            for (float & x : row) x = dist(rng);
            quant::traits(t.type).quantize_row(row.data(), bytes.data() + size_t(r) * rb, t.ne[0], nullptr);
        }
        if (!e.write(t, bytes.data(), bytes.size()).ok()) return -1;
    }
    std::vector<int32_t> ps(static_cast<size_t>(n_q));
    for (int64_t i = 0; i < n_q; ++i) ps[size_t(i)] = int32_t(n_kv - n_q + i);
    if (!e.bind_new(pos, cpu).ok() || !e.write(pos, ps.data(), ps.size() * 4).ok()) return -1;
    return time_runs(e, min_s).seconds;
}

// Per-node cost of the executor + pool on tiny ops (what a decode step pays ~30 times per layer).
double run_overhead(backends::cpu::CpuBackend & cpu, int n_nodes) {
    core::GraphBuilder g;
    core::Tensor x = g.input("x", Type::F32, {64});
    core::Tensor y = x;
    for (int i = 0; i < n_nodes; ++i) y = g.scale(y, 1.0001f);
    g.mark_output(y);
    Result<core::Graph> graph = g.build();
    if (!graph.ok()) return -1;
    core::ExecutorOptions o;
    o.cpu = &cpu;
    auto ex = core::Executor::create(std::move(graph.value()), o);
    if (!ex.ok()) return -1;
    std::vector<float> xs(64, 1.0f);
    if (!ex.value()->bind_new(x, cpu).ok() || !ex.value()->write(x, xs.data(), 256).ok()) return -1;
    return time_runs(*ex.value(), 0.3).seconds / n_nodes;
}

}  // namespace

int main(int argc, char ** argv) {
    int threads = 0;
    int64_t tokens = 512;
    std::vector<std::string> only;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--tokens" && i + 1 < argc) tokens = std::atoll(argv[++i]);
        else if (a == "--types" && i + 1 < argc) {
            std::stringstream ss(argv[++i]);
            std::string t;
            while (std::getline(ss, t, ',')) only.push_back(t);
        } else {
            std::fprintf(stderr, "usage: core_bench [--threads N] [--tokens M] [--types Q4_0,Q8_0,...]\n");
            return 1;
        }
    }
    if (tokens < 1 || tokens > 8192) {
        std::fprintf(stderr, "core_bench: --tokens %lld out of range [1, 8192]\n", (long long)tokens);
        return 1;
    }
    backends::cpu::CpuBackend cpu(threads);
    backends::cpu::ThreadPool pool(cpu.n_threads());
    const bench::Peak peak = bench::measure_peak(pool);
    std::printf("core_bench: %d threads, quant ISA %s, weights [%lld, %lld], mat-mat %lld tokens\n", cpu.n_threads(),
                std::string(quant::cpu_isa()).c_str(), (long long)kK, (long long)kN, (long long)tokens);
    std::printf("machine: read bandwidth %.1f GB/s, peak %s %.0f GFLOP/s (f32)\n\n", peak.read_gbs, peak.simd.c_str(),
                peak.peak_gflops);
    std::printf("| type | bits/w | weights MiB | mat-vec ms | mat-vec GB/s | %% of bandwidth | mat-mat ms | mat-mat GFLOP/s | %% of peak |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (tr.activation_only || !tr.dot_row) continue;
        if (!only.empty() && std::find(only.begin(), only.end(), std::string(tr.name)) == only.end()) continue;
        if (kK % tr.block_size != 0 || kK % quant::traits(tr.dot_with).block_size != 0) continue;
        // Quantize 64 distinct rows and repeat them: timing does not depend on the values.
        const size_t rb = quant::row_bytes(tr.type, kK);
        std::vector<uint8_t> wbytes(rb * size_t(kN));
        std::mt19937 rng(3);
        std::normal_distribution<float> dist;
        std::vector<float> row(static_cast<size_t>(kK));
        for (int r = 0; r < 64; ++r) {
            for (float & v : row) v = dist(rng);
            tr.quantize_row(row.data(), wbytes.data() + size_t(r) * rb, kK, nullptr);
        }
        for (int64_t r = 64; r < kN; ++r) std::memcpy(wbytes.data() + size_t(r) * rb, wbytes.data() + size_t(r % 64) * rb, rb);
        const double mv = run_case(cpu, tr.type, wbytes, 1, 0.3);
        const double mm = run_case(cpu, tr.type, wbytes, tokens, 0.5);
        if (mv < 0 || mm < 0) {
            std::printf("| %s | failed |\n", tr.name);
            continue;
        }
        const double wbytes_total = double(wbytes.size());
        const double mv_gbs = wbytes_total / mv / 1e9;
        const double mm_gflops = 2.0 * double(kK) * double(kN) * double(tokens) / mm / 1e9;
        std::printf("| %s | %.2f | %.1f | %.3f | %.1f | %.0f%% | %.1f | %.1f | %.1f%% |\n", tr.name, tr.bits_per_weight(),
                    wbytes_total / 1048576.0, mv * 1e3, mv_gbs, 100.0 * mv_gbs / peak.read_gbs, mm * 1e3, mm_gflops,
                    100.0 * mm_gflops / peak.peak_gflops);
        std::fflush(stdout);
    }
    std::printf("\nexecutor + thread pool: %.2f us per node (1000 tiny scale nodes per run, %d threads)\n",
                run_overhead(cpu, 1000) * 1e6, cpu.n_threads());

    // Attention: 32 heads over 8 kv heads of 128 dims (Llama-3-8B shape), causal.
    std::printf("\n| attention (32 q heads, 8 kv heads, hd 128) | kv type | ms | GFLOP/s (visible keys) |\n|---|---|---|---|\n");
    for (Type kv : {Type::F16, Type::Q8_0}) {
        struct Shape {
            const char * name;
            int64_t n_q, n_kv;
        };
        for (Shape sh : {Shape{"decode: 1 query, 4096 keys", 1, 4096}, Shape{"prompt: 512 queries, 512 keys", 512, 512}}) {
            const double t = run_attention(cpu, kv, sh.n_q, sh.n_kv, 0.3);
            double visible = 0;
            for (int64_t i = 0; i < sh.n_q; ++i) visible += double(sh.n_kv - sh.n_q + i + 1);
            const double flops = 4.0 * 128.0 * 32.0 * visible;  // q.k and p.v, 2 flops each
            std::printf("| %s | %s | %.3f | %.1f |\n", sh.name, std::string(core::type_name(kv)).c_str(), t * 1e3,
                        flops / t / 1e9);
        }
    }
    return 0;
}
