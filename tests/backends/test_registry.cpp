// tests/backends/test_registry.cpp — backend creation by name, and zero-copy binding of host
// memory (how mmap'd weights reach the CPU backend).
#include <catch2/catch.hpp>

#include <cstring>

#include "backends/registry.h"
#include "core/executor.h"

using namespace quanta;

TEST_CASE("registry: cpu is created by name and unknown names are reported", "[backends][registry]") {
    Result<std::unique_ptr<core::Backend>> cpu = backends::create_backend("cpu");
    REQUIRE(cpu.ok());
    CHECK(cpu.value()->name() == "cpu");
    Result<std::unique_ptr<core::Backend>> bad = backends::create_backend("tpu", 0);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().message().find("'tpu'") != std::string::npos);
}

TEST_CASE("executor: bind_host wraps host memory without a copy on the cpu backend", "[backends][registry]") {
    std::unique_ptr<core::Backend> cpu = backends::create_cpu_backend(2);
    core::GraphBuilder g;
    core::Tensor w = g.weight("w", Type::F32, {4, 2});
    core::Tensor x = g.input("x", Type::F32, {4});
    core::Tensor y = g.mul_mat(w, x);
    g.mark_output(y);
    Result<core::Graph> graph = g.build();
    REQUIRE(graph.ok());
    core::ExecutorOptions o;
    o.cpu = cpu.get();
    auto ex = core::Executor::create(graph.value(), o);
    REQUIRE(ex.ok());
    float wdata[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float xdata[4] = {1, 0, 0, 1};
    REQUIRE(ex.value()->bind_host(w, *cpu, wdata, sizeof wdata).ok());
    REQUIRE(ex.value()->bind_host(x, *cpu, xdata, sizeof xdata).ok());
    CHECK_FALSE(ex.value()->bind_host(x, *cpu, xdata, 3).ok());
    REQUIRE(ex.value()->run().ok());
    float out[2];
    REQUIRE(ex.value()->read(y, out, sizeof out).ok());
    CHECK(out[0] == 5.0f);
    CHECK(out[1] == 13.0f);
    wdata[0] = 11;  // the binding aliases the caller's bytes: no copy was made
    REQUIRE(ex.value()->run().ok());
    REQUIRE(ex.value()->read(y, out, sizeof out).ok());
    CHECK(out[0] == 15.0f);
}
