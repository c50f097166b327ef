// The CUDA backend is compiled in CI for sm_80+; here it must report its devices, or say plainly why
// there are none (no driver / no GPU), without failing.
#include <catch2/catch.hpp>

#include "backends/cuda/probe.h"
#include "tests/support.h"

TEST_CASE("cuda: probe lists devices or says why not", "[cuda]") {
    auto p = quanta::backends::cuda::probe();
    CHECK(p.name == "cuda");
    CHECK(p.compiled);
    if (p.devices.empty()) {
        CHECK(p.status.find("no CUDA device") != std::string::npos);
        QUANTA_SKIP(p.status);
    }
    CHECK(p.status == "ok");
    for (const auto & d : p.devices) CHECK(d.detail.find("sm_") != std::string::npos);
}
