// tests/core/test_executor.cpp — the executor on a tiny transformer-shaped graph: memory reuse
// with NaN poisoning of dead intermediates gives the same bits as no reuse; per-node fallback from
// a device-only backend that lacks ops, and the layer split across two backends, give the same
// bits as CPU-only; plans are reused across runs with new inputs; a NodeObserver sees the same
// activations whether they live on the CPU, in poisoned reuse or in device memory.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "backends/cpu/cpu_backend.h"
#include "core/executor.h"

using namespace quanta;
using namespace quanta::core;
using backends::cpu::CpuBackend;

namespace {

// A stand-in accelerator: memory it hands out has no host address (so every crossing must go
// through upload/download, as with CUDA or Vulkan), it refuses to run nodes that touch another
// backend's buffers, and it supports only the ops it is given.
class DeviceSim final : public Backend {
public:
    DeviceSim(std::string name, std::set<Op> ops) : name_(std::move(name)), ops_(std::move(ops)), inner_(1, "sim-inner") {}

    std::string_view name() const override { return name_; }
    Result<BufferPtr> alloc(size_t bytes) override {
        Result<BufferPtr> b = inner_.alloc(bytes);
        if (!b.ok()) return b.status();
        return BufferPtr(new DeviceBuffer(*this, std::move(b.value())));
    }
    Status upload(Buffer & dst, size_t off, const void * src, size_t n) override {
        return inner_.upload(*inner(dst), off, src, n);
    }
    Status download(const Buffer & src, size_t off, void * dst, size_t n) override {
        return inner_.download(*inner(src), off, dst, n);
    }
    bool supports(const Node & node) const override { return ops_.count(node.op) && inner_.supports(node); }
    Status run(std::span<const BoundNode> nodes) override {
        std::vector<BoundNode> mapped(nodes.begin(), nodes.end());
        for (BoundNode & n : mapped) {
            if (!supports(*n.node)) return Status::error(name_ + ": asked to run an unsupported node");
            for (BoundTensor * t : {&n.dst, &n.src[0], &n.src[1], &n.src[2], &n.src[3]}) {
                if (!t->buffer) continue;
                if (&t->buffer->backend() != this) return Status::error(name_ + ": node reads another backend's buffer");
                t->buffer = inner(*t->buffer);
            }
        }
        nodes_run += int(mapped.size());
        return inner_.run(mapped);
    }
    Status sync() override { return ok_status(); }

    int nodes_run = 0;

private:
    struct DeviceBuffer final : Buffer {
        DeviceBuffer(Backend & owner, BufferPtr in) : Buffer(owner, in->size(), nullptr), inner(std::move(in)) {}
        BufferPtr inner;
    };
    static Buffer * inner(const Buffer & b) { return static_cast<const DeviceBuffer &>(b).inner.get(); }

    std::string name_;
    std::set<Op> ops_;
    CpuBackend inner_;
};

struct TinyModel {
    static constexpr int64_t n_embd = 64, n_head = 4, n_head_kv = 2, head_dim = 16, n_ff = 96, n_vocab = 50;
    static constexpr int64_t n_ctx = 32, n_tokens = 5;
    static constexpr int n_layer = 4;

    Graph graph;
    Tensor tokens, pos, slots, logits, next;
    std::vector<Tensor> externals;  // every input and weight
    std::vector<int> layer_of;      // layer of each external (-1: outside layers / inputs)
    std::vector<Tensor> caches;
    Type weight_type = Type::Q8_0;

    TinyModel() {
        GraphBuilder g;
        auto ext = [&](const std::string & name, Type t, const Dims & ne, int il) {
            Tensor x = g.weight(name, t, ne);
            externals.push_back(x);
            layer_of.push_back(il);
            return x;
        };
        tokens = ext("tokens", kI32, {n_tokens}, -1);
        pos = ext("pos", kI32, {n_tokens}, -1);
        slots = ext("slots", kI32, {n_tokens}, -1);
        Tensor emb = ext("token_embd", Type::Q4_K, {256, n_vocab}, -1);
        Tensor x = g.get_rows(emb, tokens);  // [256, n_tokens]
        x = g.slice(x, 0, 0, n_embd);        // strided view: [64, n_tokens] with 256-wide rows
        x = g.copy(x, Type::F32);
        for (int il = 0; il < n_layer; ++il) {
            const std::string p = "blk." + std::to_string(il) + ".";
            g.set_layer(il);
            Tensor h = g.rms_norm(x, ext(p + "attn_norm", Type::F32, {n_embd}, il), 1e-6f);
            Tensor q = g.mul_mat(ext(p + "attn_q", weight_type, {n_embd, n_head * head_dim}, il), h);
            Tensor k = g.mul_mat(ext(p + "attn_k", weight_type, {n_embd, n_head_kv * head_dim}, il), h);
            Tensor v = g.mul_mat(ext(p + "attn_v", weight_type, {n_embd, n_head_kv * head_dim}, il), h);
            RopeParams rp;
            rp.neox = il % 2 == 1;
            q = g.rope(g.reshape(q, {head_dim, n_head, n_tokens}), pos, rp);
            k = g.rope(g.reshape(k, {head_dim, n_head_kv, n_tokens}), pos, rp);
            Tensor kc = ext(p + "k_cache", Type::F16, {n_head_kv * head_dim, n_ctx}, il);
            Tensor vc = ext(p + "v_cache", Type::F16, {n_head_kv * head_dim, n_ctx}, il);
            caches.push_back(kc);
            caches.push_back(vc);
            kc = g.set_rows(kc, g.reshape(k, {n_head_kv * head_dim, n_tokens}), slots);
            vc = g.set_rows(vc, v, slots);
            AttentionParams ap;
            ap.scale = 0.25f;
            ap.window = il == 1 ? 3 : 0;
            ap.softcap = il == 2 ? 20.0f : 0.0f;
            Tensor kv_k = g.slice(g.reshape(kc, {head_dim, n_head_kv, n_ctx}), 2, 0, 16);
            Tensor kv_v = g.slice(g.reshape(vc, {head_dim, n_head_kv, n_ctx}), 2, 0, 16);
            Tensor a = g.attention(q, kv_k, kv_v, pos, ap);
            a = g.reshape(a, {n_head * head_dim, n_tokens});
            x = x + g.mul_mat(ext(p + "attn_output", weight_type, {n_head * head_dim, n_embd}, il), a);
            Tensor h2 = g.rms_norm(x, ext(p + "ffn_norm", Type::F32, {n_embd}, il), 1e-6f);
            Tensor gate = g.mul_mat(ext(p + "ffn_gate", weight_type, {n_embd, n_ff}, il), h2);
            Tensor up = g.mul_mat(ext(p + "ffn_up", Type::F16, {n_embd, n_ff}, il), h2);
            Tensor act = g.glu(gate, up, il % 2 ? Activation::GeluTanh : Activation::Silu);
            x = x + g.mul_mat(ext(p + "ffn_down", weight_type, {n_ff, n_embd}, il), act) * 0.5f;
        }
        g.set_layer(kNoLayer);
        x = g.rms_norm(x, ext("output_norm", Type::F32, {n_embd}, -1), 1e-6f);
        logits = g.soft_cap(g.mul_mat(ext("output", Type::Q8_0, {n_embd, n_vocab}, -1), x), 30.0f);
        next = g.argmax(logits);
        g.mark_output(logits);
        g.mark_output(next);
        Result<Graph> r = g.build();
        INFO(r.status().message());
        REQUIRE(r.ok());
        graph = std::move(r.value());
    }
};

}  // namespace

namespace {

// Deterministic contents of external i: random weights (norm weights near 1), fixed token ids and
// positions, and KV caches full of NaN bytes (masked slots must never be read).
std::vector<uint8_t> external_bytes(const Graph & g, const Tensor & t, int index) {
    const Storage & st = g.storages[size_t(t.storage)];
    std::vector<uint8_t> bytes(static_cast<size_t>(st.bytes));
    if (t.type == kI32) {
        const int32_t tokens[5] = {1, 7, 3, 49, 0};
        for (int i = 0; i < 5; ++i) {
            const int32_t v = st.name == "tokens" ? tokens[i] : i;
            std::memcpy(bytes.data() + 4 * i, &v, 4);
        }
        return bytes;
    }
    if (st.name.find("cache") != std::string::npos) {
        std::fill(bytes.begin(), bytes.end(), uint8_t(0xFF));
        return bytes;
    }
    std::mt19937 rng(uint32_t(1000 + index));
    std::normal_distribution<float> dist(0.0f, 0.5f);
    const bool norm = st.name.find("norm") != std::string::npos;
    const int64_t n0 = t.ne[0], rows = t.nrows();
    std::vector<float> row(static_cast<size_t>(n0));
    const size_t rb = type_row_bytes(t.type, n0);
    for (int64_t r = 0; r < rows; ++r) {
        for (float & v : row) v = norm ? 1.0f + 0.1f * dist(rng) : dist(rng);
        quant::traits(t.type).quantize_row(row.data(), bytes.data() + size_t(r) * rb, n0, nullptr);
    }
    return bytes;
}

struct RunResult {
    std::vector<float> logits;
    std::vector<int32_t> next;
    std::vector<std::vector<uint8_t>> caches;
    ExecutorStats stats;
};

// Binds every external (layer il < n_gpu_layers on the gpu backend, like a loader offloading
// layers), runs twice (the second run reuses the plan and must give the same bits) and reads back.
// by_preference: bind each external where Executor::preferred_backend says instead.
RunResult run_model(const TinyModel & m, const ExecutorOptions & opts, bool by_preference = false) {
    auto ex = Executor::create(m.graph, opts);
    REQUIRE(ex.ok());
    Executor & e = *ex.value();
    for (size_t i = 0; i < m.externals.size(); ++i) {
        const int il = m.layer_of[i];
        bool on_gpu = opts.gpu && il >= 0 && il < opts.n_gpu_layers;
        if (by_preference) on_gpu = e.preferred_backend(m.externals[i]) == 1;
        Backend & b = on_gpu ? *opts.gpu : *opts.cpu;
        REQUIRE(e.bind_new(m.externals[i], b).ok());
        const std::vector<uint8_t> bytes = external_bytes(m.graph, m.externals[i], int(i));
        REQUIRE(e.write(m.externals[i], bytes.data(), bytes.size()).ok());
    }
    RunResult out;
    out.logits.resize(size_t(m.logits.nelements()));
    out.next.resize(size_t(m.next.nelements()));
    for (int pass = 0; pass < 2; ++pass) {
        Status s = e.run();
        INFO(s.message());
        REQUIRE(s.ok());
        std::vector<float> logits(out.logits.size());
        REQUIRE(e.read(m.logits, logits.data(), logits.size() * 4).ok());
        if (pass == 1) REQUIRE(std::memcmp(logits.data(), out.logits.data(), logits.size() * 4) == 0);
        out.logits = logits;
    }
    REQUIRE(e.read(m.next, out.next.data(), out.next.size() * 4).ok());
    for (const Tensor & c : m.caches) {
        std::vector<uint8_t> bytes(size_t(c.extent_bytes()));
        REQUIRE(e.read(c, bytes.data(), bytes.size()).ok());
        out.caches.push_back(bytes);
    }
    out.stats = e.stats();
    return out;
}

void require_same(const RunResult & a, const RunResult & b) {
    REQUIRE(a.logits.size() == b.logits.size());
    CHECK(std::memcmp(a.logits.data(), b.logits.data(), a.logits.size() * 4) == 0);
    CHECK(a.next == b.next);
    CHECK(a.caches == b.caches);
    for (float v : a.logits) REQUIRE(std::isfinite(v));
}

RunResult cpu_only(const TinyModel & m, int threads = 1) {
    CpuBackend cpu(threads);
    ExecutorOptions o;
    o.cpu = &cpu;
    return run_model(m, o);
}

}  // namespace

TEST_CASE("executor: planned reuse with NaN-poisoned dead intermediates equals no reuse", "[core][executor]") {
    TinyModel m;
    CpuBackend cpu(1);
    ExecutorOptions flat;
    flat.cpu = &cpu;
    flat.reuse_memory = false;
    const RunResult ref = run_model(m, flat);

    ExecutorOptions reuse = flat;
    reuse.reuse_memory = true;
    reuse.poison_freed = true;
    const RunResult got = run_model(m, reuse);
    require_same(got, ref);
    INFO("planned peak " << got.stats.planned_peak[0] << " of " << got.stats.unshared_bytes[0]);
    CHECK(got.stats.planned_peak[0] * 3 < got.stats.unshared_bytes[0]);
    CHECK(got.stats.copies == 0);
    CHECK(ref.stats.submissions == 1);  // without poisoning: one Backend::run for the whole graph

    CpuBackend cpu2(2);
    reuse.cpu = &cpu2;
    require_same(run_model(m, reuse), ref);  // 2 threads: identical bits
}

TEST_CASE("executor: per-node fallback from a device lacking ops gives CPU-only results", "[core][executor]") {
    TinyModel m;
    const RunResult ref = cpu_only(m);
    CpuBackend cpu(1);
    DeviceSim dev("sim", {Op::MulMat, Op::Add, Op::RmsNorm, Op::Glu, Op::Scale, Op::SoftCap});
    ExecutorOptions o;
    o.cpu = &cpu;
    o.gpu = &dev;
    o.n_gpu_layers = TinyModel::n_layer;
    o.gpu_outside_layers = true;
    const RunResult got = run_model(m, o);
    require_same(got, ref);
    CHECK(got.stats.fallbacks > 0);   // rope, set_rows, attention, get_rows, copy, argmax
    CHECK(got.stats.copies > 0);
    CHECK(got.stats.nodes_on[1] > 0);
    CHECK(dev.nodes_run > 0);
}

TEST_CASE("executor: layer split (first N layers on a second backend) gives CPU-only results", "[core][executor]") {
    TinyModel m;
    const RunResult ref = cpu_only(m);
    for (int n_gpu : {0, 1, 2, 4}) {
        INFO("n_gpu_layers " << n_gpu);
        CpuBackend cpu(1), second(2, "cpu-as-gpu");
        ExecutorOptions o;
        o.cpu = &cpu;
        o.gpu = &second;
        o.n_gpu_layers = n_gpu;
        const RunResult got = run_model(m, o);
        require_same(got, ref);
        CHECK(got.stats.fallbacks == 0);
        if (n_gpu > 0) CHECK(got.stats.nodes_on[1] > 0);
        if (n_gpu == 0) CHECK(got.stats.nodes_on[1] == 0);
        CHECK((got.stats.copies > 0) == (n_gpu > 0));
        // Binding where the executor prefers: same bits, and only activations cross (a handful
        // of copies at the layer boundary, no weights).
        const RunResult pref = run_model(m, o, true);
        require_same(pref, ref);
        CHECK(pref.stats.copies <= got.stats.copies);
        if (n_gpu > 0) CHECK(pref.stats.copy_bytes < 4096);
    }
    // The same with a device-only stand-in that supports everything: data crosses by upload/download.
    CpuBackend cpu(1);
    DeviceSim dev("sim-all", {Op::GetRows, Op::MulMat, Op::Add, Op::Mul, Op::Scale, Op::RmsNorm, Op::Rope, Op::Attention,
                              Op::SoftMax, Op::Gelu, Op::Silu, Op::Glu, Op::SoftCap, Op::Copy, Op::SetRows, Op::Argmax});
    ExecutorOptions o;
    o.cpu = &cpu;
    o.gpu = &dev;
    o.n_gpu_layers = 2;
    const RunResult got = run_model(m, o);
    require_same(got, ref);
    CHECK(got.stats.copies >= 2);  // into the device before layer 0, back out after layer 1
}

TEST_CASE("executor: unbound inputs and foreign buffers are reported", "[core][executor]") {
    TinyModel m;
    CpuBackend cpu(1), other(1, "other");
    ExecutorOptions o;
    o.cpu = &cpu;
    auto ex = Executor::create(m.graph, o);
    REQUIRE(ex.ok());
    Status s = ex.value()->run();
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("is not bound") != std::string::npos);
    Result<BufferPtr> buf = other.alloc(1024);
    REQUIRE(buf.ok());
    Status b = ex.value()->bind(m.tokens, *buf.value());
    REQUIRE_FALSE(b.ok());
    CHECK(b.message().find("does not use") != std::string::npos);
    Result<BufferPtr> small = cpu.alloc(4);
    REQUIRE(small.ok());
    CHECK_FALSE(ex.value()->bind(m.tokens, *small.value()).ok());
}

namespace {

// Records, for every mul_mat whose weights are an external, its activations (src[1], F32) as seen
// through NodeObserver; fails on request with a message.
struct ActivationLog final : NodeObserver {
    std::vector<std::vector<float>> seen;
    bool fail = false;
    uint32_t wants(const Graph & g, int node) const override {
        const Node & n = g.nodes[size_t(node)];
        return n.op == Op::MulMat && g.storages[size_t(n.src[0].storage)].kind == StorageKind::External ? 1u << 1 : 0u;
    }
    Status observe(const Graph &, int, std::span<const HostView> src) override {
        if (fail) return Status::error("observer says stop");
        const HostView & x = src[1];
        REQUIRE(x.type == Type::F32);
        REQUIRE(src[0].data == nullptr);  // not asked for
        std::vector<float> v;
        for (int64_t i3 = 0; i3 < x.ne[3]; ++i3)
            for (int64_t i2 = 0; i2 < x.ne[2]; ++i2)
                for (int64_t i1 = 0; i1 < x.ne[1]; ++i1) {
                    const auto * row = reinterpret_cast<const float *>(x.data + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3]);
                    v.insert(v.end(), row, row + x.ne[0]);
                }
        seen.push_back(std::move(v));
        return ok_status();
    }
};

}  // namespace

TEST_CASE("executor: a NodeObserver sees the same activations on the CPU, with poisoning and from a device", "[core][executor]") {
    TinyModel m;
    const RunResult ref = cpu_only(m);
    CpuBackend cpu(1);
    ExecutorOptions o;
    o.cpu = &cpu;
    ActivationLog base;
    o.observer = &base;
    const RunResult got = run_model(m, o);
    require_same(got, ref);  // observing changes nothing
    REQUIRE(base.seen.size() >= size_t(2 * 7 * TinyModel::n_layer));  // 2 runs, q/k/v/o/gate/up/down per layer
    CHECK(got.stats.submissions > ref.stats.submissions);             // each observed node ends a group

    ActivationLog poisoned;
    o.observer = &poisoned;
    o.poison_freed = true;
    require_same(run_model(m, o), ref);
    CHECK(poisoned.seen == base.seen);

    // Sources in device memory (no host address) are downloaded for the observer.
    DeviceSim dev("sim-all", {Op::GetRows, Op::MulMat, Op::Add, Op::Mul, Op::Scale, Op::RmsNorm, Op::Rope, Op::Attention,
                              Op::SoftMax, Op::Gelu, Op::Silu, Op::Glu, Op::SoftCap, Op::Copy, Op::SetRows, Op::Argmax});
    ActivationLog device;
    ExecutorOptions d;
    d.cpu = &cpu;
    d.gpu = &dev;
    d.n_gpu_layers = TinyModel::n_layer;
    d.observer = &device;
    require_same(run_model(m, d), ref);
    CHECK(device.seen == base.seen);

    // An observer's error stops the run and is returned.
    ActivationLog failing;
    failing.fail = true;
    o.observer = &failing;
    o.poison_freed = false;
    auto ex = Executor::create(m.graph, o);
    REQUIRE(ex.ok());
    for (size_t i = 0; i < m.externals.size(); ++i) {
        REQUIRE(ex.value()->bind_new(m.externals[i], cpu).ok());
        const std::vector<uint8_t> bytes = external_bytes(m.graph, m.externals[i], int(i));
        REQUIRE(ex.value()->write(m.externals[i], bytes.data(), bytes.size()).ok());
    }
    Status s = ex.value()->run();
    INFO(s.message());
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("observer says stop") != std::string::npos);
}
