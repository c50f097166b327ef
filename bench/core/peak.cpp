// bench/core/peak.cpp — the machine's ceilings: streaming read bandwidth and peak FMA rate of the
// widest SIMD unit, measured with every thread of the pool.
#include "bench/core/peak.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backends/cpu/vec.h"
#include "quant/dispatch.h"

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace quanta::bench {

namespace {

using Clock = std::chrono::steady_clock;

#if defined(__x86_64__)
// 12 independent FMA chains hide the 4-cycle latency on two FMA pipes.
__attribute__((target("avx512f"))) double fma_avx512(int64_t iters) {
    __m512 a[12];
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
    for (int64_t it = 0; it < iters; ++it) {
        for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
    }
    __m512 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
    return double(_mm512_reduce_add_ps(s));
}

__attribute__((target("avx2,fma"))) double fma_avx2(int64_t iters) {
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
    for (int64_t it = 0; it < iters; ++it) {
        for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    __m256 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return double(out[0]);
}
#endif

struct PeakJob {
    int64_t iters;
    int lanes;
    std::vector<double> sink;
};

void peak_job(void * p, int ith) {
    PeakJob & j = *static_cast<PeakJob *>(p);
#if defined(__x86_64__)
    j.sink[size_t(ith)] = j.lanes == 16 ? fma_avx512(j.iters) : fma_avx2(j.iters);
#else
    j.sink[size_t(ith)] = 0;
#endif
}

struct ReadJob {
    const float * data;
    int64_t n;
    int nth;
    std::vector<double> sink;
};

void read_job(void * p, int ith) {
    ReadJob & j = *static_cast<ReadJob *>(p);
    const int64_t per = j.n / j.nth;
    const float * a = j.data + per * ith;
    j.sink[size_t(ith)] = backends::cpu::vec().dot_f32(a, a, per);
}

}  // namespace

Peak measure_peak(backends::cpu::ThreadPool & pool) {
    Peak out;
    const quant::Isa isa = quant::cpu_isa_level();
    const int lanes = (isa == quant::Isa::Avx512 || isa == quant::Isa::Avx512Vnni) ? 16 : 8;
    out.simd = lanes == 16 ? "AVX-512 FMA" : "AVX2 FMA";
    PeakJob pj{20'000'000, lanes, std::vector<double>(size_t(pool.size()))};
    pool.run(peak_job, &pj);  // warm up clocks
    const auto t0 = Clock::now();
    pool.run(peak_job, &pj);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    out.peak_gflops = 2.0 * lanes * 12.0 * double(pj.iters) * pool.size() / s / 1e9;

    const int64_t n = int64_t(256) << 20 >> 2;  // 256 MiB of floats: far past the caches
    float * data = static_cast<float *>(std::aligned_alloc(64, size_t(n) * 4));
    for (int64_t i = 0; i < n; ++i) data[i] = 1.0f;
    ReadJob rj{data, n, pool.size(), std::vector<double>(size_t(pool.size()))};
    pool.run(read_job, &rj);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        const auto r0 = Clock::now();
        pool.run(read_job, &rj);
        const double rs = std::chrono::duration<double>(Clock::now() - r0).count();
        best = std::max(best, double(n) * 4 / rs / 1e9);
    }
    out.read_gbs = best;
    std::free(data);
    return out;
}

}  // namespace quanta::bench
