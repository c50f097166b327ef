// tests/backends/test_cpu_ops.cpp — every op of core/ops.def on the CPU backend against a naive
// double-precision reference written here, on random odd shapes, strided views, broadcasting and
// every weight type; each case runs with 1 and 2 threads and requires identical bits.
#include <catch2/catch.hpp>

#include <set>

#include "tests/backends/op_harness.h"

using namespace quanta;
using namespace quanta::test;
using core::Op;

namespace {

std::set<Op> & covered() {
    static std::set<Op> ops;
    return ops;
}

bool cover(Op op) {
    covered().insert(op);
    return true;
}

// Each test below declares the ops it exercises at namespace scope, so the coverage test sees the
// whole list even when CTest runs it alone.
#define QUANTA_CAT2(a, b) a##b
#define QUANTA_CAT(a, b) QUANTA_CAT2(a, b)
#define COVERS(op) [[maybe_unused]] const bool QUANTA_CAT(covers_, __LINE__) = cover(op)

double gelu_tanh_ref(double x) { return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
double gelu_erf_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double silu_ref(double x) { return x / (1.0 + std::exp(-x)); }

std::vector<Type> weight_types() {
    std::vector<Type> out;
    for (const quant::TypeTraits & t : quant::all_types()) {
        if (!t.activation_only && t.dot_row && t.dequantize_row) out.push_back(t.type);
    }
    return out;
}

}  // namespace

namespace {
COVERS(Op::MulMat);
}  // namespace

TEST_CASE("mul_mat: every weight type / odd shapes / GQA broadcast / strided activations", "[cpu][ops]") {
    for (Type wt : weight_types()) {
        INFO("weight type " << core::type_name(wt));
        const int64_t bs = std::max(quant::traits(wt).block_size, quant::traits(quant::traits(wt).dot_with).block_size);
        const int64_t K = bs == 1 ? 96 : 2 * bs;
        const int64_t N = 19, M = 7, b2 = 2, B2 = 4;
        OpCase c(uint32_t(wt) + 11);
        std::vector<float> w, x;
        Tensor tw = c.typed("w", wt, {K, N, b2}, w);
        // Activations stored [K, B2, M] and viewed as [K, M, B2]: strided dims 1 and 2.
        Tensor tx = c.f32("x", {K, B2, M}, x);
        Tensor xv = c.g.permute(tx, 0, 2, 1, 3);
        Tensor out = c.g.mul_mat(tw, xv);
        std::vector<float> got = run_1_and_2(c, out);
        const Type vt = quant::traits(wt).dot_with;
        std::vector<double> ref(static_cast<size_t>(N * M * B2));
        for (int64_t i2 = 0; i2 < B2; ++i2) {
            for (int64_t m = 0; m < M; ++m) {
                std::vector<float> xr = round_trip(vt, &x[size_t((m * B2 + i2) * K)], K);
                for (int64_t n = 0; n < N; ++n) {
                    double s = 0;
                    const float * wr = &w[size_t(((i2 / (B2 / b2)) * N + n) * K)];
                    for (int64_t k = 0; k < K; ++k) s += double(wr[k]) * double(xr[size_t(k)]);
                    ref[size_t((i2 * M + m) * N + n)] = s;
                }
            }
        }
        // Q8_1 carries its block sum as fp16, so the Q4_1/Q5_1 dot rounds a little more.
        CHECK(rel_max_err(got, ref) < (vt == Type::Q8_1 ? 1e-3 : 2e-4));
    }
}

TEST_CASE("mul_mat: one token (decode mat-vec path) / every weight type / GQA broadcast", "[cpu][ops]") {
    // M = 1 takes the mat-vec branch of the tile loop (4 weight rows per quant call where quant has a
    // mat-vec kernel); N = 37 leaves partial groups at the end of each 16-row tile and of the matrix.
    for (Type wt : weight_types()) {
        INFO("weight type " << core::type_name(wt));
        const int64_t bs = std::max(quant::traits(wt).block_size, quant::traits(quant::traits(wt).dot_with).block_size);
        const int64_t K = bs == 1 ? 96 : 3 * bs;
        const int64_t N = 37, b2 = 2, B2 = 4;
        OpCase c(uint32_t(wt) + 29);
        std::vector<float> w, x;
        Tensor tw = c.typed("w", wt, {K, N, b2}, w);
        Tensor tx = c.f32("x", {K, 1, B2}, x);
        std::vector<float> got = run_1_and_2(c, c.g.mul_mat(tw, tx));
        const Type vt = quant::traits(wt).dot_with;
        std::vector<double> ref(static_cast<size_t>(N * B2));
        for (int64_t i2 = 0; i2 < B2; ++i2) {
            std::vector<float> xr = round_trip(vt, &x[size_t(i2 * K)], K);
            for (int64_t n = 0; n < N; ++n) {
                double s = 0;
                const float * wr = &w[size_t(((i2 / (B2 / b2)) * N + n) * K)];
                for (int64_t k = 0; k < K; ++k) s += double(wr[k]) * double(xr[size_t(k)]);
                ref[size_t(i2 * N + n)] = s;
            }
        }
        CHECK(rel_max_err(got, ref) < (vt == Type::Q8_1 ? 1e-3 : 2e-4));
    }
}

TEST_CASE("mul_mat: f16 activations and many tokens (tiled path)", "[cpu][ops]") {
    const int64_t K = 64, N = 37, M = 133;
    OpCase c(5);
    std::vector<float> w, x;
    Tensor tw = c.typed("w", Type::Q8_0, {K, N}, w);
    Tensor tx = c.typed("x", Type::F16, {K, M}, x);
    std::vector<float> got = run_1_and_2(c, c.g.mul_mat(tw, tx));
    std::vector<double> ref(static_cast<size_t>(N * M));
    for (int64_t m = 0; m < M; ++m) {
        std::vector<float> xr = round_trip(Type::Q8_0, &x[size_t(m * K)], K);
        for (int64_t n = 0; n < N; ++n) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += double(w[size_t(n * K + k)]) * xr[size_t(k)];
            ref[size_t(m * N + n)] = s;
        }
    }
    CHECK(rel_max_err(got, ref) < 2e-4);
}

namespace {
COVERS(Op::GetRows);
}  // namespace

TEST_CASE("get_rows: every table type", "[cpu][ops]") {
    for (Type t : weight_types()) {
        INFO("table type " << core::type_name(t));
        const int64_t n = quant::traits(t).block_size == 1 ? 64 : 2 * quant::traits(t).block_size;
        OpCase c(uint32_t(t) + 3);
        std::vector<float> table;
        Tensor tt = c.typed("table", t, {n, 9}, table);
        const std::vector<int32_t> ids = {3, 0, 8, 3, 5};
        std::vector<float> got = run_1_and_2(c, c.g.get_rows(tt, c.i32("ids", ids)));
        std::vector<double> ref;
        for (int32_t id : ids) {
            for (int64_t i = 0; i < n; ++i) ref.push_back(table[size_t(id * n + i)]);
        }
        CHECK(rel_max_err(got, ref) == 0.0);
    }
}

namespace {
COVERS(Op::Add);
COVERS(Op::Mul);
}  // namespace

TEST_CASE("add and mul: broadcasting and strided operands", "[cpu][ops]") {
    for (Op op : {Op::Add, Op::Mul}) {
        OpCase c(7);
        std::vector<float> a, b;
        Tensor ta = c.f32("a", {13, 6, 4}, a);
        Tensor tb = c.f32("b", {13, 1, 2}, b);
        Tensor av = c.g.slice(ta, 1, 1, 6);  // [13, 5, 4] with row stride of 6 rows
        Tensor out = op == Op::Add ? av + tb : av * tb;
        std::vector<float> got = run_1_and_2(c, out);
        std::vector<double> ref;
        for (int64_t i2 = 0; i2 < 4; ++i2) {
            for (int64_t i1 = 0; i1 < 5; ++i1) {
                for (int64_t i0 = 0; i0 < 13; ++i0) {
                    const double x = a[size_t((i2 * 6 + i1 + 1) * 13 + i0)], y = b[size_t((i2 % 2) * 13 + i0)];
                    ref.push_back(op == Op::Add ? x + y : x * y);
                }
            }
        }
        CHECK(rel_max_err(got, ref) < 1e-6);
    }
    OpCase c(8);  // a bias row broadcast along dim 0 repeats too
    std::vector<float> a, b;
    Tensor out = c.f32("a", {12, 3}, a) + c.f32("b", {4}, b);
    std::vector<float> got = run_1_and_2(c, out);
    std::vector<double> ref;
    for (size_t i = 0; i < a.size(); ++i) ref.push_back(double(a[i]) + b[i % 4]);
    CHECK(rel_max_err(got, ref) < 1e-6);
}

namespace {
COVERS(Op::Scale);
COVERS(Op::Silu);
COVERS(Op::Gelu);
COVERS(Op::SoftCap);
COVERS(Op::Glu);
}  // namespace

TEST_CASE("unary ops: scale / silu / gelu (tanh / erf) / soft_cap / glu", "[cpu][ops]") {
    struct U {
        const char * name;
        std::function<Tensor(OpCase &, Tensor, Tensor)> build;
        std::function<double(double, double)> ref;
    };
    const std::vector<U> cases = {
        {"scale", [](OpCase & c, Tensor x, Tensor) { return c.g.scale(x, -0.37f); }, [](double x, double) { return -0.37 * x; }},
        {"silu", [](OpCase & c, Tensor x, Tensor) { return c.g.silu(x); }, [](double x, double) { return silu_ref(x); }},
        {"gelu tanh", [](OpCase & c, Tensor x, Tensor) { return c.g.gelu(x, false); }, [](double x, double) { return gelu_tanh_ref(x); }},
        {"gelu erf", [](OpCase & c, Tensor x, Tensor) { return c.g.gelu(x, true); }, [](double x, double) { return gelu_erf_ref(x); }},
        {"soft_cap", [](OpCase & c, Tensor x, Tensor) { return c.g.soft_cap(x, 2.5f); }, [](double x, double) { return 2.5 * std::tanh(x / 2.5); }},
        {"glu silu", [](OpCase & c, Tensor x, Tensor y) { return c.g.glu(x, y, core::Activation::Silu); },
         [](double x, double y) { return silu_ref(x) * y; }},
        {"glu gelu tanh", [](OpCase & c, Tensor x, Tensor y) { return c.g.glu(x, y, core::Activation::GeluTanh); },
         [](double x, double y) { return gelu_tanh_ref(x) * y; }},
        {"glu gelu erf", [](OpCase & c, Tensor x, Tensor y) { return c.g.glu(x, y, core::Activation::GeluErf); },
         [](double x, double y) { return gelu_erf_ref(x) * y; }},
    };
    for (const U & u : cases) {
        INFO(u.name);
        OpCase c(13);
        std::vector<float> x, y;
        Tensor tx = c.f32("x", {31, 5, 3}, x, 3.0f);
        Tensor ty = c.f32("y", {31, 5, 3}, y);
        std::vector<float> got = run_1_and_2(c, u.build(c, tx, ty));
        std::vector<double> ref;
        for (size_t i = 0; i < x.size(); ++i) ref.push_back(u.ref(x[i], y[i]));
        CHECK(rel_max_err(got, ref) < 2e-6);
    }
}

namespace {
COVERS(Op::RmsNorm);
}  // namespace

TEST_CASE("rms_norm with weight / odd width", "[cpu][ops]") {
    OpCase c(17);
    std::vector<float> x, w;
    const int64_t n = 67;
    Tensor out = c.g.rms_norm(c.f32("x", {n, 5}, x, 4.0f), c.f32("w", {n}, w), 1e-5f);
    std::vector<float> got = run_1_and_2(c, out);
    std::vector<double> ref;
    for (int64_t r = 0; r < 5; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += double(x[size_t(r * n + i)]) * x[size_t(r * n + i)];
        const double s = 1.0 / std::sqrt(ss / double(n) + 1e-5);
        for (int64_t i = 0; i < n; ++i) ref.push_back(x[size_t(r * n + i)] * s * w[size_t(i)]);
    }
    CHECK(rel_max_err(got, ref) < 1e-5);
}

namespace {

std::vector<double> rope_ref(const std::vector<float> & x, int64_t hd, int64_t n_head, const std::vector<int32_t> & pos,
                             const core::RopeParams & p) {
    std::vector<double> out(x.begin(), x.end());
    const int64_t half = p.n_rot / 2;
    for (size_t t = 0; t < pos.size(); ++t) {
        for (int64_t h = 0; h < n_head; ++h) {
            const size_t base = (t * size_t(n_head) + size_t(h)) * size_t(hd);
            for (int64_t i = 0; i < half; ++i) {
                double f = std::pow(double(p.base), -2.0 * double(i) / double(p.n_rot));
                if (p.scaling == core::RopeScaling::Linear) f /= p.factor;
                if (p.scaling == core::RopeScaling::Llama3) {
                    const double wl = 2 * M_PI / f, lo = p.original_context / p.low_freq_factor,
                                 hi = p.original_context / p.high_freq_factor;
                    if (wl > lo) f /= p.factor;
                    else if (wl >= hi) {
                        const double sm = (p.original_context / wl - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
                        f = (1 - sm) * f / p.factor + sm * f;
                    }
                }
                const double a = pos[t] * f;
                const size_t ia = base + size_t(p.neox ? i : 2 * i), ib = base + size_t(p.neox ? i + half : 2 * i + 1);
                out[ia] = x[ia] * std::cos(a) - x[ib] * std::sin(a);
                out[ib] = x[ia] * std::sin(a) + x[ib] * std::cos(a);
            }
        }
    }
    return out;
}

}  // namespace

namespace {
COVERS(Op::Rope);
}  // namespace

TEST_CASE("rope: normal and NeoX pairing / partial rotary dims / linear and llama3 scaling", "[cpu][ops]") {
    const int64_t hd = 24, n_head = 3;
    const std::vector<int32_t> pos = {0, 1, 7, 300, 4095};
    for (bool neox : {false, true}) {
        for (auto scaling : {core::RopeScaling::None, core::RopeScaling::Linear, core::RopeScaling::Llama3}) {
            for (int32_t n_rot : {24, 16}) {
                core::RopeParams p;
                p.neox = neox;
                p.n_rot = n_rot;
                p.base = 500000.0f;
                p.scaling = scaling;
                p.factor = scaling == core::RopeScaling::Linear ? 4.0f : 8.0f;
                p.original_context = 256;
                INFO("neox " << neox << " scaling " << int(scaling) << " n_rot " << n_rot);
                OpCase c(19);
                std::vector<float> x;
                Tensor tx = c.f32("x", {hd, n_head, int64_t(pos.size())}, x);
                std::vector<float> got = run_1_and_2(c, c.g.rope(tx, c.i32("pos", pos), p));
                CHECK(rel_max_err(got, rope_ref(x, hd, n_head, pos, p)) < 2e-5);
            }
        }
    }
}

namespace {

// Naive attention in double: q [hd, nh, nq], k/v [hd, nkh, nkv] (f32 values after the cache type);
// kpos (empty: slot j holds position j) gives each slot's position, -1 for an empty slot.
std::vector<double> attention_ref(const std::vector<float> & q, const std::vector<float> & k, const std::vector<float> & v,
                                  int64_t hd, int64_t nh, int64_t nkh, int64_t nkv, const std::vector<int32_t> & pos,
                                  const core::AttentionParams & p, Type kv_type, const std::vector<int32_t> & kpos = {}) {
    const int64_t nq = int64_t(pos.size());
    std::vector<double> out(size_t(hd * nh * nq), 0.0);
    for (int64_t i = 0; i < nq; ++i) {
        for (int64_t h = 0; h < nh; ++h) {
            const int64_t hk = h / (nh / nkh);
            const float * qr = &q[size_t((i * nh + h) * hd)];
            std::vector<float> qq = round_trip(kv_type == Type::Q8_0 ? Type::Q8_0 : Type::F32, qr, hd);
            std::vector<double> s(static_cast<size_t>(nkv));
            double mx = -INFINITY;
            for (int64_t j = 0; j < nkv; ++j) {
                const int64_t kp = kpos.empty() ? j : kpos[size_t(j)];
                const int64_t qp = pos[size_t(i)];
                const bool vis = kp >= 0 && (!p.causal || kp <= qp) && (p.window == 0 || qp - kp < p.window);
                if (!vis) { s[size_t(j)] = -INFINITY; continue; }
                double d = 0;
                for (int64_t e = 0; e < hd; ++e) d += double(qq[size_t(e)]) * k[size_t((j * nkh + hk) * hd + e)];
                d *= p.scale;
                if (p.softcap > 0) d = p.softcap * std::tanh(d / p.softcap);
                s[size_t(j)] = d;
                mx = std::max(mx, d);
            }
            double sum = 0;
            for (double & x : s) { x = std::isinf(x) ? 0.0 : std::exp(x - mx); sum += x; }
            if (sum == 0.0) continue;  // nothing visible: zero output
            for (int64_t j = 0; j < nkv; ++j) {
                for (int64_t e = 0; e < hd; ++e) out[size_t((i * nh + h) * hd + e)] += s[size_t(j)] / sum * v[size_t((j * nkh + hk) * hd + e)];
            }
        }
    }
    return out;
}

}  // namespace

namespace {
COVERS(Op::Attention);
COVERS(Op::SoftMax);
}  // namespace

TEST_CASE("attention: fused vs naive and vs the unfused composition / masks / window / soft-cap / GQA / KV types", "[cpu][ops]") {
    const int64_t hd = 64, nh = 4, nkh = 2, nkv = 150;
    for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
        for (int variant = 0; variant < 3; ++variant) {
            core::AttentionParams p;
            p.scale = 1.0f / 8.0f;
            if (variant == 1) p.window = 37;
            if (variant == 2) p.softcap = 5.0f;
            // 5 new tokens at positions 140..144 of a 150-slot cache (the rest is masked garbage).
            std::vector<int32_t> pos = {140, 141, 142, 143, 144};
            if (variant == 0) pos = {3, 60, 99, 0, 149};
            INFO("kv " << core::type_name(kv) << " variant " << variant);
            OpCase c(23 + variant);
            std::vector<float> q, k, v;
            Tensor tq = c.f32("q", {hd, nh, int64_t(pos.size())}, q, 2.0f);
            Tensor tk = c.typed("k", kv, {hd, nkh, nkv}, k);
            Tensor tv = c.typed("v", kv, {hd, nkh, nkv}, v);
            Tensor tpos = c.i32("pos", pos);
            Tensor fused = c.g.attention(tq, tk, tv, tpos, p);
            Tensor unfused = c.g.attention_reference(tq, tk, tv, tpos, p);
            std::vector<std::vector<float>> one = c.run({fused, unfused}, 1);
            std::vector<std::vector<float>> two = c.run({fused, unfused}, 2);
            REQUIRE(bitwise_equal(one[0], two[0]));
            REQUIRE(bitwise_equal(one[1], two[1]));
            const std::vector<double> ref = attention_ref(q, k, v, hd, nh, nkh, nkv, pos, p, kv);
            CHECK(rel_max_err(one[0], ref) < 1e-4);
            CHECK(rel_max_err(one[1], ref) < 1e-4);
        }
    }
}

TEST_CASE("attention with key positions: identity / ring order / empty slots / window by position", "[cpu][ops]") {
    // A 48-slot ring holding positions 100..147 at slot pos % 48, queries at 140..147: window 37
    // masks by position, not by slot index. Then a few slots emptied (-1), then a cache whose
    // visible keys do not form a prefix (non-causal, scattered positions).
    const int64_t hd = 64, nh = 4, nkh = 2, nkv = 48;
    const std::vector<int32_t> pos = {140, 141, 142, 143, 144, 145, 146, 147};
    std::vector<int32_t> ring(static_cast<size_t>(nkv));
    for (int32_t t = 100; t < 148; ++t) ring[size_t(t % nkv)] = t;
    std::vector<int32_t> holes = ring;
    for (int j : {0, 5, 6, 7, 31, 47}) holes[size_t(j)] = -1;
    std::vector<int32_t> scattered(static_cast<size_t>(nkv));
    for (int64_t j = 0; j < nkv; ++j) scattered[size_t(j)] = int32_t((j * 29) % 97) + 60;
    std::vector<int32_t> identity(static_cast<size_t>(nkv));
    for (int64_t j = 0; j < nkv; ++j) identity[size_t(j)] = int32_t(j);
    struct Variant {
        const char * name;
        const std::vector<int32_t> * kpos;
        int32_t window;
        bool causal;
    };
    const Variant variants[] = {{"ring", &ring, 0, true},          {"ring, window 37", &ring, 37, true},
                                {"ring with empty slots", &holes, 21, true}, {"scattered, non-causal", &scattered, 30, false},
                                {"scattered, causal", &scattered, 0, true}};
    for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) {
        for (const Variant & var : variants) {
            INFO("kv " << core::type_name(kv) << ", " << var.name);
            core::AttentionParams p;
            p.scale = 1.0f / 8.0f;
            p.window = var.window;
            p.causal = var.causal;
            p.softcap = var.window == 21 ? 4.0f : 0.0f;
            OpCase c(61);
            std::vector<float> q, k, v;
            Tensor tq = c.f32("q", {hd, nh, int64_t(pos.size())}, q, 2.0f);
            Tensor tk = c.typed("k", kv, {hd, nkh, nkv}, k);
            Tensor tv = c.typed("v", kv, {hd, nkh, nkv}, v);
            Tensor tpos = c.i32("pos", pos);
            Tensor tkpos = c.i32("kpos", *var.kpos);
            Tensor fused = c.g.attention(tq, tk, tv, tpos, p, tkpos);
            Tensor unfused = c.g.attention_reference(tq, tk, tv, tpos, p, tkpos);
            std::vector<std::vector<float>> one = c.run({fused, unfused}, 1);
            std::vector<std::vector<float>> two = c.run({fused, unfused}, 2);
            REQUIRE(bitwise_equal(one[0], two[0]));
            REQUIRE(bitwise_equal(one[1], two[1]));
            const std::vector<double> ref = attention_ref(q, k, v, hd, nh, nkh, nkv, pos, p, kv, *var.kpos);
            CHECK(rel_max_err(one[0], ref) < 1e-4);
            CHECK(rel_max_err(one[1], ref) < 1e-4);
            // The mask matters: the same cache read as if slot j held position j gives other values.
            const std::vector<double> as_prefix = attention_ref(q, k, v, hd, nh, nkh, nkv, pos, p, kv);
            CHECK(rel_max_err(one[0], as_prefix) > 1e-2);
        }
    }
    SECTION("kpos = slot index gives the same bits as no kpos") {
        for (int32_t window : {0, 11}) {
            core::AttentionParams p;
            p.scale = 0.125f;
            p.window = window;
            const std::vector<int32_t> qpos = {3, 20, 47, 30};
            OpCase c(67);
            std::vector<float> q, k, v;
            Tensor tq = c.f32("q", {hd, nh, int64_t(qpos.size())}, q);
            Tensor tk = c.typed("k", Type::F16, {hd, nkh, nkv}, k);
            Tensor tv = c.typed("v", Type::F16, {hd, nkh, nkv}, v);
            Tensor tpos = c.i32("pos", qpos);
            Tensor tkpos = c.i32("kpos", identity);
            std::vector<std::vector<float>> r =
                c.run({c.g.attention(tq, tk, tv, tpos, p), c.g.attention(tq, tk, tv, tpos, p, tkpos),
                       c.g.attention_reference(tq, tk, tv, tpos, p), c.g.attention_reference(tq, tk, tv, tpos, p, tkpos)},
                      2);
            CHECK(bitwise_equal(r[0], r[1]));
            CHECK(bitwise_equal(r[2], r[3]));
        }
    }
    SECTION("a query that sees only empty slots gets zeros; soft_max rows too") {
        OpCase c(71);
        std::vector<float> q, k, v, x;
        const std::vector<int32_t> empty(static_cast<size_t>(nkv), -1);
        Tensor tq = c.f32("q", {hd, nh, 2}, q);
        Tensor tk = c.typed("k", Type::F32, {hd, nkh, nkv}, k);
        Tensor tv = c.typed("v", Type::F32, {hd, nkh, nkv}, v);
        Tensor tpos = c.i32("pos", {5, 9});
        Tensor tkpos = c.i32("kpos", empty);
        Tensor tx = c.f32("x", {nkv, 2, nh}, x);
        std::vector<std::vector<float>> r = c.run(
            {c.g.attention(tq, tk, tv, tpos, core::AttentionParams{}, tkpos), c.g.soft_max(tx, tpos, {}, tkpos)}, 2);
        for (float f : r[0]) CHECK(f == 0.0f);
        for (float f : r[1]) CHECK(f == 0.0f);
    }
    SECTION("the builder rejects key positions of the wrong length or type") {
        GraphBuilder g;
        Tensor tq = g.input("q", Type::F32, {hd, nh, 2});
        Tensor tk = g.input("k", Type::F16, {hd, nkh, nkv});
        Tensor tv = g.input("v", Type::F16, {hd, nkh, nkv});
        Tensor tpos = g.input("pos", core::kI32, {2});
        Tensor bad = g.input("kpos", core::kI32, {nkv - 1});
        g.attention(tq, tk, tv, tpos, core::AttentionParams{}, bad);
        REQUIRE_FALSE(g.status().ok());
        CHECK_THAT(g.status().message(), Catch::Contains("key positions"));
        GraphBuilder g2;
        Tensor x = g2.input("x", Type::F32, {nkv, 2, nh});
        g2.soft_max(x, g2.input("pos", core::kI32, {2}), core::SoftMaxParams{}, g2.input("kpos", Type::F32, {nkv}));
        REQUIRE_FALSE(g2.status().ok());
        CHECK_THAT(g2.status().message(), Catch::Contains("key positions"));
    }
}

namespace {
COVERS(Op::Copy);
}  // namespace

TEST_CASE("copy: strided f32 to f16 / bf16 / q8_0 and back / quantized to f32", "[cpu][ops]") {
    for (Type dst : {Type::F32, Type::F16, Type::BF16, Type::Q8_0}) {
        INFO("to " << core::type_name(dst));
        OpCase c(29);
        std::vector<float> x;
        Tensor tx = c.f32("x", {5, 64, 3}, x);
        Tensor xt = c.g.transpose(tx);  // [64, 5, 3], element stride 20 bytes
        std::vector<float> got = run_1_and_2(c, c.g.copy(xt, dst));
        std::vector<double> ref;
        for (int64_t i2 = 0; i2 < 3; ++i2) {
            for (int64_t i1 = 0; i1 < 5; ++i1) {
                std::vector<float> row(64);
                for (int64_t i0 = 0; i0 < 64; ++i0) row[size_t(i0)] = x[size_t((i2 * 64 + i0) * 5 + i1)];
                for (float f : round_trip(dst, row.data(), 64)) ref.push_back(f);
            }
        }
        CHECK(rel_max_err(got, ref) == 0.0);
    }
    OpCase c(31);
    std::vector<float> w;
    Tensor tw = c.typed("w", Type::Q4_K, {256, 3}, w);
    std::vector<float> got = run_1_and_2(c, c.g.copy(tw, Type::F32));
    CHECK(rel_max_err(got, std::vector<double>(w.begin(), w.end())) == 0.0);
}

namespace {
COVERS(Op::SetRows);
}  // namespace

TEST_CASE("set_rows: KV-cache writes in f32 / f16 and q8_0 / then attention reads them", "[cpu][ops]") {
    for (Type ct : {Type::F32, Type::F16, Type::Q8_0}) {
        INFO("cache " << core::type_name(ct));
        OpCase c(37);
        std::vector<float> cache0, rows;
        Tensor cache = c.typed("cache", ct, {64, 10}, cache0);
        Tensor trows = c.f32("rows", {64, 3}, rows);
        const std::vector<int32_t> ids = {7, 2, 9};
        Tensor written = c.g.set_rows(cache, trows, c.i32("slots", ids));
        // A later node reads the cache through the returned tensor: it must see the new rows.
        Tensor after = c.g.copy(written, Type::F32);
        std::vector<std::vector<float>> one = c.run({after}, 1);
        std::vector<std::vector<float>> two = c.run({after}, 2);
        REQUIRE(bitwise_equal(one[0], two[0]));
        std::vector<double> ref(cache0.begin(), cache0.end());
        for (size_t r = 0; r < ids.size(); ++r) {
            std::vector<float> q = round_trip(ct, &rows[r * 64], 64);
            for (int64_t i = 0; i < 64; ++i) ref[size_t(ids[r] * 64 + i)] = q[size_t(i)];
        }
        CHECK(rel_max_err(one[0], ref) == 0.0);
    }
}

namespace {
COVERS(Op::Argmax);
}  // namespace

TEST_CASE("argmax: first maximum per row", "[cpu][ops]") {
    OpCase c(41);
    std::vector<float> x;
    Tensor tx = c.f32("x", {1001, 4}, x);
    std::vector<float> got = run_1_and_2(c, c.g.argmax(tx));
    for (int64_t r = 0; r < 4; ++r) {
        int64_t best = 0;
        for (int64_t i = 1; i < 1001; ++i) {
            if (x[size_t(r * 1001 + i)] > x[size_t(r * 1001 + best)]) best = i;
        }
        CHECK(int64_t(got[size_t(r)]) == best);
    }
}

TEST_CASE("get_rows rejects out-of-range ids at run time with a Status", "[cpu][ops]") {
    OpCase c(43);
    std::vector<float> t;
    Tensor out = c.g.get_rows(c.f32("table", {8, 4}, t), c.i32("ids", {1, 4}));
    c.g.mark_output(out);
    Result<core::Graph> g = c.g.build();
    REQUIRE(g.ok());
    backends::cpu::CpuBackend cpu(2);
    core::ExecutorOptions o;
    o.cpu = &cpu;
    auto ex = core::Executor::create(g.value(), o);
    REQUIRE(ex.ok());
    for (const core::Storage & s : ex.value()->graph().storages) {
        if (s.kind == core::StorageKind::External) REQUIRE(ex.value()->bind_new(s.layout, cpu).ok());
    }
    const int32_t ids[2] = {1, 4};
    const core::Storage * ids_storage = nullptr;
    for (const core::Storage & st : g.value().storages) {
        if (st.name == "ids") ids_storage = &st;
    }
    REQUIRE(ids_storage);
    REQUIRE(ex.value()->write(ids_storage->layout, ids, sizeof ids).ok());
    Status s = ex.value()->run();
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("out of range") != std::string::npos);
}

// Runs last (Catch2 orders by declaration): every op in ops.def has a CPU kernel and a case above.
TEST_CASE("coverage: the CPU backend has a kernel for every op in ops.def / and every op is tested", "[cpu][ops]") {
    backends::cpu::CpuBackend cpu(1);
    for (int i = 0; i < core::kOpCount; ++i) {
        const Op op = Op(i);
        INFO("op " << core::op_name(op));
        CHECK(cpu.kernels().has_op(op));
        CHECK(covered().count(op) == 1);
    }
}

TEST_CASE("attention and rope survive hostile positions without reading outside the cache", "[cpu][ops]") {
    // Positions are user data: clamped, never trusted. A negative position sees no key (zero
    // output); with a window, a position far past the cache sees none either.
    const int64_t hd = 32, nh = 2, nkv = 8;
    const std::vector<int32_t> pos = {-5, 2000000000, -2147483647 - 1, 3};
    OpCase c(47);
    std::vector<float> q, k, v;
    Tensor tq = c.f32("q", {hd, nh, int64_t(pos.size())}, q);
    Tensor tk = c.typed("k", Type::F16, {hd, nh, nkv}, k);
    Tensor tv = c.typed("v", Type::F16, {hd, nh, nkv}, v);
    Tensor tpos = c.i32("pos", pos);
    core::AttentionParams p;
    p.scale = 0.2f;
    p.window = 4;
    Tensor fused = c.g.attention(c.g.rope(tq, tpos, core::RopeParams{}), tk, tv, tpos, p);
    std::vector<float> got = run_1_and_2(c, fused);
    for (float x : got) REQUIRE(std::isfinite(x));
    for (int64_t e = 0; e < hd * nh; ++e) CHECK(got[size_t(e)] == 0.0f);  // pos -5: nothing visible
}
