// backends/cpu/thread_pool.cpp — fork/join and barrier on atomics (see thread_pool.h).
#include "backends/cpu/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QUANTA_PAUSE() _mm_pause()
#else
#define QUANTA_PAUSE() std::this_thread::yield()
#endif

namespace quanta::backends::cpu {

namespace {

constexpr int kSpins = 4096;

// Waits until `a` differs from `old`: spins first, then sleeps on the futex.
template <typename T>
void wait_change(const std::atomic<T> & a, T old) {
    for (int i = 0; i < kSpins; ++i) {
        if (a.load(std::memory_order_acquire) != old) return;
        QUANTA_PAUSE();
    }
    while (a.load(std::memory_order_acquire) == old) a.wait(old, std::memory_order_acquire);
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    for (int i = 1; i < n_threads_; ++i) threads_.emplace_back(&ThreadPool::worker, this, i);
}

ThreadPool::~ThreadPool() {
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    for (std::thread & t : threads_) t.join();
}

void ThreadPool::worker(int ith) {
    uint32_t seen = 0;
    for (;;) {
        wait_change(generation_, seen);
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_acquire)) return;
        job_(job_ctx_, ith);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
}

void ThreadPool::run(JobFn fn, void * ctx) {
    if (n_threads_ == 1) {
        fn(ctx, 0);
        return;
    }
    job_ = fn;
    job_ctx_ = ctx;
    pending_.store(n_threads_ - 1, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    fn(ctx, 0);
    for (int left = pending_.load(std::memory_order_acquire); left != 0; left = pending_.load(std::memory_order_acquire)) {
        wait_change(pending_, left);
    }
}

void ThreadPool::barrier() {
    if (n_threads_ == 1) return;
    const uint32_t gen = barrier_generation_.load(std::memory_order_acquire);
    if (barrier_count_.fetch_add(1, std::memory_order_acq_rel) == n_threads_ - 1) {
        barrier_count_.store(0, std::memory_order_relaxed);
        barrier_generation_.fetch_add(1, std::memory_order_acq_rel);
        barrier_generation_.notify_all();
        return;
    }
    wait_change(barrier_generation_, gen);
}

int ThreadPool::default_threads() {
    // Count distinct (physical id, core id) pairs; fall back to half the hardware threads.
    std::ifstream in("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> cores;
    std::string line, phys = "0";
    while (std::getline(in, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = line.substr(0, line.find_first_of(" \t"));
        const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        if (key == "physical") phys = value;
        if (key == "core" && line.rfind("core id", 0) == 0) cores.insert({phys, value});
    }
    if (!cores.empty()) return int(cores.size());
    const unsigned hw = std::thread::hardware_concurrency();
    return std::max(1, int(hw));
}

}  // namespace quanta::backends::cpu
