// backends/cpu/thread_pool.h — a persistent pool of worker threads with a cheap fork/join and an
// in-job barrier.
//
// run(job) wakes every worker, runs job(ith) on each (the caller is thread 0) and returns when all
// are done: one wake-up per Backend::run call, not per op, since the CPU backend runs a whole
// sequence of nodes inside one job with barrier() between them. Waiting spins briefly (a node
// typically takes microseconds) and then sleeps on a futex (std::atomic::wait), so idle pools and
// oversubscribed machines do not burn cores.
// Thread safety: run() is called by one thread at a time; barrier() only from inside a job.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace quanta::backends::cpu {

class ThreadPool {
public:
    using JobFn = void (*)(void * ctx, int ith);

    explicit ThreadPool(int n_threads);  // n_threads >= 1 (includes the caller)
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool & operator=(const ThreadPool &) = delete;

    int size() const { return n_threads_; }
    void run(JobFn fn, void * ctx);
    void barrier();

    // Physical cores of this machine (hardware threads / 2 where SMT is on), at least 1.
    static int default_threads();

private:
    void worker(int ith);

    int n_threads_;
    std::vector<std::thread> threads_;
    JobFn job_ = nullptr;
    void * job_ctx_ = nullptr;
    alignas(64) std::atomic<uint32_t> generation_{0};
    alignas(64) std::atomic<int> pending_{0};
    alignas(64) std::atomic<int> barrier_count_{0};
    alignas(64) std::atomic<uint32_t> barrier_generation_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace quanta::backends::cpu
