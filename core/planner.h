// core/planner.h — liveness-based placement of intermediate tensors in one arena per backend.
//
// Each item lives from the step that writes it (first) to the last step that reads it (last),
// both inclusive. Items whose lifetimes overlap never share bytes; an item may reuse bytes of
// items that died at an earlier step. A step's outputs are placed before the step's dead inputs
// are freed, so an op never writes over its own sources. Best fit over a coalescing free list;
// the arena grows at the top when no free block fits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace quanta::core {

struct Lifetime {
    int64_t bytes = 0;
    int first = 0;  // step index, inclusive
    int last = 0;   // step index, inclusive (>= first)
};

struct MemoryPlan {
    std::vector<int64_t> offsets;  // one per item, aligned
    int64_t peak = 0;              // arena bytes needed (the planned peak)
    int64_t unshared = 0;          // bytes without reuse (sum of aligned sizes), for comparison
};

// reuse = false gives every item its own bytes (the reference for aliasing tests).
MemoryPlan plan_memory(std::span<const Lifetime> items, int64_t alignment, bool reuse);

// True when two items with overlapping lifetimes overlap in bytes (a planner bug).
bool plan_has_alias(std::span<const Lifetime> items, const MemoryPlan & plan);

}  // namespace quanta::core
