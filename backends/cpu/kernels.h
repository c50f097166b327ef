// backends/cpu/kernels.h — the CPU kernel table: (op, dst type, src0 type, src1 type) -> kernel.
//
// A kernel is one function called on every thread of the pool (ith of nth) for one node; it
// splits its own work (rows, tokens, tiles) and may use the shared scratch (sized by its WorkFn)
// with ctx.barrier() between phases. A kernel must write every output element with the same
// arithmetic whatever nth is, so 1 and N threads give identical bits.
// Each op family registers its kernels with one add() line per (op, types) in its own file.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "backends/cpu/thread_pool.h"
#include "core/backend.h"
#include "core/kernel_key.h"

namespace quanta::backends::cpu {

using core::BoundNode;
using core::BoundTensor;

struct KernelCtx {
    int ith = 0;
    int nth = 1;
    ThreadPool * pool = nullptr;
    char * work = nullptr;      // shared scratch of the size the WorkFn asked for (64-byte aligned)
    size_t work_size = 0;
    void barrier() const {
        if (nth > 1) pool->barrier();  // a node run on one thread alone (nth 1) has no one to wait for
    }
    // Records a data error (an id out of range): the node finishes what it can and run() fails.
    void fail(const std::string & message) const;
    std::string * error = nullptr;  // set by the backend
    void * error_mutex = nullptr;
};

using KernelFn = void (*)(const BoundNode & n, const KernelCtx & ctx);
using WorkFn = size_t (*)(const BoundNode & n, int nth);  // shared scratch bytes; may be null

using core::kNone;  // "no such source" in a key

struct KernelEntry {
    KernelFn fn = nullptr;
    WorkFn work = nullptr;
};

class KernelTable {
public:
    void add(core::Op op, Type dst, Type src0, Type src1, KernelFn fn, WorkFn work = nullptr);
    const KernelEntry * find(const core::Node & node) const;
    bool has_op(core::Op op) const;
    size_t size() const { return table_.size(); }

private:
    std::unordered_map<uint64_t, KernelEntry> table_;  // by core::kernel_key
};

// One registration function per op family (kernels_*.cpp), called by the CpuBackend constructor.
void register_elementwise(KernelTable & t);
void register_norm_rope(KernelTable & t);
void register_matmul(KernelTable & t);
void register_attention(KernelTable & t);
void register_copy(KernelTable & t);

// Splits [0, n) into nth contiguous parts; thread ith gets [begin, end).
inline void split_range(int64_t n, int ith, int nth, int64_t & begin, int64_t & end) {
    const int64_t per = (n + nth - 1) / nth;
    begin = std::min<int64_t>(n, per * ith);
    end = std::min<int64_t>(n, begin + per);
}

// Row r (over dims 1..3) of a tensor: byte address of its first element.
inline char * row_ptr(const BoundTensor & t, int64_t i1, int64_t i2, int64_t i3) {
    return t.host<char>() + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
}

}  // namespace quanta::backends::cpu

namespace quanta::backends::cpu {

// Splits a flat row index over dims 1..3 of t.
inline void row_index(const BoundTensor & t, int64_t r, int64_t & i1, int64_t & i2, int64_t & i3) {
    i1 = r % t.ne[1];
    i2 = (r / t.ne[1]) % t.ne[2];
    i3 = r / (t.ne[1] * t.ne[2]);
}

// Calls f(r, i1, i2, i3) for each row of t (dims 1..3) in this thread's contiguous share, r being
// the flat row index. A template, so f inlines into the loop.
template <typename F>
inline void for_each_row(const BoundTensor & t, const KernelCtx & ctx, F && f) {
    int64_t r0, r1;
    split_range(t.nrows(), ctx.ith, ctx.nth, r0, r1);
    for (int64_t r = r0; r < r1; ++r) {
        int64_t i1, i2, i3;
        row_index(t, r, i1, i2, i3);
        f(r, i1, i2, i3);
    }
}

// True when row id `id`, read at index `at` of an ids tensor, lies in [0, n); otherwise records the
// data error on ctx ("<what> <id> at <at> is out of range [0, <n>)") and the caller skips the row.
inline bool row_id_in_range(int64_t id, int64_t at, int64_t n, const char * what, const KernelCtx & ctx) {
    if (id >= 0 && id < n) return true;
    ctx.fail(std::string(what) + " " + std::to_string(id) + " at " + std::to_string(at) + " is out of range [0, " +
             std::to_string(n) + ")");
    return false;
}

// Keys [lo, hi) visible to a query at position pos among n_kv keys (key j has position j); see
// core::AttentionParams. Positions come from user data, so any value is clamped, never trusted.
inline void visible_keys(int64_t pos, int64_t n_kv, bool causal, int64_t window, int64_t & lo, int64_t & hi) {
    hi = causal ? std::min<int64_t>(n_kv, std::max<int64_t>(pos + 1, 0)) : n_kv;
    lo = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
    if (lo > hi) lo = hi;
}

// The keys one query sees, as runs of consecutive cache slots (core::AttentionParams): without
// kpos the single range visible_keys() gives; with kpos (slot j holds position kpos[j], -1 empty;
// any order, as in a ring buffer) every maximal run of visible slots. next() yields the runs in
// slot order, each cut to at most max_len slots.
class KeyRuns {
public:
    KeyRuns(const int32_t * kpos, int64_t n_kv, int64_t pos, bool causal, int64_t window)
        : kpos_(kpos), n_kv_(n_kv), pos_(pos), causal_(causal), window_(window) {
        if (!kpos_) visible_keys(pos, n_kv, causal, window, j_, end_);
        else end_ = n_kv;
    }
    bool visible(int64_t j) const {
        const int64_t kp = kpos_[j];
        return kp >= 0 && (!causal_ || kp <= pos_) && (window_ == 0 || pos_ - kp < window_);
    }
    bool next(int64_t max_len, int64_t & b, int64_t & e) {
        if (kpos_) {
            while (j_ < end_ && !visible(j_)) ++j_;
        }
        if (j_ >= end_) return false;
        b = j_;
        e = std::min(end_, b + max_len);
        if (kpos_) {
            int64_t j = b + 1;
            while (j < e && visible(j)) ++j;
            e = j;
        }
        j_ = e;
        return true;
    }

private:
    const int32_t * kpos_;
    int64_t n_kv_, pos_;
    bool causal_;
    int64_t window_;
    int64_t j_ = 0, end_ = 0;
};

}  // namespace quanta::backends::cpu
