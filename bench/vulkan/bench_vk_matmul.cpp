// bench_vk_matmul — Vulkan mul_mat and get_rows for every weight type on device 0 (lavapipe here):
//   get_rows:  output rows that differ (bitwise) from quant/'s dequantize_row, of 64 looked up;
//   err m=1 / m=64: max |vulkan - f64 dot of the dequantized weights| / (||w|| * ||x||) over all
//              outputs of w [k, n] x x [k, m] (the mat-vec and the tiled kernel);
//   ms m=1 / m=64: median wall time of Executor::run() (record, submit, wait) over `reps` runs,
//              weights resident on the device, activations written before each run.
// Usage: bench_vk_matmul [k=1024] [n=1024] [reps=5] [vec] ("vec": only m = 1). lavapipe is a CPU emulation: the times say
// nothing about a GPU, only about the relative cost of the types' decoders on llvmpipe.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/vulkan/vk_backend.h"
#include "core/executor.h"
#include "quant/types.h"

using namespace quanta;

namespace {

struct Case {
    std::unique_ptr<core::Executor> ex;
    core::Tensor w, x, ids, out, rows;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char ** argv) {
    const int64_t k0 = argc > 1 ? std::atoll(argv[1]) : 1024;
    const int64_t n = argc > 2 ? std::atoll(argv[2]) : 1024;
    const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
    const bool vec_only = argc > 4 && std::string(argv[4]) == "vec";
    auto vk = backends::vulkan::VkBackend::create(0);
    if (!vk.ok()) {
        std::fprintf(stderr, "bench_vk_matmul: %s\n", vk.status().message().c_str());
        return 1;
    }
    backends::cpu::CpuBackend cpu(1);
    std::printf("device: %s; w [k=%lld, n=%lld] x x [k, m]; %d runs, median\n\n", std::string((*vk)->name()).c_str(),
                (long long)k0, (long long)n, reps);
    std::printf("| type | k | get_rows rows != quant/ (of 64) | err m=1 | err m=64 | ms m=1 | ms m=64 |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (tr.activation_only) continue;
        const int64_t k = tr.block_size == 1 ? k0 : std::max<int64_t>(tr.block_size, k0 / tr.block_size * tr.block_size);
        const size_t rb = quant::row_bytes(tr.type, k);
        std::vector<float> raw(size_t(k * n)), deq(size_t(k * n));
        for (float & v : raw) v = dist(rng);
        std::vector<uint8_t> wq(rb * size_t(n));
        quant::quantize_rows(tr.type, raw.data(), wq.data(), n, k, nullptr, 2);
        for (int64_t r = 0; r < n; ++r) tr.dequantize_row(wq.data() + size_t(r) * rb, deq.data() + r * k, k);

        double err[2] = {0, 0}, ms[2] = {0, 0};
        int bad_rows = 0;
        const int64_t ms_m[2] = {1, 64};
        for (int t = 0; t < (vec_only ? 1 : 2); ++t) {
            const int64_t m = ms_m[t];
            core::GraphBuilder g;
            core::Tensor w = g.input("w", tr.type, {k, n});
            core::Tensor x = g.input("x", Type::F32, {k, m});
            core::Tensor ids = g.input("ids", core::kI32, {64});
            core::Tensor out = g.mul_mat(w, x);
            core::Tensor rows = g.get_rows(w, ids);
            g.mark_output(out);
            g.mark_output(rows);
            auto graph = g.build();
            if (!graph.ok()) { std::fprintf(stderr, "%s\n", graph.status().message().c_str()); return 1; }
            core::ExecutorOptions opts;
            opts.cpu = &cpu;
            opts.gpu = vk->get();
            opts.gpu_outside_layers = true;
            auto ex = core::Executor::create(std::move(*graph), opts);
            if (!ex.ok()) { std::fprintf(stderr, "%s\n", ex.status().message().c_str()); return 1; }
            core::Executor & e = **ex;
            std::vector<float> xh(size_t(k * m));
            for (float & v : xh) v = dist(rng);
            std::vector<int32_t> idh(64);
            for (int i = 0; i < 64; ++i) idh[size_t(i)] = int32_t((i * 7919) % n);
            Status s = e.bind_new(w, **vk);
            if (s.ok()) s = e.bind_new(x, **vk);
            if (s.ok()) s = e.bind_new(ids, **vk);
            if (s.ok()) s = e.write(w, wq.data(), wq.size());
            if (s.ok()) s = e.write(ids, idh.data(), idh.size() * 4);
            std::vector<double> times;
            for (int rep = 0; rep <= reps && s.ok(); ++rep) {  // rep 0 compiles pipelines: not timed
                s = e.write(x, xh.data(), xh.size() * 4);
                const auto t0 = std::chrono::steady_clock::now();
                if (s.ok()) s = e.run();
                const auto t1 = std::chrono::steady_clock::now();
                if (rep > 0) times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            }
            std::vector<float> got(size_t(n * m)), rowsf(size_t(k * 64));
            if (s.ok()) s = e.read(out, got.data(), got.size() * 4);
            if (s.ok()) s = e.read(rows, rowsf.data(), rowsf.size() * 4);
            if (!s.ok()) { std::fprintf(stderr, "%s: %s\n", tr.name, s.message().c_str()); return 1; }
            ms[t] = median(times);
            for (int64_t j = 0; j < m; ++j) {
                const float * xr = xh.data() + j * k;
                double xx = 0;
                for (int64_t i = 0; i < k; ++i) xx += double(xr[i]) * xr[i];
                for (int64_t r = 0; r < n; ++r) {
                    const float * wr = deq.data() + r * k;
                    double ref = 0, ww = 0;
                    for (int64_t i = 0; i < k; ++i) { ref += double(wr[i]) * xr[i]; ww += double(wr[i]) * wr[i]; }
                    err[t] = std::max(err[t], std::fabs(double(got[size_t(j * n + r)]) - ref) / std::sqrt(ww * xx));
                }
            }
            if (t == 0) {
                for (int i = 0; i < 64; ++i) {
                    bad_rows += std::memcmp(rowsf.data() + i * k, deq.data() + idh[size_t(i)] * k, size_t(k) * 4) != 0;
                }
            }
        }
        std::printf("| %s | %lld | %d | %.1e | %.1e | %.2f | %.1f |\n", tr.name, (long long)k, bad_rows, err[0], err[1],
                    ms[0], ms[1]);
        std::fflush(stdout);
    }
    return 0;
}
