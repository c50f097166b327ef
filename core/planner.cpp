// core/planner.cpp — best-fit interval placement with a coalescing free list (see planner.h).
#include "core/planner.h"

#include <algorithm>
#include <map>

#include "quant/status.h"

namespace quanta::core {

namespace {

int64_t align_up(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

// Free blocks keyed by offset; adjacent blocks are merged, a block touching the top is dropped
// (the top simply moves down).
class Arena {
public:
    int64_t alloc(int64_t size) {
        auto best = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it) {
            if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
        }
        if (best != free_.end()) {
            const int64_t off = best->first;
            const int64_t rest = best->second - size;
            free_.erase(best);
            if (rest > 0) free_[off + size] = rest;
            return off;
        }
        const int64_t off = top_;
        top_ += size;
        peak_ = std::max(peak_, top_);
        return off;
    }

    void release(int64_t off, int64_t size) {
        auto next = free_.lower_bound(off);
        if (next != free_.end() && next->first == off + size) {
            size += next->second;
            next = free_.erase(next);
        }
        if (next != free_.begin()) {
            auto prev = std::prev(next);
            if (prev->first + prev->second == off) {
                off = prev->first;
                size += prev->second;
                free_.erase(prev);
            }
        }
        if (off + size == top_) {
            top_ = off;
        } else {
            free_[off] = size;
        }
    }

    int64_t peak() const { return peak_; }

private:
    std::map<int64_t, int64_t> free_;
    int64_t top_ = 0;
    int64_t peak_ = 0;
};

}  // namespace

MemoryPlan plan_memory(std::span<const Lifetime> items, int64_t alignment, bool reuse) {
    QUANTA_CHECK(alignment > 0);
    MemoryPlan plan;
    plan.offsets.assign(items.size(), 0);
    int n_steps = 0;
    for (const Lifetime & it : items) {
        QUANTA_CHECK(it.first >= 0 && it.last >= it.first && it.bytes >= 0);
        n_steps = std::max(n_steps, it.last + 1);
        plan.unshared += align_up(std::max<int64_t>(it.bytes, 1), alignment);
    }
    if (!reuse) {
        int64_t off = 0;
        for (size_t i = 0; i < items.size(); ++i) {
            plan.offsets[i] = off;
            off += align_up(std::max<int64_t>(items[i].bytes, 1), alignment);
        }
        plan.peak = off;
        return plan;
    }
    std::vector<std::vector<int>> starts(static_cast<size_t>(n_steps));
    std::vector<std::vector<int>> ends(static_cast<size_t>(n_steps));
    for (size_t i = 0; i < items.size(); ++i) {
        starts[size_t(items[i].first)].push_back(int(i));
        ends[size_t(items[i].last)].push_back(int(i));
    }
    Arena arena;
    for (int s = 0; s < n_steps; ++s) {
        for (int i : starts[size_t(s)]) {
            plan.offsets[size_t(i)] = arena.alloc(align_up(std::max<int64_t>(items[size_t(i)].bytes, 1), alignment));
        }
        for (int i : ends[size_t(s)]) {
            arena.release(plan.offsets[size_t(i)], align_up(std::max<int64_t>(items[size_t(i)].bytes, 1), alignment));
        }
    }
    plan.peak = arena.peak();
    return plan;
}

bool plan_has_alias(std::span<const Lifetime> items, const MemoryPlan & plan) {
    for (size_t i = 0; i < items.size(); ++i) {
        for (size_t j = i + 1; j < items.size(); ++j) {
            const bool live_together = items[i].first <= items[j].last && items[j].first <= items[i].last;
            const bool bytes_overlap = plan.offsets[i] < plan.offsets[j] + items[j].bytes &&
                                       plan.offsets[j] < plan.offsets[i] + items[i].bytes;
            if (live_together && bytes_overlap && items[i].bytes > 0 && items[j].bytes > 0) return true;
        }
    }
    return false;
}

}  // namespace quanta::core
