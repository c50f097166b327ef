// backends/cpu/read_bandwidth.h — how fast this machine streams memory into its cores: the yardstick
// that decode speed is reported against (`quanta bench`, bench_matvec, bench_quant).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace quanta::backends::cpu {

// A buffer for read_bandwidth_pass: `bytes` of 64-bit words, every page touched.
std::vector<uint64_t> bandwidth_buffer(size_t bytes = size_t(1) << 30);

// GB/s of one pass over buf on `threads` threads, each summing its contiguous share with 64-bit
// adds into 4 accumulators (sequential loads, nothing else: a floor on what the memory delivers).
double read_bandwidth_pass(std::span<const uint64_t> buf, int threads);

// Best of `passes` passes over a fresh 1 GiB buffer.
double measure_read_bandwidth(int threads, int passes = 3);

}  // namespace quanta::backends::cpu
