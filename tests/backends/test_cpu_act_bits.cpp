// tests/backends/test_cpu_act_bits.cpp — mul_mat's 16-bit activations (MulMatParams::act_bits 16,
// `--act-bits 16`): each activation row is quantized to the weight type's dot_with twice (hi, then
// the rescaled residual lo), so the dot error against the exact f64 product must shrink by a large
// factor on heavy-tailed activations (one large value per block sets the 8-bit step for the rest,
// as in Gemma's GELU-gated FFN input), with the same kernels, 1 and 2 threads bit-identical, for
// mat-vec (one token: single-row dots) and many tokens (multi-row dots, odd counts).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "core/executor.h"
#include "quant/types.h"

using namespace quanta;

namespace {

// w: N rows of K f32 values quantized to wt (deq gets the exact weights); x: M rows of K f32.
std::vector<float> run_mul_mat(Type wt, const std::vector<uint8_t> & wbytes, const std::vector<float> & x, int64_t K,
                               int64_t N, int64_t M, int act_bits, int nth, Type xt = Type::F32) {
    core::GraphBuilder g;
    core::Tensor tw = g.input("w", wt, {K, N});
    core::Tensor tx = g.input("x", xt, {K, M});
    core::MulMatParams p;
    p.act_bits = act_bits;
    core::Tensor out = g.mul_mat(tw, tx, p);
    g.mark_output(out);
    auto graph = g.build();
    INFO(graph.status().message());
    REQUIRE(graph.ok());
    backends::cpu::CpuBackend cpu(nth);
    core::ExecutorOptions eo;
    eo.cpu = &cpu;
    auto ex = core::Executor::create(std::move(graph.value()), eo);
    REQUIRE(ex.ok());
    core::Executor & e = **ex;
    REQUIRE(e.bind_new(tw, cpu).ok());
    REQUIRE(e.bind_new(tx, cpu).ok());
    REQUIRE(e.write(tw, wbytes.data(), wbytes.size()).ok());
    std::vector<uint8_t> xbytes(core::type_row_bytes(xt, K) * size_t(M));
    for (int64_t m = 0; m < M; ++m) {
        quant::traits(xt).quantize_row(x.data() + m * K, xbytes.data() + size_t(m) * core::type_row_bytes(xt, K), K,
                                       nullptr);
    }
    REQUIRE(e.write(tx, xbytes.data(), xbytes.size()).ok());
    Status s = e.run();
    INFO(s.message());
    REQUIRE(s.ok());
    std::vector<float> got(size_t(N * M));
    REQUIRE(e.read(out, got.data(), got.size() * sizeof(float)).ok());
    return got;
}

// Heavy-tailed activations: Student-t with 2 degrees of freedom (infinite variance), plus a rare
// large outlier, so most blocks hold one value far above the others.
std::vector<float> heavy_tailed(std::mt19937 & rng, size_t n) {
    std::student_t_distribution<float> t(2.0f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<float> x(n);
    for (float & v : x) v = t(rng) * (u(rng) < 0.01f ? 30.0f : 1.0f);
    return x;
}

double rms(const std::vector<float> & got, const std::vector<double> & ref) {
    double s = 0;
    for (size_t i = 0; i < got.size(); ++i) s += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
    return std::sqrt(s / double(got.size()));
}

struct Errors {
    double e8 = 0, e16 = 0, ref_rms = 0;
};

// Errors of the 8- and 16-bit paths against the f64 product of the dequantized weights and the
// unrounded activations, for M tokens; 1 and 2 threads must agree bit for bit.
Errors errors(Type wt, int64_t K, int64_t N, int64_t M, uint32_t seed, Type xt = Type::F32) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 0.05f);
    std::vector<float> wf(size_t(N * K));
    for (float & v : wf) v = nd(rng);
    const size_t rb = core::type_row_bytes(wt, K);
    std::vector<uint8_t> wb(rb * size_t(N));
    std::vector<float> wd(size_t(N * K));
    for (int64_t n = 0; n < N; ++n) {
        quant::traits(wt).quantize_row(wf.data() + n * K, wb.data() + size_t(n) * rb, K, nullptr);
        quant::traits(wt).dequantize_row(wb.data() + size_t(n) * rb, wd.data() + n * K, K);
    }
    std::vector<float> x = heavy_tailed(rng, size_t(M * K));
    if (xt == Type::F16) {  // the reference sees what the kernel reads
        std::vector<uint8_t> h(core::type_row_bytes(Type::F16, K));
        for (int64_t m = 0; m < M; ++m) {
            quant::traits(Type::F16).quantize_row(x.data() + m * K, h.data(), K, nullptr);
            quant::traits(Type::F16).dequantize_row(h.data(), x.data() + m * K, K);
        }
    }
    std::vector<double> ref(size_t(N * M));
    Errors e;
    for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += double(wd[size_t(n * K + k)]) * double(x[size_t(m * K + k)]);
            ref[size_t(m * N + n)] = s;
            e.ref_rms += s * s;
        }
    }
    e.ref_rms = std::sqrt(e.ref_rms / double(ref.size()));
    std::vector<float> g8 = run_mul_mat(wt, wb, x, K, N, M, 8, 1, xt);
    std::vector<float> g16 = run_mul_mat(wt, wb, x, K, N, M, 16, 1, xt);
    REQUIRE(g16 == run_mul_mat(wt, wb, x, K, N, M, 16, 2, xt));
    e.e8 = rms(g8, ref);
    e.e16 = rms(g16, ref);
    return e;
}

}  // namespace

TEST_CASE("mul_mat act_bits 16: dot error at least 50x below 8-bit on heavy-tailed activations", "[cpu][ops]") {
    const int64_t K = 1024, N = 24;
    for (Type wt : {Type::Q8_0, Type::Q5_0, Type::Q4_K, Type::Q6_K}) {
        for (int64_t M : {int64_t(1), int64_t(7)}) {  // mat-vec, and multi-row dots with an odd tail
            const Errors e = errors(wt, K, N, M, uint32_t(wt) * 31 + uint32_t(M));
            INFO(core::type_name(wt) << " M=" << M << ": rms error 8-bit " << e.e8 << ", 16-bit " << e.e16
                                     << " (result rms " << e.ref_rms << ", ratio " << e.e8 / e.e16 << ")");
            CHECK(e.e8 > 1e-4 * e.ref_rms);  // the 8-bit path really rounds (the comparison means something)
            CHECK(e.e16 * 50.0 <= e.e8);
        }
    }
}

TEST_CASE("mul_mat act_bits 16: every weight type with a quantized dot_with improves / f16 activations too", "[cpu][ops]") {
    const int64_t K = 512, N = 8, M = 5;
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (tr.activation_only || !tr.dot_row || !tr.dequantize_row || tr.dot_with == Type::F32) continue;
        const Errors e = errors(tr.type, K, N, M, uint32_t(tr.type) + 7);
        INFO(tr.name << ": rms error 8-bit " << e.e8 << ", 16-bit " << e.e16 << " (ratio " << e.e8 / e.e16 << ")");
        // Q8_1's fp16 block sum (Q4_1, Q5_1) leaves a floor on the hi row: a smaller gain there.
        CHECK(e.e16 * (tr.dot_with == Type::Q8_1 ? 5.0 : 50.0) <= e.e8);
    }
    const Errors h = errors(Type::Q4_K, K, N, M, 99, Type::F16);
    INFO("Q4_K, f16 activations: 8-bit " << h.e8 << ", 16-bit " << h.e16);
    CHECK(h.e16 * 50.0 <= h.e8);
}

TEST_CASE("mul_mat act_bits 16: weights whose dot_with is F32 give the same bits as 8", "[cpu][ops]") {
    const int64_t K = 96, N = 5, M = 6;
    for (Type wt : {Type::F32, Type::F16, Type::BF16}) {
        if (quant::traits(wt).dot_with != Type::F32) continue;
        std::mt19937 rng{uint32_t(wt)};
        std::normal_distribution<float> nd;
        std::vector<float> wf(size_t(N * K));
        for (float & v : wf) v = nd(rng);
        std::vector<uint8_t> wb(core::type_row_bytes(wt, K) * size_t(N));
        for (int64_t n = 0; n < N; ++n) {
            quant::traits(wt).quantize_row(wf.data() + n * K, wb.data() + size_t(n) * core::type_row_bytes(wt, K), K,
                                           nullptr);
        }
        std::vector<float> x = heavy_tailed(rng, size_t(M * K));
        INFO(core::type_name(wt));
        CHECK(run_mul_mat(wt, wb, x, K, N, M, 8, 2) == run_mul_mat(wt, wb, x, K, N, M, 16, 2));
    }
}

TEST_CASE("mul_mat: activation bits other than 8 or 16 are refused where the node is built", "[cpu][ops]") {
    core::GraphBuilder g;
    core::Tensor w = g.input("w", Type::Q8_0, {64, 4});
    core::Tensor x = g.input("x", Type::F32, {64, 2});
    core::MulMatParams p;
    p.act_bits = 12;
    g.mul_mat(w, x, p);
    auto graph = g.build();
    REQUIRE_FALSE(graph.ok());
    CHECK(graph.status().message().find("activation bits 12") != std::string::npos);
}
