// bench/quant/matvec_bench.cpp — decode matrix-vector speed as users get it: the CPU backend's
// mul_mat node (executor, thread pool, activation quantization, the M == 1 tile path) on a
// [K, N] weight matrix far larger than the last-level cache, next to the machine's read bandwidth.
//
//   bench_matvec [--mib 512] [--k 4096] [--threads 2] [--reps 11] [--types Q4_0,Q4_K,Q8_0,QT4] [--in-cache-only]
//
// Each round measures the read bandwidth (1 GiB, n threads, the same loop as `quanta bench`) and
// then runs one mul_mat per type, so a neighbour's load drifts over all columns alike. Reported:
// median (min-max) over rounds of weight GB/s (weight bytes / wall time of executor.run()) and
// of the bandwidth, and median mat-vec / median bandwidth. The weights are random block bytes
// with moderate fp16 scales (speed does not depend on the values), bound zero-copy.
// Also, per type, one thread's in-cache speed of the kernel the decode path calls (1 MiB of rows,
// cache-resident (L3 on Zen 3, whose L2 is 512 KiB), thread CPU time, median of 15 samples of 20
// calls; beside it plain vec_dot per row): the compute limit
// of a core, for reading the 2-thread number (each core must consume half the bandwidth while its
// loads are in flight); and
// one thread streaming the whole matrix (thread CPU time, best of 3): a core's speed when every load
// misses the caches, for mat_vec and for vec_dot per row (the decode kernel before mat_vec).
// --in-cache-only skips the big matrices. Prints markdown, for bench/RESULTS.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "core/executor.h"
#include "backends/cpu/read_bandwidth.h"
#include "quant/dispatch.h"
#include "quant/random_blocks.h"
#include "quant/fp.h"

using namespace quanta;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}


// Random block bytes with finite, moderate fp16 scales (F16/F32/BF16: quantized Gaussians).
void fill_random(const quant::TypeTraits & t, uint8_t * dst, size_t bytes, uint64_t seed) {
    std::mt19937_64 rng(seed);
    if (!quant::is_quantized(t.type)) {
        std::normal_distribution<float> nd(0.0f, 0.02f);
        std::vector<float> x(4096);
        const size_t chunk = quant::row_bytes(t.type, 4096);
        for (size_t off = 0; off + chunk <= bytes; off += chunk) {
            for (float & v : x) v = nd(rng);
            t.quantize_row(x.data(), dst + off, 4096, nullptr);
        }
        return;
    }
    quant::random_blocks(t.type, dst, bytes, seed, 0.01f);
}

struct Case {
    const quant::TypeTraits * t = nullptr;
    int64_t n = 0;  // weight rows
    std::vector<uint8_t> w;
    std::unique_ptr<core::Executor> ex;
    std::vector<double> gbs;
};

struct Spread { double median, min, max; };
Spread spread(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front(), v.back()};
}

// One Gaussian activation row of k values in t's dot_with type, as decode quantizes it.
std::vector<uint8_t> activation_row(const quant::TypeTraits & t, const quant::Kernels & kn, int64_t k) {
    std::vector<float> x(static_cast<size_t>(k));
    std::mt19937 rng(5);
    std::normal_distribution<float> nd;
    for (float & v : x) v = nd(rng);
    std::vector<uint8_t> xq(quant::row_bytes(t.dot_with, k));
    kn.quantize_activations(x.data(), xq.data(), k, nullptr);
    return xq;
}

// One core's in-cache speed (GB/s of weights) of the decode kernel, mat_vec() (all rows in one
// call of the mat-vec kernel where the type has one), and of plain vec_dot per
// row, timed alternately so both see the same machine: {mat_vec, vec_dot}.
struct InCache { double mat_vec, vec_dot; };
InCache in_cache_gbs(const quant::TypeTraits & t, int64_t k) {
    const quant::Kernels & kn = quant::kernels(t.type);
    const size_t rb = quant::row_bytes(t.type, k);
    const int64_t rows = std::max<int64_t>(8, int64_t((size_t(1) << 20) / rb) / 8 * 8);
    std::vector<uint8_t> w(rb * size_t(rows));
    fill_random(t, w.data(), w.size(), 11);
    const std::vector<uint8_t> xq = activation_row(t, kn, k);
    std::vector<float> out(static_cast<size_t>(rows));
    // Each sample times 20 calls (one call is ~70 us, near the resolution of this VM's thread CPU
    // clock: a best-of-single-calls once read 0, "inf" GB/s); the median of 15 samples.
    constexpr int kCalls = 20;
    std::vector<double> t_mv, t_dot;
    for (int rep = 0; rep < 15; ++rep) {
        double t0 = thread_cpu_seconds();
        for (int c = 0; c < kCalls; ++c) quant::mat_vec(kn, w.data(), rb, rows, xq.data(), out.data(), k);
        t_mv.push_back((thread_cpu_seconds() - t0) / kCalls);
        t0 = thread_cpu_seconds();
        for (int c = 0; c < kCalls; ++c) {
            for (int64_t r = 0; r < rows; ++r) out[size_t(r)] = kn.vec_dot(w.data() + size_t(r) * rb, xq.data(), k);
        }
        t_dot.push_back((thread_cpu_seconds() - t0) / kCalls);
    }
    return {double(w.size()) / spread(t_mv).median / 1e9, double(w.size()) / spread(t_dot).median / 1e9};
}

// One core streaming the whole big matrix from DRAM (thread CPU time, best of 3 passes each,
// alternating): what a core achieves when its loads miss every cache, {mat_vec, vec_dot}.
InCache stream_1core(const quant::TypeTraits & t, const std::vector<uint8_t> & w, int64_t k, int64_t rows) {
    const quant::Kernels & kn = quant::kernels(t.type);
    const size_t rb = quant::row_bytes(t.type, k);
    const std::vector<uint8_t> xq = activation_row(t, kn, k);
    std::vector<float> out(static_cast<size_t>(rows));
    double best_mv = 1e30, best_dot = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        double t0 = thread_cpu_seconds();
        quant::mat_vec(kn, w.data(), rb, rows, xq.data(), out.data(), k);
        best_mv = std::min(best_mv, thread_cpu_seconds() - t0);
        t0 = thread_cpu_seconds();
        for (int64_t r = 0; r < rows; ++r) out[size_t(r)] = kn.vec_dot(w.data() + size_t(r) * rb, xq.data(), k);
        best_dot = std::min(best_dot, thread_cpu_seconds() - t0);
    }
    return {double(rb) * double(rows) / best_mv / 1e9, double(rb) * double(rows) / best_dot / 1e9};
}

}  // namespace

int main(int argc, char ** argv) {
    int mib = 512, threads = 2, reps = 11;
    bool in_cache_only = false;
    int64_t k = 4096;
    std::vector<std::string> types = {"Q4_0", "Q4_K", "Q8_0", "QT4"};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--mib") mib = std::atoi(next().c_str());
        else if (a == "--k") k = std::atoll(next().c_str());
        else if (a == "--threads") threads = std::atoi(next().c_str());
        else if (a == "--reps") reps = std::atoi(next().c_str());
        else if (a == "--in-cache-only") in_cache_only = true;
        else if (a == "--types") {
            types.clear();
            std::stringstream ss(next());
            for (std::string s; std::getline(ss, s, ',');) types.push_back(s);
        } else {
            std::fprintf(stderr, "usage: bench_matvec [--mib 512] [--k 4096] [--threads 2] [--reps 11] [--types Q4_0,Q4_K,Q8_0,QT4] [--in-cache-only]\n");
            return 1;
        }
    }
    if (mib < 16 || threads < 1 || reps < 1 || k < 512 || k % 512 != 0) {
        std::fprintf(stderr, "bench_matvec: need --mib >= 16, --threads >= 1, --reps >= 1, --k a multiple of 512 (got %d, %d, %d, %lld)\n",
                     mib, threads, reps, (long long)k);
        return 1;
    }
    if (in_cache_only) {
        std::printf("| type | in-cache GB/s, 1 core: mat_vec | vec_dot per row |\n|---|---|---|\n");
        for (const std::string & name : types) {
            for (const quant::TypeTraits & tr : quant::all_types()) {
                if (name != tr.name || tr.activation_only) continue;
                const InCache ic = in_cache_gbs(tr, k);
                std::printf("| %s | %.1f | %.1f |\n", tr.name, ic.mat_vec, ic.vec_dot);
                std::fflush(stdout);
            }
        }
        return 0;
    }
    backends::cpu::CpuBackend cpu(threads);
    std::vector<Case> cases;
    for (const std::string & name : types) {
        const quant::TypeTraits * t = nullptr;
        for (const quant::TypeTraits & tr : quant::all_types()) {
            if (name == tr.name && !tr.activation_only) t = &tr;
        }
        if (!t) {
            std::fprintf(stderr, "bench_matvec: unknown weight type '%s' (use names of quant/types.def, e.g. Q4_0)\n", name.c_str());
            return 1;
        }
        Case c;
        c.t = t;
        const size_t rb = quant::row_bytes(t->type, k);
        c.n = int64_t((size_t(mib) << 20) / rb);
        c.w.resize(rb * size_t(c.n));
        fill_random(*t, c.w.data(), c.w.size(), 42);
        core::GraphBuilder g;
        core::Tensor w = g.weight("w", t->type, {k, c.n});
        core::Tensor x = g.input("x", Type::F32, {k, 1});
        g.mark_output(g.mul_mat(w, x));
        Result<core::Graph> graph = g.build();
        if (!graph.ok()) {
            std::fprintf(stderr, "bench_matvec: %s: %s\n", t->name, graph.status().message().c_str());
            return 1;
        }
        core::ExecutorOptions o;
        o.cpu = &cpu;
        auto ex = core::Executor::create(std::move(graph.value()), o);
        if (!ex.ok()) {
            std::fprintf(stderr, "bench_matvec: %s: %s\n", t->name, ex.status().message().c_str());
            return 1;
        }
        c.ex = std::move(ex.value());
        std::vector<float> xs(static_cast<size_t>(k));
        std::mt19937 rng(7);
        std::normal_distribution<float> nd;
        for (float & v : xs) v = nd(rng);
        Status st = c.ex->bind_host(w, cpu, c.w.data(), c.w.size());
        if (st.ok()) st = c.ex->bind_new(x, cpu);
        if (st.ok()) st = c.ex->write(x, xs.data(), xs.size() * sizeof(float));
        if (st.ok()) st = c.ex->run();  // warm-up (plans, first touch of the output)
        if (!st.ok()) {
            std::fprintf(stderr, "bench_matvec: %s: %s\n", t->name, st.message().c_str());
            return 1;
        }
        cases.push_back(std::move(c));
    }
    const std::vector<uint64_t> buf = backends::cpu::bandwidth_buffer();
    std::vector<double> bw;
    for (int r = 0; r < reps; ++r) {
        bw.push_back(backends::cpu::read_bandwidth_pass(buf, threads));
        for (Case & c : cases) {
            const auto t0 = Clock::now();
            if (!c.ex->run().ok()) return 1;
            c.gbs.push_back(double(c.w.size()) / seconds_since(t0) / 1e9);
        }
    }
    const Spread b = spread(bw);
    std::printf("bench_matvec: CPU backend mul_mat, 1 token, %d threads, quant ISA %s, K = %lld, ~%d MiB of weights per type, %d rounds\n\n",
                cpu.n_threads(), std::string(quant::cpu_isa()).c_str(), (long long)k, mib, reps);
    std::printf("read bandwidth (1 GiB, %d threads): median %.1f GB/s (%.1f-%.1f)\n\n", threads, b.median, b.min, b.max);
    std::printf("| type | bpw | weights [K, N] | mat-vec GB/s median (min-max) | / median bandwidth | 1 core from DRAM: mat_vec | vec_dot | 1 core in cache: mat_vec | vec_dot |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    for (Case & c : cases) {
        const Spread s = spread(c.gbs);
        const InCache ic = in_cache_gbs(*c.t, k);
        const InCache st = stream_1core(*c.t, c.w, k, c.n);
        std::printf("| %s | %.3g | [%lld, %lld] | %.1f (%.1f-%.1f) | %.0f%% | %.1f | %.1f | %.1f | %.1f |\n", c.t->name, c.t->bits_per_weight(),
                    (long long)k, (long long)c.n, s.median, s.min, s.max, 100.0 * s.median / b.median, st.mat_vec, st.vec_dot, ic.mat_vec,
                    ic.vec_dot);
        std::fflush(stdout);
    }
    return 0;
}
