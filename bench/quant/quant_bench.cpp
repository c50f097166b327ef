// bench/quant/quant_bench.cpp — how fast and how accurate quanta's weight formats are here.
//
//   bench_quant [--mib 512] [--threads 2] [--reps 7] [--weights FILE] [--types Q4_0,Q4_K,...]
//               [--accuracy-only]
//
// 1. Memory read bandwidth: n_threads threads each stream their half of a 1 GiB buffer
//    (64-bit adds, 4 independent accumulators); best of reps.
// 2. Matrix-vector throughput per type and ISA: a [4096, rows] weight matrix of about --mib MiB
//    (far larger than the last-level cache), random block bytes with moderate fp16 scales (speed
//    does not depend on the values), activations quantized once with the type's activation
//    quantizer, rows split over n_threads; reported as GB/s of weight bytes read (best of reps),
//    and as a fraction of the measured bandwidth.
//    Also one thread's dot speed on 1 MiB of rows (L2 resident): the kernel's compute limit.
// 3. Dequantize throughput per type and ISA on one thread (weight GB/s, output kept in L1).
//    Single-thread columns use the thread's CPU time (robust on a shared machine); the 2-thread
//    matvec and the bandwidth use wall time.
// 4. With --weights (written by bench/quant/dump_weights.py): relative RMSE of each type's
//    round trip on real weights, without an imatrix.
// Prints markdown to stdout, for bench/RESULTS.md.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/cpu/read_bandwidth.h"
#include "quant/dispatch.h"
#include "quant/fp.h"
#include "quant/random_blocks.h"
#include "quant/types.h"

using namespace quanta;
using namespace quanta::quant;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU time of the calling thread: on a shared machine the single-thread columns count only the
// time this thread actually ran, so they measure the kernel, not the neighbours.
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

template <typename Fn>
void run_threads(int n_threads, Fn fn) {
    std::vector<std::thread> pool;
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(fn, t);
    fn(0);
    for (std::thread & th : pool) th.join();
}

void fill_random_row(const TypeTraits & t, uint8_t * dst, size_t bytes, std::mt19937_64 & rng) {
    if (!is_quantized(t.type)) {
        std::vector<float> x(bytes / t.block_bytes);
        std::normal_distribution<float> nd(0.0f, 0.02f);
        for (float & v : x) v = nd(rng);
        t.quantize_row(x.data(), dst, int64_t(x.size()), nullptr);
        return;
    }
    random_blocks(t.type, dst, bytes, rng(), 0.01f);
}

struct Options {
    int mib = 512, threads = 2, reps = 7;
    bool speed_off = false;
    std::string weights;
    std::vector<std::string> types;
};

bool wanted(const Options & o, const TypeTraits & t) {
    if (t.activation_only) return false;
    if (o.types.empty()) return true;
    return std::find(o.types.begin(), o.types.end(), std::string(t.name)) != o.types.end();
}

void bench_speed(const Options & o, double bw) {
    const int64_t ncols = 4096;
    std::printf("\n### matrix-vector, %d threads, %d MiB of weights per matrix, [%lld, rows]\n\n", o.threads, o.mib,
                (long long)ncols);
    std::printf("| type | bpw | isa | matvec GB/s | read bandwidth just before, GB/s | matvec / bandwidth | in-cache dot GB/s (1 thread) | dequantize GB/s (1 thread) |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    std::mt19937_64 rng(42);
    std::vector<float> act(static_cast<size_t>(ncols));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (float & v : act) v = nd(rng);
    for (const TypeTraits & t : all_types()) {
        if (!wanted(o, t)) continue;
        const size_t rb = row_bytes(t.type, ncols);
        const int64_t nrows = int64_t((size_t(o.mib) << 20) / rb);
        std::vector<uint8_t> w(rb * size_t(nrows));
        for (int64_t r = 0; r < nrows; ++r) fill_random_row(t, w.data() + size_t(r) * rb, rb, rng);
        std::vector<float> out(static_cast<size_t>(nrows));
        for (Isa isa : available_isas()) {
            const Kernels & k = kernels(t.type, isa);
            if (k.isa != isa) continue;  // this ISA has no kernel of its own for the type
            std::vector<uint8_t> qa(row_bytes(t.dot_with, ncols));
            k.quantize_activations(act.data(), qa.data(), ncols, nullptr);
            // On a shared machine the bandwidth drifts: measure it right before each matvec so
            // the ratio compares like with like.
            const double bw_now = isa == Isa::Scalar ? bw : backends::cpu::measure_read_bandwidth(o.threads, 3);
            double best = 1e30;
            // The scalar references are the oracle, not a speed path: no full-size pass for them.
            const int reps = isa == Isa::Scalar ? 0 : o.reps;
            for (int r = 0; r < reps; ++r) {
                const auto t0 = Clock::now();
                run_threads(o.threads, [&](int th) {
                    const int64_t r0 = nrows * th / o.threads, r1 = nrows * (th + 1) / o.threads;
                    for (int64_t row = r0; row < r1; ++row) out[size_t(row)] = k.vec_dot(w.data() + size_t(row) * rb, qa.data(), ncols);
                });
                best = std::min(best, seconds_since(t0));
            }
            const double gbs = reps > 0 ? double(w.size()) / best / 1e9 : 0.0;
            // Dequantize: one thread over the first 64 MiB (or all), into one reused row.
            const int64_t drows = std::min<int64_t>(nrows, int64_t((size_t(isa == Isa::Scalar ? 4 : 64) << 20) / rb));
            std::vector<float> row(static_cast<size_t>(ncols));
            const Kernels & kd = kernels(t.type, isa);
            double dbest = 1e30;
            for (int r = 0; r < 3; ++r) {
                const double t0 = thread_cpu_seconds();
                for (int64_t rr = 0; rr < drows; ++rr) kd.dequantize_row(w.data() + size_t(rr) * rb, row.data(), ncols);
                dbest = std::min(dbest, thread_cpu_seconds() - t0);
            }
            const double dgbs = double(drows) * double(rb) / dbest / 1e9;
            // Compute speed without the memory wall: one thread, the first 1 MiB of rows (L2
            // resident), many short passes, best one.
            const int64_t crows = std::min<int64_t>(nrows, std::max<int64_t>(1, int64_t((size_t(1) << 20) / rb)));
            double cbest = 1e30;
            for (int r = 0; r < (isa == Isa::Scalar ? 5 : 200); ++r) {
                const double t0 = thread_cpu_seconds();
                for (int64_t row = 0; row < crows; ++row) out[size_t(row)] = k.vec_dot(w.data() + size_t(row) * rb, qa.data(), ncols);
                cbest = std::min(cbest, thread_cpu_seconds() - t0);
            }
            const double cgbs = double(crows) * double(rb) / cbest / 1e9;
            if (reps > 0) {
                std::printf("| %s | %.3g | %s | %.1f | %.1f | %.0f%% | %.1f | %.1f |\n", t.name, t.bits_per_weight(),
                            std::string(isa_name(isa)).c_str(), gbs, bw_now, 100.0 * gbs / bw_now, cgbs, dgbs);
            } else {
                std::printf("| %s | %.3g | %s | - | - | - | %.1f | %.1f |\n", t.name, t.bits_per_weight(),
                            std::string(isa_name(isa)).c_str(), cgbs, dgbs);
            }
            std::fflush(stdout);
        }
    }
}

// Prompt-processing shape: one weight row against kMaxDotRows activation rows, through the
// multi-row kernel vs kMaxDotRows single-row calls; one thread, 1 MiB of rows, CPU time.
void bench_multirow() {
    const int64_t ncols = 4096;
    std::printf("\n### multi-row dot (1 weight row x %d activation rows), 1 thread, 1 MiB of rows, CPU time\n\n", kMaxDotRows);
    std::printf("| type | isa | %d x vec_dot ms | dot_rows ms | speed-up |\n|---|---|---|---|---|\n", kMaxDotRows);
    std::mt19937_64 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (const TypeTraits & t : all_types()) {
        const Kernels & k = kernels(t.type);
        if (!k.vec_dot_rows) continue;
        const size_t rb = row_bytes(t.type, ncols);
        const int64_t rows = std::max<int64_t>(1, int64_t((size_t(1) << 20) / rb));
        std::vector<uint8_t> w(rb * size_t(rows));
        for (int64_t r = 0; r < rows; ++r) fill_random_row(t, w.data() + size_t(r) * rb, rb, rng);
        const size_t ab = row_bytes(t.dot_with, ncols);
        std::vector<uint8_t> qa(ab * kMaxDotRows);
        std::vector<float> act(static_cast<size_t>(ncols));
        for (int r = 0; r < kMaxDotRows; ++r) {
            for (float & v : act) v = nd(rng);
            k.quantize_activations(act.data(), qa.data() + size_t(r) * ab, ncols, nullptr);
        }
        float out[kMaxDotRows];
        double single = 1e30, multi = 1e30, sink = 0.0;
        for (int rep = 0; rep < 50; ++rep) {
            double t0 = thread_cpu_seconds();
            for (int64_t i = 0; i < rows; ++i) {
                for (int r = 0; r < kMaxDotRows; ++r) sink += k.vec_dot(w.data() + size_t(i) * rb, qa.data() + size_t(r) * ab, ncols);
            }
            single = std::min(single, thread_cpu_seconds() - t0);
            t0 = thread_cpu_seconds();
            for (int64_t i = 0; i < rows; ++i) {
                k.vec_dot_rows(w.data() + size_t(i) * rb, qa.data(), ab, kMaxDotRows, out, ncols);
                sink += out[0];
            }
            multi = std::min(multi, thread_cpu_seconds() - t0);
        }
        std::printf("| %s | %s | %.3f | %.3f | %.2fx |%s\n", t.name, std::string(isa_name(k.isa)).c_str(), single * 1e3,
                    multi * 1e3, single / multi, sink == 12345.678 ? " " : "");
    }
}

// FILE: repeated records {u32 name_len, name, u32 rows, u32 cols, float32[rows*cols]}.
struct Tensor {
    std::string name;
    int64_t rows = 0, cols = 0;
    std::vector<float> data;
};

std::vector<Tensor> load_weights(const std::string & path) {
    std::vector<Tensor> out;
    std::ifstream in(path, std::ios::binary);
    while (in) {
        uint32_t len = 0, rows = 0, cols = 0;
        if (!in.read(reinterpret_cast<char *>(&len), 4) || len > 4096) break;
        Tensor t;
        t.name.resize(len);
        in.read(t.name.data(), len);
        in.read(reinterpret_cast<char *>(&rows), 4);
        in.read(reinterpret_cast<char *>(&cols), 4);
        if (!in || uint64_t(rows) * cols > (uint64_t(1) << 30)) break;
        t.rows = rows;
        t.cols = cols;
        t.data.resize(size_t(rows) * cols);
        if (!in.read(reinterpret_cast<char *>(t.data.data()), std::streamsize(t.data.size() * 4))) break;
        out.push_back(std::move(t));
    }
    return out;
}

void bench_accuracy(const Options & o) {
    const std::vector<Tensor> tensors = load_weights(o.weights);
    if (tensors.empty()) {
        std::printf("\nno tensors read from %s\n", o.weights.c_str());
        return;
    }
    size_t total = 0;
    for (const Tensor & t : tensors) total += t.data.size();
    std::printf("\n### round-trip relative RMSE on real weights (%zu tensors, %zu weights, no imatrix)\n\n",
                tensors.size(), total);
    for (const Tensor & w : tensors) std::printf("%s%s [%lld, %lld]", &w == &tensors[0] ? "tensors: " : ", ", w.name.c_str(), (long long)w.cols, (long long)w.rows);
    std::printf("\n\n");
    std::printf("| type | bpw | rel RMSE (all) | rel RMSE (mean over tensors) | quantize M weights/s (%d threads) |\n", o.threads);
    std::printf("|---|---|---|---|---|\n");
    for (const TypeTraits & t : all_types()) {
        if (!wanted(o, t) || !is_quantized(t.type)) continue;
        double num = 0.0, den = 0.0, mean_rel = 0.0, secs = 0.0;
        for (const Tensor & w0 : tensors) {
            // Rows whose length is no multiple of 256 (Gemma 3 270M's 640) are regrouped k at a time
            // (to a multiple of 512, for QT4) so every type sees the same weights; a block may then span
            // two original rows.
            Tensor w;
            w.rows = w0.rows;
            w.cols = w0.cols;
            for (int64_t k = 1; k <= 8 && (w.cols % 512 != 0); k *= 2) {
                if (w0.rows % (2 * k) == 0) { w.cols = w0.cols * 2 * k; w.rows = w0.rows / (2 * k); }
            }
            if (w.cols % t.block_size != 0) continue;
            w.data = w0.data;
            w.name = w0.name;
            std::vector<uint8_t> q(row_bytes(t.type, w.cols) * size_t(w.rows));
            const auto t0 = Clock::now();
            quantize_rows(t.type, w.data.data(), q.data(), w.rows, w.cols, nullptr, o.threads);
            secs += seconds_since(t0);
            std::vector<float> y(static_cast<size_t>(w.cols));
            double tn = 0.0, td = 0.0;
            for (int64_t r = 0; r < w.rows; ++r) {
                t.dequantize_row(q.data() + size_t(r) * row_bytes(t.type, w.cols), y.data(), w.cols);
                const float * x = w.data.data() + size_t(r * w.cols);
                for (int64_t c = 0; c < w.cols; ++c) {
                    const double e = double(x[c]) - double(y[size_t(c)]);
                    tn += e * e;
                    td += double(x[c]) * double(x[c]);
                }
            }
            num += tn;
            den += td;
            mean_rel += std::sqrt(tn / td);
            if (std::getenv("QB_DEBUG")) std::printf("  %s %s %.5f\n", t.name, w.name.c_str(), std::sqrt(tn / td));
        }
        std::printf("| %s | %.4g | %.4f | %.4f | %.1f |\n", t.name, t.bits_per_weight(), std::sqrt(num / den),
                    mean_rel / double(tensors.size()), double(total) / secs / 1e6);
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char ** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--mib") o.mib = std::max(16, std::atoi(next().c_str()));
        else if (a == "--threads") o.threads = std::max(1, std::atoi(next().c_str()));
        else if (a == "--reps") o.reps = std::max(1, std::atoi(next().c_str()));
        else if (a == "--weights") o.weights = next();
        else if (a == "--accuracy-only") o.speed_off = true;
        else if (a == "--types") {
            std::string s = next();
            for (size_t p = 0; p <= s.size();) {
                const size_t q = std::min(s.find(',', p), s.size());
                if (q > p) o.types.push_back(s.substr(p, q - p));
                p = q + 1;
            }
        } else {
            std::fprintf(stderr, "usage: quant_bench [--mib N] [--threads N] [--reps N] [--weights FILE] [--types A,B]\n");
            return 1;
        }
    }
    std::printf("cpu isa: %s, threads: %d\n", std::string(cpu_isa()).c_str(), o.threads);
    if (!o.speed_off) {
        const double bw = backends::cpu::measure_read_bandwidth(o.threads, o.reps);
        std::printf("\nmemory read bandwidth (%d threads, 1 GiB, best of %d): %.1f GB/s\n", o.threads, o.reps, bw);
        bench_speed(o, bw);
    }
    bench_multirow();
    if (!o.weights.empty()) bench_accuracy(o);
    return 0;
}
