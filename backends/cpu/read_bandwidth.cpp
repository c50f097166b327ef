// backends/cpu/read_bandwidth.cpp — memory read bandwidth (contract in read_bandwidth.h).
#include "backends/cpu/read_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace quanta::backends::cpu {

std::vector<uint64_t> bandwidth_buffer(size_t bytes) {
    std::vector<uint64_t> buf(bytes / sizeof(uint64_t));
    for (size_t i = 0; i < buf.size(); i += 512) buf[i] = i;  // touch every page
    return buf;
}

double read_bandwidth_pass(std::span<const uint64_t> buf, int threads) {
    const size_t n = buf.size();
    std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8);  // 64 bytes apart: no false sharing
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const size_t lo = n * size_t(t) / size_t(threads), hi = n * size_t(t + 1) / size_t(threads);
            uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (size_t i = lo; i + 4 <= hi; i += 4) {
                s0 += buf[i];
                s1 += buf[i + 1];
                s2 += buf[i + 2];
                s3 += buf[i + 3];
            }
            sums[size_t(t) * 8] = s0 + s1 + s2 + s3;
        });
    }
    for (auto & th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    volatile uint64_t sink = 0;  // keeps the sums alive
    for (uint64_t v : sums) sink = sink + v;
    return double(n * sizeof(uint64_t)) / s / 1e9;
}

double measure_read_bandwidth(int threads, int passes) {
    const std::vector<uint64_t> buf = bandwidth_buffer();
    double best = 0.0;
    for (int p = 0; p < passes; ++p) best = std::max(best, read_bandwidth_pass(buf, threads));
    return best;
}

}  // namespace quanta::backends::cpu
