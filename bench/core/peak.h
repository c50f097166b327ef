// bench/core/peak.h — measured ceilings of this machine for the core benchmark.
#pragma once

#include <string>

#include "backends/cpu/thread_pool.h"

namespace quanta::bench {

struct Peak {
    double read_gbs = 0;      // streaming read bandwidth, GB/s (1e9 bytes), all threads
    double peak_gflops = 0;   // FMA throughput of the widest SIMD unit, all threads
    std::string simd;
};

Peak measure_peak(backends::cpu::ThreadPool & pool);

}  // namespace quanta::bench
