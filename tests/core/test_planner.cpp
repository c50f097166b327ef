// tests/core/test_planner.cpp — the memory planner never overlaps live items, reuses dead ones,
// and keeps a step's outputs apart from its inputs.
#include <catch2/catch.hpp>

#include <random>

#include "core/planner.h"

using namespace quanta::core;

TEST_CASE("planner: random lifetimes never alias and reuse memory", "[core][planner]") {
    std::mt19937 rng(1);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<Lifetime> items;
        const int n = 1 + int(rng() % 60);
        for (int i = 0; i < n; ++i) {
            const int first = int(rng() % 40);
            items.push_back({int64_t(1 + rng() % 5000), first, first + int(rng() % 10)});
        }
        const MemoryPlan plan = plan_memory(items, 64, true);
        REQUIRE_FALSE(plan_has_alias(items, plan));
        CHECK(plan.peak <= plan.unshared);
        for (int64_t off : plan.offsets) CHECK(off % 64 == 0);
    }
}

TEST_CASE("planner: a chain needs two buffers / and outputs do not overwrite inputs", "[core][planner]") {
    // x0 -> x1 -> x2 -> ... each read only by the next step.
    std::vector<Lifetime> chain;
    for (int i = 0; i < 10; ++i) chain.push_back({1000, i, i + 1});
    const MemoryPlan plan = plan_memory(chain, 256, true);
    CHECK_FALSE(plan_has_alias(chain, plan));
    CHECK(plan.peak == 2 * 1024);
    CHECK(plan.unshared == 10 * 1024);
    const MemoryPlan flat = plan_memory(chain, 256, false);
    CHECK(flat.peak == 10 * 1024);
    CHECK_FALSE(plan_has_alias(chain, flat));
}

TEST_CASE("planner: the alias check detects overlap", "[core][planner]") {
    std::vector<Lifetime> items = {{100, 0, 3}, {100, 2, 4}};
    MemoryPlan bad;
    bad.offsets = {0, 50};
    CHECK(plan_has_alias(items, bad));
    bad.offsets = {0, 100};
    CHECK_FALSE(plan_has_alias(items, bad));
}
