// tests/backends/cuda/test_cuda_ops.cpp — every CUDA kernel against the CPU backend (itself held to
// naive references by tests/backends/test_cpu_ops.cpp) on random inputs at many shapes: odd
// extents, every weight type in the CUDA table, GQA, broadcasting, all rope variants, attention
// masks with and without kpos. The CUDA backend poisons every output (0xFF bytes, NaN) before its
// kernel runs, so an element a kernel forgets to write fails the comparison. Every case also
// requires that no node fell back to the CPU (the executor's stats), so a passing case ran on the
// GPU. Without a CUDA device each test prints QUANTA_SKIP with the runtime's reason.
//
// Tolerances. Where both backends do the same float arithmetic (copy, set_rows, get_rows, argmax)
// the results must be equal or within 1e-6 (FMA contraction). mul_mat differs by design: the CPU
// quantizes activations to the weight's dot_with type (Q8_0 / Q8_K / Q8_KH), the GPU keeps them in
// f32, so the GPU is held to the exact double-precision product of the dequantized weights (2e-4
// of the largest output; 1e-2 on the tensor-core path for more than 8 columns, whose inputs are
// bf16) and to the CPU within 5e-2. Attention with a Q8_0 cache differs the same
// way (the CPU quantizes the query to Q8_0).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <random>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/ops/flash_attention.h"
#include "backends/registry.h"
#include "quant/random_blocks.h"
#include "tests/backends/op_harness.h"
#include "tests/support.h"

using namespace quanta;
using namespace quanta::test;
using backends::cuda::CudaBackend;

namespace {

// The device, or the reason there is none (cudaGetDeviceCount's error where no driver exists).
CudaBackend * cuda_or_reason(std::string & why) {
    static std::unique_ptr<CudaBackend> backend;
    static std::string reason;
    static bool tried = false;
    if (!tried) {
        tried = true;
        auto r = CudaBackend::create(0);
        if (r.ok()) backend = std::move(r.value());
        else reason = r.status().message();
    }
    why = reason;
    if (backend) backend->set_poison(true);
    return backend.get();
}

#define REQUIRE_CUDA(var)                     \
    std::string why_##var;                    \
    CudaBackend * var = cuda_or_reason(why_##var); \
    if (!var) QUANTA_SKIP(why_##var)

// An executor over `graph` that puts every node it can on `gpu` (outside layers too), the rest on
// `cpu` (which must outlive it).
std::unique_ptr<core::Executor> gpu_executor(core::Graph graph, backends::cpu::CpuBackend & cpu, CudaBackend & gpu) {
    core::ExecutorOptions o;
    o.cpu = &cpu;
    o.gpu = &gpu;
    o.gpu_outside_layers = true;
    auto ex = core::Executor::create(std::move(graph), o);
    REQUIRE(ex.ok());
    return std::move(ex.value());
}

// Runs `outs` of the case on the CPU alone and on CUDA (every node preferring the GPU); requires
// that CUDA took every node, returns {cpu results, gpu results}.
std::pair<std::vector<std::vector<float>>, std::vector<std::vector<float>>> cpu_and_gpu(OpCase & c, CudaBackend & gpu,
                                                                                        const std::vector<Tensor> & outs) {
    std::vector<std::vector<float>> cpu = c.run(outs, 2);
    core::ExecutorOptions o;
    o.gpu = &gpu;
    o.gpu_outside_layers = true;
    std::vector<std::vector<float>> got = c.run(outs, 2, &o);
    INFO("nodes on cuda " << (c.last_stats.nodes_on.size() > 1 ? c.last_stats.nodes_on[1] : -1) << ", fallbacks "
                          << c.last_stats.fallbacks);
    REQUIRE(c.last_stats.fallbacks == 0);
    REQUIRE(c.last_stats.nodes_on.size() == 2);
    REQUIRE(c.last_stats.nodes_on[1] > 0);
    return {cpu, got};
}

std::vector<double> as_double(const std::vector<float> & v) { return std::vector<double>(v.begin(), v.end()); }

bool no_nan(const std::vector<float> & v) {
    return std::none_of(v.begin(), v.end(), [](float x) { return std::isnan(x); });
}

std::vector<Type> cuda_weight_types(const CudaBackend & b) {
    std::vector<Type> out;
    for (const quant::TypeTraits & t : quant::all_types()) {
        if (!t.activation_only && b.kernels().has(core::Op::MulMat, Type::F32, t.type, Type::F32)) out.push_back(t.type);
    }
    return out;
}

// f64 mul_mat of the decoded weights w [K, N, b2] and activations x [K, M, B2] (GQA: activation
// batch i2 reads weight batch i2 / (B2 / b2)), laid out as the op's output [N, M, B2].
std::vector<double> exact_mul_mat(const std::vector<float> & w, const std::vector<float> & x, int64_t K, int64_t N,
                                  int64_t M, int64_t b2, int64_t B2) {
    std::vector<double> exact(size_t(N * M * B2));
    for (int64_t i2 = 0; i2 < B2; ++i2) {
        for (int64_t m = 0; m < M; ++m) {
            for (int64_t n = 0; n < N; ++n) {
                double s = 0;
                const float * wr = &w[size_t(((i2 / (B2 / b2)) * N + n) * K)];
                const float * xr = &x[size_t((i2 * M + m) * K)];
                for (int64_t k = 0; k < K; ++k) s += double(wr[k]) * double(xr[k]);
                exact[size_t((i2 * M + m) * N + n)] = s;
            }
        }
    }
    return exact;
}

}  // namespace

TEST_CASE("cuda: the kernel table covers every op and the weight types of issue #10", "[cuda]") {
    // Registration only fills the table (no launch), so this runs without a device.
    backends::cuda::KernelTable t;
    backends::cuda::register_elementwise(t);
    backends::cuda::register_norm_rope(t);
    backends::cuda::register_matmul(t);
    backends::cuda::register_attention(t);
    backends::cuda::register_copy(t);
    for (Type w : {Type::F32, Type::F16, Type::BF16, Type::Q8_0, Type::Q4_0, Type::Q4_K, Type::Q6_K, Type::QT4, Type::QT3,
                   Type::QT2, Type::Q5_K, Type::Q5_0, Type::Q4_1, Type::Q5_1, Type::Q2_K, Type::Q3_K, Type::IQ4_NL,
                   Type::IQ4_XS}) {
        INFO(core::type_name(w));
        CHECK(t.has(core::Op::MulMat, Type::F32, w, Type::F32));
        CHECK(t.has(core::Op::MulMat, Type::F32, w, Type::F16));
        CHECK(t.has(core::Op::GetRows, Type::F32, w, core::kI32));
    }
    const Type F32 = Type::F32;
    using backends::cuda::kNone;
    for (core::Op op : {core::Op::Add, core::Op::Mul, core::Op::Glu, core::Op::RmsNorm}) CHECK(t.has(op, F32, F32, F32));
    for (core::Op op : {core::Op::Scale, core::Op::Silu, core::Op::Gelu, core::Op::SoftCap}) CHECK(t.has(op, F32, F32, kNone));
    CHECK(t.has(core::Op::Rope, F32, F32, core::kI32));
    CHECK(t.has(core::Op::SoftMax, F32, F32, core::kI32));
    CHECK(t.has(core::Op::Argmax, core::kI32, F32, kNone));
    for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
        CHECK(t.has(core::Op::Attention, F32, F32, kv));
        CHECK(t.has(core::Op::SetRows, kv, F32, core::kI32));
    }
    for (Type src : {Type::F32, Type::F16, Type::BF16, Type::Q8_0}) {
        for (Type dst : {Type::F32, Type::F16, Type::BF16, Type::Q8_0}) CHECK(t.has(core::Op::Copy, dst, src, kNone));
    }
    // Shape limits: attention beyond head_dim 512 is left to the CPU.
    GraphBuilder g;
    Tensor q = g.input("q", F32, {576, 2, 1});
    Tensor k = g.input("k", F32, {576, 1, 4});
    Tensor a = g.attention(q, k, k, g.input("pos", core::kI32, {1}), core::AttentionParams{});
    Tensor q2 = g.input("q2", F32, {128, 2, 1});
    Tensor k2 = g.input("k2", F32, {128, 1, 4});
    Tensor a2 = g.attention(q2, k2, k2, g.input("pos2", core::kI32, {1}), core::AttentionParams{});
    g.mark_output(a);
    g.mark_output(a2);
    auto graph = g.build();
    REQUIRE(graph.ok());
    REQUIRE(graph->nodes.size() == 2);
    CHECK(t.find(graph->nodes[0]) == nullptr);
    CHECK(t.find(graph->nodes[1]) != nullptr);
}

TEST_CASE("cuda: mul_mat, every weight type x odd shapes x batch 1..130 x GQA, F32 and F16 activations", "[cuda]") {
    REQUIRE_CUDA(b);
    std::mt19937 rng(10);
    for (Type wt : cuda_weight_types(*b)) {
        const int64_t bs = quant::traits(wt).block_size;
        // Columns 1..8 take the simple path, more take the tensor-core path for block types (mma.cuh):
        // one partial 64-column tile (9, 17), several tiles with a partial last one (130).
        const int64_t Ms[] = {1, 2, 8, 9, 17, 3, 130};
        for (int trial = 0; trial < 7; ++trial) {
            const int64_t K = bs == 1 ? 1 + int64_t(rng() % 300) : bs * (1 + int64_t(rng() % 3));
            const int64_t N = trial == 6 ? 130 : 1 + int64_t(rng() % 70);
            const int64_t M = Ms[trial];
            const int64_t b2 = 1 + int64_t(trial % 2), B2 = b2 * (1 + int64_t(rng() % 2));
            const bool f16_x = trial == 5;
            // bf16 inputs on the tensor-core path round each product's factors by up to 2^-9.
            const double tol_exact = (bs > 1 && M > 8) ? 1e-2 : 2e-4;
            INFO(core::type_name(wt) << " K " << K << " N " << N << " M " << M << " b2 " << b2 << " B2 " << B2
                                     << (f16_x ? " F16 x" : " F32 x"));
            OpCase c(uint32_t(1000 + trial + 10 * int(wt)));
            std::vector<float> w, x;
            Tensor tw = c.typed("w", wt, {K, N, b2}, w);
            Tensor tx = f16_x ? c.typed("x", Type::F16, {K, M, B2}, x) : c.f32("x", {K, M, B2}, x);
            Tensor out = c.g.mul_mat(tw, tx);
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
            const std::vector<double> exact = exact_mul_mat(w, x, K, N, M, b2, B2);
            REQUIRE(no_nan(gpu[0]));
            CHECK(rel_max_err(gpu[0], exact) < tol_exact);
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 5e-2);
        }
    }
}

// The decode mat-vec kernel (matvec.cuh: QT4, QT3, QT2, Q4_K, Q4_0, Q8_0) at every batch 1..8, odd
// N (a partial last block of 4 rows), long rows (lanes wrap) and short ones, GQA, F32 and F16
// activations (F16 and the rotated QT4 / QT3 / QT2 read converted activations from scratch).
TEST_CASE("cuda: mul_mat decode kernel, QT4 QT3 QT2 Q4_K Q4_0 Q8_0 x batch 1..8 x odd N x GQA", "[cuda]") {
    REQUIRE_CUDA(b);
    for (Type wt : {Type::QT4, Type::QT3, Type::QT2, Type::Q4_K, Type::Q4_0, Type::Q8_0}) {
        const int64_t bs = quant::traits(wt).block_size;
        for (int64_t M = 1; M <= 8; ++M) {
            // Long rows (72..80 units: one two-unit step per lane, then a single tail unit for some) for
            // every batch but 4 and 8, which get short rows (5..16 units: the tail loop alone).
            const bool long_row = M % 4 != 0;
            const int64_t K = bs == 512 ? bs * (long_row ? 5 : 1) : (bs == 32 ? bs * (long_row ? 75 : 5) : bs * (long_row ? 9 : 2));
            const int64_t N = 2 * M + 1 + (M % 3) * 16;  // 3 .. 49, odd
            const int64_t b2 = 1 + (M % 2), B2 = b2 * (1 + (M % 4 == 0 ? 1 : 0));
            const bool f16_x = M == 3 || M == 8;
            INFO(core::type_name(wt) << " K " << K << " N " << N << " M " << M << " b2 " << b2 << " B2 " << B2
                                     << (f16_x ? " F16 x" : " F32 x"));
            OpCase c(uint32_t(5000 + M + 100 * int(wt)));
            std::vector<float> w, x;
            Tensor tw = c.typed("w", wt, {K, N, b2}, w);
            Tensor tx = f16_x ? c.typed("x", Type::F16, {K, M, B2}, x) : c.f32("x", {K, M, B2}, x);
            Tensor out = c.g.mul_mat(tw, tx);
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
            const std::vector<double> exact = exact_mul_mat(w, x, K, N, M, b2, B2);
            REQUIRE(no_nan(gpu[0]));
            CHECK(rel_max_err(gpu[0], exact) < 2e-4);
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 5e-2);
        }
    }
}

// Prompt sizes on the pipelined tensor-core kernel over repacked weights (mma.cuh kernel 1: QT4,
// Q4_K, Q4_0, Q8_0, K % 64 == 0): 9..512 columns (both column tilings: up to 64 and above, partial
// column tiles), odd N (partial 16-row tiles and 128-row blocks), GQA, F16 activations, K of 1..7
// stages; plus K % 64 != 0 (Q4_0 / Q8_0 at K = 96), which must take the unrepacked kernel. Every
// case must make a repacked copy (RepackCache::made) exactly when the layout applies.
TEST_CASE("cuda: mul_mat prompt sizes 9..512 on repacked weights, QT4 Q4_K Q4_0 Q8_0, odd M and N, GQA", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t Ms[] = {9, 17, 63, 64, 65, 127, 129, 200, 512};
    int trial = 0;
    for (Type wt : {Type::QT4, Type::Q4_K, Type::Q4_0, Type::Q8_0}) {
        const int64_t bs = quant::traits(wt).block_size;
        for (int64_t M : Ms) {
            ++trial;
            const bool odd_k = bs == 32 && M == 17;  // K = 96: not whole 64-stages
            const int64_t K = odd_k ? 96 : (bs == 32 ? 64 * (1 + trial % 7) : bs * (1 + trial % 2));
            const int64_t N = M >= 200 ? 131 : 16 * (1 + trial % 3) + (trial % 2 ? 5 : 0);  // 16..53, 131
            const int64_t b2 = 1 + (trial % 3 == 0 ? 1 : 0), B2 = b2 * (M <= 64 ? 2 : 1);
            const bool f16_x = M == 65;
            INFO(core::type_name(wt) << " K " << K << " N " << N << " M " << M << " b2 " << b2 << " B2 " << B2
                                     << (f16_x ? " F16 x" : " F32 x"));
            OpCase c(uint32_t(9000 + trial));
            std::vector<float> w, x;
            Tensor tw = c.typed("w", wt, {K, N, b2}, w);
            Tensor tx = f16_x ? c.typed("x", Type::F16, {K, M, B2}, x) : c.f32("x", {K, M, B2}, x);
            Tensor out = c.g.mul_mat(tw, tx);
            const int64_t made = b->repacks().made();
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
            CHECK(b->repacks().made() == made + (odd_k ? 0 : 1));
            const std::vector<double> exact = exact_mul_mat(w, x, K, N, M, b2, B2);
            REQUIRE(no_nan(gpu[0]));
            CHECK(rel_max_err(gpu[0], exact) < 1e-2);
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 5e-2);
        }
    }
    // The shapes above are small grids, which split K (mma_layout.h rp_splits). A grid of 41 row
    // blocks x 2 column tiles (82 blocks) is not split on any GPU with up to 164 SMs (A100 108,
    // H100 / H200 132): the unsplit epilogue, as pp512 on a real model takes it.
    for (Type wt : {Type::QT4, Type::Q4_K, Type::Q4_0, Type::Q8_0}) {
        const int64_t K = std::max<int64_t>(128, quant::traits(wt).block_size), N = 41 * 128 - 3, M = 129;
        INFO(core::type_name(wt) << " K " << K << " N " << N << " M " << M << " (no split)");
        OpCase c(uint32_t(9500 + int(wt)));
        std::vector<float> w, x;
        Tensor tw = c.typed("w", wt, {K, N, 1}, w);
        Tensor tx = c.f32("x", {K, M, 1}, x);
        Tensor out = c.g.mul_mat(tw, tx);
        const int64_t made = b->repacks().made();
        auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
        CHECK(b->repacks().made() == made + 1);
        REQUIRE(no_nan(gpu[0]));
        CHECK(rel_max_err(gpu[0], exact_mul_mat(w, x, K, N, M, 1, 1)) < 1e-2);
        CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 5e-2);
    }
}

// Weights bound once on the GPU, run, overwritten in place (same buffer, same address), run again:
// the upload must drop the repacked copy (and any captured graph), so the second result follows
// the new weights; a third identical run (graph replay territory) must still be right.
TEST_CASE("cuda: rewriting weights in place drops their repacked copy", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t K = 512, N = 48, M = 40;
    std::mt19937 rng(31);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    core::GraphBuilder g;
    Tensor tw = g.weight("w", Type::Q4_K, {K, N});
    Tensor tx = g.input("x", Type::F32, {K, M});
    Tensor out = g.mul_mat(tw, tx);
    g.mark_output(out);
    auto graph = g.build();
    REQUIRE(graph.ok());
    backends::cpu::CpuBackend cpu(2);
    auto ex = gpu_executor(std::move(graph.value()), cpu, *b);
    core::Executor & e = *ex;
    REQUIRE(e.bind_new(tw, *b).ok());
    REQUIRE(e.bind_new(tx, *b).ok());
    std::vector<float> x(size_t(K * M));
    for (float & v : x) v = dist(rng);
    REQUIRE(e.write(tx, x.data(), x.size() * 4).ok());
    const size_t rb = core::type_row_bytes(Type::Q4_K, K);
    std::vector<float> exact_w;
    for (int round = 0; round < 3; ++round) {
        INFO("round " << round);
        if (round < 2) {
            std::vector<float> raw(size_t(K * N));
            for (float & v : raw) v = dist(rng);
            std::vector<uint8_t> bytes(size_t(N) * rb);
            for (int64_t r = 0; r < N; ++r) quant::traits(Type::Q4_K).quantize_row(&raw[size_t(r * K)], &bytes[size_t(r) * rb], K, nullptr);
            REQUIRE(e.write(tw, bytes.data(), bytes.size()).ok());
            std::vector<float> w(size_t(K * N));
            for (int64_t r = 0; r < N; ++r) quant::traits(Type::Q4_K).dequantize_row(&bytes[size_t(r) * rb], &w[size_t(r * K)], K);
            exact_w = w;
        }
        const int64_t made = b->repacks().made();
        Status s = e.run();
        INFO(s.message());
        REQUIRE(s.ok());
        CHECK(b->repacks().made() == made + (round < 2 ? 1 : 0));
        std::vector<float> got(size_t(N * M));
        REQUIRE(e.read(out, got.data(), got.size() * 4).ok());
        REQUIRE(no_nan(got));
        CHECK(rel_max_err(got, exact_mul_mat(exact_w, x, K, N, M, 1, 1)) < 1e-2);
    }
}

// Repacked copies are only a speed-up, made after the model's buffers: an allocation that cannot
// be met while they hold device memory (an arena growing for a longer prompt, a KV cache, another
// model) must get their memory instead of failing, and prompts must stay right on kernel 2. The
// request is 16 MiB more than the free memory, less than the 36 MiB copy. Own backend: the
// shared one must keep making copies for the other tests.
TEST_CASE("cuda: an allocation short of device memory frees the repacked copies for it", "[cuda]") {
    REQUIRE_CUDA(shared);
    auto created = CudaBackend::create(0);
    REQUIRE(created.ok());
    CudaBackend & b = *created.value();
    b.set_poison(true);
    const int64_t K = 4096, N = 16384, M = 16;
    core::GraphBuilder g;
    Tensor tw = g.weight("w", Type::Q4_K, {K, N});
    Tensor tx = g.input("x", Type::F32, {K, M});
    Tensor out = g.mul_mat(tw, tx);
    g.mark_output(out);
    auto graph = g.build();
    REQUIRE(graph.ok());
    backends::cpu::CpuBackend cpu(2);
    auto ex = gpu_executor(std::move(graph.value()), cpu, b);
    core::Executor & e = *ex;
    REQUIRE(e.bind_new(tw, b).ok());
    REQUIRE(e.bind_new(tx, b).ok());
    const size_t rb = core::type_row_bytes(Type::Q4_K, K);
    std::vector<uint8_t> bytes(size_t(N) * rb);
    quant::random_blocks(Type::Q4_K, bytes.data(), bytes.size(), 77, 0.05f);
    REQUIRE(e.write(tw, bytes.data(), bytes.size()).ok());
    std::vector<float> w(size_t(K * N));
    for (int64_t r = 0; r < N; ++r) quant::traits(Type::Q4_K).dequantize_row(&bytes[size_t(r) * rb], &w[size_t(r * K)], K);
    std::mt19937 rng(78);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(size_t(K * M));
    for (float & v : x) v = dist(rng);
    REQUIRE(e.write(tx, x.data(), x.size() * 4).ok());
    const std::vector<double> exact = exact_mul_mat(w, x, K, N, M, 1, 1);
    for (int round = 0; round < 2; ++round) {
        INFO("round " << round << (round == 0 ? " (repacked copy)" : " (after the copy was freed)"));
        Status s = e.run();
        INFO(s.message());
        REQUIRE(s.ok());
        CHECK(b.repacks().made() == 1);
        std::vector<float> got(size_t(N * M));
        REQUIRE(e.read(out, got.data(), got.size() * 4).ok());
        REQUIRE(no_nan(got));
        CHECK(rel_max_err(got, exact) < 1e-2);
        if (round == 0) {
            REQUIRE(b.repacks().bytes() >= size_t(36) << 20);
            auto mem = b.memory();
            REQUIRE(mem.ok());
            auto big = b.alloc(mem.value().free_bytes + (size_t(16) << 20));
            const std::string why = big.ok() ? std::string() : std::string(big.status().message());
            INFO(why);
            CHECK(big.ok());
            CHECK(b.repacks().empty());
        }
    }
}

// Activation rows that are not 16-byte aligned (a slice starting at element 1 of rows of K + 1
// floats): the decode kernel's float4 loads are not legal, so matmul.cu must fall back to the simple
// kernel (QT4 / QT3 / QT2 still read their rotated scratch copy, which is aligned) and stay exact.
TEST_CASE("cuda: mul_mat decode with misaligned activation rows falls back and stays exact", "[cuda]") {
    REQUIRE_CUDA(b);
    for (Type wt : {Type::QT4, Type::QT3, Type::QT2, Type::Q4_K, Type::Q4_0, Type::Q8_0}) {
        const int64_t bs = quant::traits(wt).block_size;
        for (int64_t M : {1, 5}) {
            const int64_t K = bs * (bs == 32 ? 7 : 2), N = 9, B2 = 2;
            INFO(core::type_name(wt) << " K " << K << " M " << M);
            OpCase c(uint32_t(7000 + M + 100 * int(wt)));
            std::vector<float> w, x;
            Tensor tw = c.typed("w", wt, {K, N, 1}, w);
            Tensor full = c.f32("x", {K + 1, M, B2}, x);
            Tensor tx = c.g.slice(full, 0, 1, K + 1);
            REQUIRE(tx.offset % 16 != 0);
            REQUIRE(tx.nb[1] % 16 != 0);
            Tensor out = c.g.mul_mat(tw, tx);
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
            std::vector<double> exact(size_t(N * M * B2));
            for (int64_t i2 = 0; i2 < B2; ++i2) {
                for (int64_t m = 0; m < M; ++m) {
                    for (int64_t n = 0; n < N; ++n) {
                        double acc = 0;
                        const float * xr = &x[size_t((i2 * M + m) * (K + 1) + 1)];
                        for (int64_t k = 0; k < K; ++k) acc += double(w[size_t(n * K + k)]) * double(xr[k]);
                        exact[size_t((i2 * M + m) * N + n)] = acc;
                    }
                }
            }
            REQUIRE(no_nan(gpu[0]));
            CHECK(rel_max_err(gpu[0], exact) < 2e-4);
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 5e-2);
        }
    }
}

TEST_CASE("cuda: get_rows from every table type (repeated ids) equals the CPU's dequantized rows", "[cuda]") {
    REQUIRE_CUDA(b);
    for (Type wt : cuda_weight_types(*b)) {
        const int64_t bs = quant::traits(wt).block_size;
        const int64_t n = bs == 1 ? 45 : 2 * bs, rows = 13;
        INFO(core::type_name(wt));
        OpCase c(uint32_t(77 + int(wt)));
        std::vector<float> table;
        Tensor tt = c.typed("table", wt, {n, rows}, table);
        Tensor ids = c.i32("ids", {3, 0, 12, 3, 7, 12, 1});
        auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.get_rows(tt, ids)});
        CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 1e-6);
    }
}

TEST_CASE("cuda: add / mul broadcasting, scale, silu, gelu, glu, soft_cap match the CPU", "[cuda]") {
    REQUIRE_CUDA(b);
    std::mt19937 rng(3);
    for (int trial = 0; trial < 8; ++trial) {
        core::Dims a, bd;
        for (int i = 0; i < 4; ++i) {
            bd[i] = 1 + int64_t(rng() % 3);
            a[i] = bd[i] * (1 + int64_t(rng() % 3));
        }
        a[0] = bd[0] * (1 + int64_t(rng() % 90));
        INFO("trial " << trial);
        OpCase c(uint32_t(500 + trial));
        std::vector<float> ha, hb, hg;
        Tensor ta = c.f32("a", a, ha);
        Tensor tb = c.f32("b", bd, hb);
        Tensor tg = c.f32("g", a, hg, 3.0f);
        std::vector<Tensor> outs = {ta + tb,
                                    ta * tb,
                                    c.g.scale(ta, -0.37f),
                                    c.g.silu(tg),
                                    c.g.gelu(tg, false),
                                    c.g.gelu(tg, true),
                                    c.g.glu(tg, ta, core::Activation::Silu),
                                    c.g.glu(tg, ta, core::Activation::GeluTanh),
                                    c.g.glu(tg, ta, core::Activation::GeluErf),
                                    c.g.soft_cap(tg, 2.5f)};
        auto [cpu, gpu] = cpu_and_gpu(c, *b, outs);
        for (size_t i = 0; i < outs.size(); ++i) {
            INFO("output " << i);
            REQUIRE(no_nan(gpu[i]));
            CHECK(rel_max_err(gpu[i], as_double(cpu[i])) < 1e-5);
        }
    }
}

TEST_CASE("cuda: rms_norm and rope (GPT-J / NeoX, partial, linear, llama3, large positions)", "[cuda]") {
    REQUIRE_CUDA(b);
    struct Variant {
        int64_t hd, n_rot;
        bool neox;
        core::RopeScaling scaling;
    } variants[] = {{64, 64, false, core::RopeScaling::None},   {128, 128, true, core::RopeScaling::None},
                    {80, 32, true, core::RopeScaling::Linear},  {128, 128, false, core::RopeScaling::Llama3},
                    {256, 256, true, core::RopeScaling::None},  {96, 64, false, core::RopeScaling::None}};
    for (const Variant & v : variants) {
        INFO("hd " << v.hd << " n_rot " << v.n_rot << " neox " << v.neox << " scaling " << int(v.scaling));
        const int64_t nh = 3, nt = 5;
        OpCase c(uint32_t(v.hd + v.n_rot));
        std::vector<float> hx, hw;
        Tensor tx = c.f32("x", {v.hd, nh, nt}, hx);
        Tensor tw = c.f32("w", {v.hd}, hw);
        Tensor pos = c.i32("pos", {0, 1, 77, 4095, 131071});
        core::RopeParams p;
        p.n_rot = int32_t(v.n_rot);
        p.neox = v.neox;
        p.base = v.scaling == core::RopeScaling::Llama3 ? 500000.0f : 10000.0f;
        p.scaling = v.scaling;
        p.factor = v.scaling == core::RopeScaling::None ? 1.0f : 8.0f;
        auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.rms_norm(tx, tw, 1e-6f), c.g.rope(tx, pos, p)});
        CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 1e-5);
        CHECK(rel_max_err(gpu[1], as_double(cpu[1])) < 1e-5);
    }
}

TEST_CASE("cuda: attention (prefill and decode, GQA, window, soft-cap, head dims, KV types) matches the CPU", "[cuda]") {
    REQUIRE_CUDA(b);
    struct Shape {
        int64_t hd, nh, nkh, nq, nkv;
    } shapes[] = {{64, 4, 4, 1, 1},    {128, 8, 2, 1, 700}, {256, 4, 2, 5, 37},  {80, 6, 3, 17, 300},
                  {128, 4, 1, 33, 2100}, {32, 2, 1, 3, 257}, {72, 4, 2, 1, 130}, {512, 2, 2, 2, 300}};
    // Decode scores keys by lane groups with vector loads: head_dim 32 / 64 / 72 / 80 / 128 / 256 / 512
    // give groups of 1..32 lanes, some lanes taking two chunks (72, 80, 512).
    int seed = 0;
    for (const Shape & s : shapes) {
        for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
            if (kv == Type::Q8_0 && s.hd % 32 != 0) continue;
            for (int variant = 0; variant < 3; ++variant) {
                core::AttentionParams p;
                p.scale = 1.0f / std::sqrt(float(s.hd));
                p.softcap = variant == 1 ? 20.0f : 0.0f;
                p.window = variant == 2 ? 29 : 0;
                p.causal = !(variant == 1 && s.nq > 1);
                INFO("hd " << s.hd << " nh " << s.nh << " nkh " << s.nkh << " nq " << s.nq << " nkv " << s.nkv << " kv "
                           << core::type_name(kv) << " variant " << variant);
                OpCase c(uint32_t(900 + seed++));
                std::vector<float> q, k, v;
                Tensor tq = c.f32("q", {s.hd, s.nh, s.nq}, q);
                Tensor tk = c.typed("k", kv, {s.hd, s.nkh, s.nkv}, k);
                Tensor tv = c.typed("v", kv, {s.hd, s.nkh, s.nkv}, v);
                std::vector<int32_t> pos(size_t(s.nq));
                for (int64_t i = 0; i < s.nq; ++i) pos[size_t(i)] = int32_t(s.nkv - s.nq + i);
                Tensor tpos = c.i32("pos", pos);
                auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.attention(tq, tk, tv, tpos, p)});
                REQUIRE(no_nan(gpu[0]));
                // 33 queries at head_dim 128 with an F16 cache take the f16 tensor-core prefill kernel.
                const bool flash = backends::cuda::flash::prefill_shape_fits(s.hd, s.hd, s.nq, kv);
                CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < (kv == Type::Q8_0 ? 3e-2 : flash ? 4e-3 : 1e-4));
            }
        }
    }
}

TEST_CASE("cuda: attention and soft_max with kpos (ring order, empty slots, window by position)", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t hd = 64, nh = 4, nkh = 2, nkv = 300, nq = 3;
    // Ring buffer: slot j holds position 1000 + (j + 137) % nkv; 20 empty slots; queries at the end.
    std::vector<int32_t> kpos(static_cast<size_t>(nkv));
    for (int64_t j = 0; j < nkv; ++j) kpos[size_t(j)] = int32_t(1000 + (j + 137) % nkv);
    for (int64_t j = 40; j < 60; ++j) kpos[size_t(j)] = -1;
    const std::vector<int32_t> pos = {1000 + int32_t(nkv) - 3, 1000 + int32_t(nkv) - 2, 1000 + int32_t(nkv) - 1};
    for (int window : {0, 50}) {
        for (bool causal : {true, false}) {
            INFO("window " << window << " causal " << causal);
            core::AttentionParams p;
            p.scale = 0.125f;
            p.window = window;
            p.causal = causal;
            OpCase c(uint32_t(40 + window + causal));
            std::vector<float> q, k, v, x;
            Tensor tq = c.f32("q", {hd, nh, nq}, q);
            Tensor tk = c.typed("k", Type::F16, {hd, nkh, nkv}, k);
            Tensor tv = c.typed("v", Type::F16, {hd, nkh, nkv}, v);
            Tensor tx = c.f32("x", {nkv, nq, nh}, x);
            Tensor tpos = c.i32("pos", pos);
            Tensor tkpos = c.i32("kpos", kpos);
            core::SoftMaxParams sp;
            sp.window = window;
            sp.causal = causal;
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.attention(tq, tk, tv, tpos, p, tkpos), c.g.soft_max(tx, tpos, sp, tkpos)});
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 1e-4);
            CHECK(rel_max_err(gpu[1], as_double(cpu[1])) < 1e-5);
        }
    }
}

// K / V views that start 2 bytes into their rows: not 16-byte aligned, so decode scores keys element
// by element and 20 queries (a prefill shape) stay off the tensor-core kernel; both stay exact.
TEST_CASE("cuda: attention over misaligned F16 K/V views falls back and matches the CPU", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t hd = 64, nh = 4, nkh = 2, nkv = 150;
    for (int64_t nq : {1, 20}) {
        INFO("nq " << nq);
        core::AttentionParams p;
        p.scale = 0.125f;
        OpCase c(uint32_t(5100 + nq));
        std::vector<float> q, k, v;
        Tensor tq = c.f32("q", {hd, nh, nq}, q);
        Tensor tk = c.g.slice(c.typed("k", Type::F16, {hd + 1, nkh, nkv}, k), 0, 1, hd + 1);
        Tensor tv = c.g.slice(c.typed("v", Type::F16, {hd + 1, nkh, nkv}, v), 0, 1, hd + 1);
        REQUIRE(tk.offset % 16 != 0);
        REQUIRE(tv.offset % 16 != 0);
        std::vector<int32_t> pos(static_cast<size_t>(nq));
        for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(nkv - nq + i);
        auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.attention(tq, tk, tv, c.i32("pos", pos), p)});
        REQUIRE(no_nan(gpu[0]));
        CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 1e-4);
    }
}

// The tensor-core prefill kernel (ops/flash_prefill.cu) against the CPU: head dims 64/128/256,
// 16..130 queries (partial 64-query tiles), 16..1500 keys (partial key tiles, KV splits), F16 and Q8_0 caches,
// GQA groups 1/2/4, causal and not, sliding window, soft-cap, kpos ring buffers with empty slots,
// queries out of order and queries that see no key (zeros). Tolerance: the F16 cache is exact in
// f16; the scaled query and each probability are rounded to f16 (2^-11 relative), about 1e-3 of a
// softmax weight, and an output is a weighted mean of values up to ~4 sigma: 4e-3 of the largest
// output. Q8_0: the CPU also quantizes the query to Q8_0 (3e-2, as in the test above).
TEST_CASE("cuda: flash prefill attention (head dims 64/128/256, 16..130 queries, GQA, masks, kpos, F16/Q8_0) matches the CPU", "[cuda]") {
    REQUIRE_CUDA(b);
    int seed = 0;
    for (int64_t hd : {64, 128, 256}) {
        for (int64_t nq : {16, 17, 64, 100, 130}) {
            for (Type kv : {Type::F16, Type::Q8_0}) {
                for (int variant = 0; variant < 4; ++variant) {
                    const int64_t group = variant == 0 ? 1 : variant == 2 ? 4 : 2;
                    const int64_t nkh = 2, nh = nkh * group;
                    // 1500 keys: the kernel splits the cache (several splits for 1-2 query tiles of
                    // 2..8 heads on any GPU with 8+ SMs), merged by the decode path's phase 2.
                    const int64_t nkv_choices[4] = {nq, nq + 83, 3 * nq + 200, 1500};
                    const int64_t nkv = nkv_choices[(seed + seed / 4) % 4];  // rotates against the variant
                    core::AttentionParams p;
                    p.scale = 1.0f / std::sqrt(float(hd));
                    p.causal = variant != 2;
                    p.softcap = variant == 1 ? 30.0f : 0.0f;
                    p.window = variant == 1 ? 37 : variant == 3 ? 50 : 0;
                    const bool with_kpos = variant == 3;
                    INFO("hd " << hd << " nq " << nq << " nkv " << nkv << " kv " << core::type_name(kv) << " variant "
                               << variant << " group " << group);
                    REQUIRE(backends::cuda::flash::prefill_shape_fits(hd, hd, nq, kv));
                    OpCase c(uint32_t(3000 + seed++));
                    std::vector<float> q, k, v;
                    Tensor tq = c.f32("q", {hd, nh, nq}, q);
                    Tensor tk = c.typed("k", kv, {hd, nkh, nkv}, k);
                    Tensor tv = c.typed("v", kv, {hd, nkh, nkv}, v);
                    std::vector<int32_t> pos(static_cast<size_t>(nq));
                    std::vector<bool> blind(size_t(nq), false);  // sees no key
                    Tensor out;
                    if (!with_kpos) {
                        for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(nkv - nq + i);
                        out = c.g.attention(tq, tk, tv, c.i32("pos", pos), p);
                    } else {
                        // Ring buffer: slot j holds position 1000 + (j + 37) % nkv, every 7th slot empty;
                        // queries at the cache's last positions in shuffled order, every 9th at position 5
                        // (before every key: sees nothing under the causal mask).
                        std::vector<int32_t> kpos(static_cast<size_t>(nkv));
                        for (int64_t j = 0; j < nkv; ++j) kpos[size_t(j)] = j % 7 == 3 ? -1 : int32_t(1000 + (j + 37) % nkv);
                        for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(1000 + nkv - nq + i);
                        std::shuffle(pos.begin(), pos.end(), c.rng());
                        for (int64_t i = 0; i < nq; i += 9) {
                            pos[size_t(i)] = 5;
                            blind[size_t(i)] = true;
                        }
                        out = c.g.attention(tq, tk, tv, c.i32("pos", pos), p, c.i32("kpos", kpos));
                    }
                    auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
                    REQUIRE(no_nan(gpu[0]));
                    CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < (kv == Type::Q8_0 ? 3e-2 : 4e-3));
                    for (int64_t i = 0; i < nq; ++i) {
                        if (!blind[size_t(i)]) continue;
                        for (int64_t e = 0; e < hd * nh; ++e) REQUIRE(gpu[0][size_t(i * hd * nh + e)] == 0.0f);
                    }
                }
            }
        }
    }
}

// Queries far past f16's range (|q * scale| up to ~4e5 > 65504): the prefill kernel scales such rows
// by a power of two before rounding them to f16 (flash_attention.h q_exponent), so they stay finite
// and the (one-hot) softmax picks the CPU's key.
TEST_CASE("cuda: flash prefill attention keeps queries beyond the f16 range finite", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t hd = 128, nh = 4, nkh = 2, nq = 64, nkv = 300;
    core::AttentionParams p;
    p.scale = 1.0f / std::sqrt(float(hd));
    p.causal = false;
    OpCase c(77);
    std::vector<float> q, k, v;
    Tensor tq = c.f32("q", {hd, nh, nq}, q, 1e6f);
    Tensor tk = c.typed("k", Type::F16, {hd, nkh, nkv}, k);
    Tensor tv = c.typed("v", Type::F16, {hd, nkh, nkv}, v);
    std::vector<int32_t> pos(static_cast<size_t>(nq));
    for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(nkv - nq + i);
    REQUIRE(backends::cuda::flash::prefill_shape_fits(hd, hd, nq, Type::F16));
    auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.attention(tq, tk, tv, c.i32("pos", pos), p)});
    REQUIRE(no_nan(gpu[0]));
    CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 4e-3);
}

// The prefill kernel addresses Q, K, V and the output only through their byte strides: a query that
// is a permuted view ([hd, n_q, n_head] storage: the head stride is the larger one) and K / V
// that are windows [100, 100 + n_kv) of a head-major cache [hd, capacity,
// n_head_kv] (head stride capacity rows, a nonzero offset) must give the CPU's result. Rows stay
// 16-byte aligned, so the tensor-core kernel takes them (not the split-KV fallback).
TEST_CASE("cuda: flash prefill attention over strided views (permuted query, K/V windows of a head-major cache)", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t hd = 128, nkh = 2, group = 2, nh = nkh * group, nq = 40, cap = 700, nkv = 500, first = 100;
    int seed = 0;
    for (Type kv : {Type::F16, Type::Q8_0}) {
        for (int window : {0, 64}) {
            INFO("kv " << core::type_name(kv) << " window " << window);
            core::AttentionParams p;
            p.scale = 1.0f / std::sqrt(float(hd));
            p.window = window;
            OpCase c(uint32_t(6100 + seed++));
            std::vector<float> q, k, v;
            Tensor tq = c.g.permute(c.f32("q", {hd, nq, nh}, q), 0, 2, 1, 3);  // [hd, nh, nq], nb[1] > nb[2]
            Tensor tk = c.g.permute(c.g.slice(c.typed("k", kv, {hd, cap, nkh}, k), 1, first, first + nkv), 0, 2, 1, 3);
            Tensor tv = c.g.permute(c.g.slice(c.typed("v", kv, {hd, cap, nkh}, v), 1, first, first + nkv), 0, 2, 1, 3);
            REQUIRE(tq.nb[1] > tq.nb[2]);
            REQUIRE(tk.nb[1] > tk.nb[2]);
            REQUIRE(tk.offset > 0);
            REQUIRE(backends::cuda::flash::prefill_shape_fits(hd, hd, nq, kv));
            std::vector<int32_t> pos(static_cast<size_t>(nq));
            for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(nkv - nq + i);
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.attention(tq, tk, tv, c.i32("pos", pos), p)});
            REQUIRE(no_nan(gpu[0]));
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < (kv == Type::Q8_0 ? 3e-2 : 4e-3));
        }
    }
}

// A short prompt over a long cache splits the key tiles (flash_attention.h prefill_split); with a
// sliding window, or with the prompt at the start of the cache (causal), most splits hold no key
// any query sees and write records with m = -inf and l = 0, which the merge must ignore; a prompt
// in the middle of the cache leaves live keys on both sides of split boundaries. Gemma 3's shape:
// head_dim 256, 4 heads over 1 kv head.
TEST_CASE("cuda: flash prefill attention over a long cache with mostly empty KV splits matches the CPU", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t hd = 256, nkh = 1, nh = 4, nq = 16, nkv = 4000;
    int seed = 0;
    for (int64_t start : {int64_t(0), int64_t(1717), nkv - nq}) {
        for (int window : {0, 512}) {
            INFO("prompt at " << start << " window " << window);
            core::AttentionParams p;
            p.scale = 1.0f / 16.0f;
            p.window = window;
            OpCase c(uint32_t(6200 + seed++));
            std::vector<float> q, k, v;
            Tensor tq = c.f32("q", {hd, nh, nq}, q);
            Tensor tk = c.typed("k", Type::F16, {hd, nkh, nkv}, k);
            Tensor tv = c.typed("v", Type::F16, {hd, nkh, nkv}, v);
            std::vector<int32_t> pos(static_cast<size_t>(nq));
            for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(start + i);
            // 2 x 4 / 64 = 1 block: every GPU with 2+ SMs splits the 125 key tiles.
            REQUIRE(backends::cuda::flash::prefill_split(hd, nq, nh, nkh, nkv, 2).n_split > 1);
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.attention(tq, tk, tv, c.i32("pos", pos), p)});
            REQUIRE(no_nan(gpu[0]));
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < 4e-3);
        }
    }
}

// Cache slots no query may see hold garbage in a real cache (a cache longer than what was written,
// empty ring slots). Here they hold +-inf (1e30 written into the F16 / Q8_0 cache by set_rows): the
// prefill kernel must never let them meet a probability, not even a zero one (0 * inf = NaN). The
// CPU never reads them. Without kpos: 40 causal queries at positions 200..239 of a 300-slot cache
// (slots 240..299 unwritten, 240..255 inside the last live key tile); with kpos: a ring whose
// empty slots (-1) hold the garbage.
TEST_CASE("cuda: flash prefill attention never reads unwritten cache slots into a product", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t hd = 128, nkh = 2, group = 2, nh = nkh * group, nq = 40, nkv = 300;
    int seed = 0;
    for (Type kv : {Type::F16, Type::Q8_0}) {
        for (bool ring : {false, true}) {
            INFO("kv " << core::type_name(kv) << " ring " << ring);
            core::AttentionParams p;
            p.scale = 1.0f / std::sqrt(float(hd));
            OpCase c(uint32_t(6300 + seed++));
            std::vector<float> q, k, v, junk_k, junk_v;
            Tensor tq = c.f32("q", {hd, nh, nq}, q);
            Tensor ck = c.typed("k", kv, {hd * nkh, nkv}, k);  // 2-D for set_rows, reshaped below
            Tensor cv = c.typed("v", kv, {hd * nkh, nkv}, v);
            std::vector<int32_t> pos(static_cast<size_t>(nq)), kpos, garbage;
            if (!ring) {
                for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(200 + i);
                for (int64_t j = 240; j < nkv; ++j) garbage.push_back(int32_t(j));
            } else {
                kpos.resize(size_t(nkv));
                for (int64_t j = 0; j < nkv; ++j) kpos[size_t(j)] = j % 5 == 2 ? -1 : int32_t(1000 + (j + 11) % nkv);
                for (int64_t j = 0; j < nkv; ++j)
                    if (kpos[size_t(j)] < 0) garbage.push_back(int32_t(j));
                for (int64_t i = 0; i < nq; ++i) pos[size_t(i)] = int32_t(1000 + nkv - nq + i);
            }
            const int64_t ng = int64_t(garbage.size());
            Tensor ids = c.i32("garbage", garbage);
            ck = c.g.set_rows(ck, c.f32("junk_k", {hd * nkh, ng}, junk_k, 1e30f), ids);
            cv = c.g.set_rows(cv, c.f32("junk_v", {hd * nkh, ng}, junk_v, 1e30f), ids);
            Tensor tk = c.g.reshape(ck, {hd, nkh, nkv});
            Tensor tv = c.g.reshape(cv, {hd, nkh, nkv});
            REQUIRE(backends::cuda::flash::prefill_shape_fits(hd, hd, nq, kv));
            Tensor out = ring ? c.g.attention(tq, tk, tv, c.i32("pos", pos), p, c.i32("kpos", kpos))
                              : c.g.attention(tq, tk, tv, c.i32("pos", pos), p);
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
            REQUIRE(no_nan(cpu[0]));
            REQUIRE(no_nan(gpu[0]));
            CHECK(rel_max_err(gpu[0], as_double(cpu[0])) < (kv == Type::Q8_0 ? 3e-2 : 4e-3));
        }
    }
}

TEST_CASE("cuda: copy (strided, F32/F16/BF16/Q8_0 both ways), set_rows into F32/F16/Q8_0 caches, argmax", "[cuda]") {
    REQUIRE_CUDA(b);
    for (Type src : {Type::F32, Type::F16, Type::BF16, Type::Q8_0}) {
        for (Type dst : {Type::F32, Type::F16, Type::BF16, Type::Q8_0}) {
            INFO(core::type_name(src) << " -> " << core::type_name(dst));
            OpCase c(uint32_t(int(src) * 31 + int(dst)));
            std::vector<float> h;
            Tensor t = c.typed("x", src, {64, 7, 3}, h);
            Tensor view = src == Type::Q8_0 ? t : c.g.permute(t, 0, 2, 1, 3);  // float sources: strided dims 1, 2
            Tensor out = c.g.copy(view, dst);
            auto [cpu, gpu] = cpu_and_gpu(c, *b, {out});
            CHECK(bitwise_equal(gpu[0], cpu[0]));
        }
    }
    for (Type cache : {Type::F32, Type::F16, Type::Q8_0}) {
        INFO("cache " << core::type_name(cache));
        OpCase c(uint32_t(61 + int(cache)));
        std::vector<float> hc, hr;
        Tensor tc = c.typed("cache", cache, {96, 10}, hc);
        Tensor rows = c.f32("rows", {96, 3}, hr);
        Tensor ids = c.i32("ids", {9, 0, 4});
        Tensor written = c.g.set_rows(tc, rows, ids);
        auto [cpu, gpu] = cpu_and_gpu(c, *b, {written});
        CHECK(bitwise_equal(gpu[0], cpu[0]));
    }
    {
        OpCase c(5);
        std::vector<float> h;
        Tensor x = c.f32("x", {1001, 6}, h);
        auto [cpu, gpu] = cpu_and_gpu(c, *b, {c.g.argmax(x)});
        CHECK(bitwise_equal(gpu[0], cpu[0]));
    }
}

TEST_CASE("cuda: an id out of range is a clear error from the run, not a crash", "[cuda]") {
    REQUIRE_CUDA(b);
    GraphBuilder g;
    Tensor table = g.input("table", Type::F32, {8, 4});
    Tensor ids = g.input("ids", core::kI32, {2});
    Tensor out = g.get_rows(table, ids);
    g.mark_output(out);
    auto graph = g.build();
    REQUIRE(graph.ok());
    backends::cpu::CpuBackend cpu(1);
    auto ex = gpu_executor(std::move(graph.value()), cpu, *b);
    REQUIRE(ex->bind_new(table, cpu).ok());
    REQUIRE(ex->bind_new(ids, cpu).ok());
    std::vector<float> t(32, 1.0f);
    const int32_t bad[2] = {1, 4};
    REQUIRE(ex->write(table, t.data(), t.size() * 4).ok());
    REQUIRE(ex->write(ids, bad, sizeof bad).ok());
    Status s = ex->run();
    if (s.ok()) {  // the error surfaces at the latest when the result is read back (sync)
        std::vector<float> res(16);
        s = ex->read(out, res.data(), res.size() * 4);
    }
    INFO(s.message());
    CHECK(!s.ok());
    CHECK(s.message().find("get_rows") != std::string::npos);
}

TEST_CASE("cuda: a repeated run replays a CUDA graph and still sees new input data", "[cuda]") {
    REQUIRE_CUDA(b);
    const int64_t K = 64, N = 40;
    GraphBuilder g;
    Tensor w = g.input("w", Type::F32, {K, N});
    Tensor x = g.input("x", Type::F32, {K, 1});
    Tensor nw = g.input("nw", Type::F32, {N});
    Tensor y = g.rms_norm(g.mul_mat(w, x), nw, 1e-6f);
    g.mark_output(y);
    auto graph = g.build();
    REQUIRE(graph.ok());
    backends::cpu::CpuBackend cpu(1);
    auto ex = gpu_executor(std::move(graph.value()), cpu, *b);
    core::Executor & e = *ex;
    for (const Tensor & t : {w, x, nw}) REQUIRE(e.bind_new(t, *b).ok());
    std::mt19937 rng(8);
    std::normal_distribution<float> dist;
    std::vector<float> hw(static_cast<size_t>(K * N)), hn(static_cast<size_t>(N)), hx(static_cast<size_t>(K)),
        got(static_cast<size_t>(N));
    for (float & v : hw) v = dist(rng);
    for (float & v : hn) v = dist(rng);
    REQUIRE(e.write(w, hw.data(), hw.size() * 4).ok());
    REQUIRE(e.write(nw, hn.data(), hn.size() * 4).ok());
    const int replays_before = b->graph_replays();
    for (int step = 0; step < 4; ++step) {
        INFO("step " << step);
        for (float & v : hx) v = dist(rng);
        REQUIRE(e.write(x, hx.data(), hx.size() * 4).ok());
        Status s = e.run();
        INFO(s.message());
        REQUIRE(s.ok());
        REQUIRE(e.read(y, got.data(), got.size() * 4).ok());
        std::vector<double> mm(static_cast<size_t>(N)), ref(static_cast<size_t>(N));
        double ss = 0;
        for (int64_t n = 0; n < N; ++n) {
            for (int64_t k = 0; k < K; ++k) mm[size_t(n)] += double(hw[size_t(n * K + k)]) * hx[size_t(k)];
            ss += mm[size_t(n)] * mm[size_t(n)];
        }
        for (int64_t n = 0; n < N; ++n) ref[size_t(n)] = mm[size_t(n)] / std::sqrt(ss / double(N) + 1e-6) * hn[size_t(n)];
        CHECK(rel_max_err(got, ref) < 1e-5);
    }
    // Run 1 launches directly, run 2 captures and launches the new graph, runs 3 and 4 replay it.
    CHECK(b->graph_replays() - replays_before >= 2);
}

TEST_CASE("cuda: layers_that_fit (the --ngl auto arithmetic) takes leading layers while they fit", "[cuda]") {
    // Pure arithmetic: runs without a device.
    const std::vector<int64_t> layers = {100, 100, 150, 100};
    CHECK(backends::layers_that_fit(layers, 50, 10, 59) == 0);    // fixed + reserve alone: 60 > 59
    CHECK(backends::layers_that_fit(layers, 50, 10, 60) == 0);    // exactly the fixed part
    CHECK(backends::layers_that_fit(layers, 50, 10, 260) == 2);   // 60 + 100 + 100
    CHECK(backends::layers_that_fit(layers, 50, 10, 409) == 2);   // the third needs 410
    CHECK(backends::layers_that_fit(layers, 50, 10, 410) == 3);
    CHECK(backends::layers_that_fit(layers, 50, 10, 1 << 20) == 4);
    CHECK(backends::layers_that_fit({}, 0, 0, 0) == 0);
}
