// Importance statistics: collection (core/model/imatrix.h) against a direct computation, the file
// (formats/imatrix.h, including llama.cpp's GGUF), and `--imatrix` in quantize/convert: it changes
// the bytes and lowers the importance-weighted error, and statistics that do not fit are errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "backends/registry.h"
#include "convert/convert.h"
#include "core/model/imatrix.h"
#include "formats/imatrix.h"
#include "formats/qnt.h"
#include "quant/types.h"
#include "tests/support.h"

using namespace quanta;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kCtx = 16, kChunks = 3;

fs::path scratch(const std::string & name) {
    fs::path dir = fs::temp_directory_path() / ("quanta_test_imatrix_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

convert::ConvertOptions opts(const std::string & type, const std::string & imatrix = "") {
    convert::ConvertOptions o;
    o.type = type;
    o.n_threads = 2;
    o.imatrix = imatrix;
    return o;
}

std::string fixture(const std::string & name) { return source_path("tests/fixtures/models/" + name); }

// The fixture as an f32 .qnt (converted once per test binary run and directory).
std::string f32_model(const std::string & name, const fs::path & dir) {
    const std::string out = (dir / (name + "-f32.qnt")).string();
    Status s = convert::convert_model(fixture(name), out, opts("f32"));
    INFO(s.message());
    REQUIRE(s.ok());
    return out;
}

std::vector<int32_t> calibration_tokens(int64_t n_vocab) {
    std::vector<int32_t> t(size_t(kCtx * kChunks) + 5);  // a partial chunk at the end is ignored
    uint32_t x = 12345;
    for (int32_t & id : t) {
        x = x * 1103515245u + 12345u;
        id = int32_t((x >> 8) % uint32_t(n_vocab));
    }
    return t;
}

formats::Imatrix collect(const model::Model & m, int threads, bool include_output = false) {
    auto cpu = backends::create_cpu_backend(threads);
    model::ImatrixOptions o;
    o.n_ctx = kCtx;
    o.n_ubatch = 7;  // several graph runs per chunk, one of a shorter remainder
    o.include_output = include_output;
    const std::vector<int32_t> tokens = calibration_tokens(m.hparams().n_vocab);
    auto r = model::collect_imatrix(m, *cpu, tokens, m.tokenizer().bos_id, o);
    INFO(r.status().message());
    REQUIRE(r.ok());
    return std::move(r.value());
}

// sum over rows and columns of importance[col] * (w - w_quantized)^2.
double weighted_error(const formats::TensorView & ref, const formats::TensorView & q, const std::vector<float> & imp) {
    const int64_t ncols = ref.ne[0], nrows = ref.n_elements() / ncols;
    const size_t n = size_t(ncols);
    std::vector<float> a(n), b(n);
    const auto * pa = static_cast<const uint8_t *>(ref.data);
    const auto * pb = static_cast<const uint8_t *>(q.data);
    double e = 0;
    for (int64_t r = 0; r < nrows; ++r) {
        quant::traits(ref.type).dequantize_row(pa + size_t(r) * quant::row_bytes(ref.type, ncols), a.data(), ncols);
        quant::traits(q.type).dequantize_row(pb + size_t(r) * quant::row_bytes(q.type, ncols), b.data(), ncols);
        for (size_t i = 0; i < n; ++i) e += double(imp[i]) * double(a[i] - b[i]) * double(a[i] - b[i]);
    }
    return e;
}

// A minimal GGUF v3 writer for llama.cpp-style imatrix files: F32 tensors only, u32 metadata only.
struct GgufTensor {
    std::string name;
    std::vector<uint64_t> ne;
    std::vector<float> data;
};
void write_gguf(const std::string & path, const std::vector<std::pair<std::string, uint32_t>> & kv,
                const std::vector<GgufTensor> & tensors) {
    std::string b;
    auto put = [&](const void * p, size_t n) { b.append(static_cast<const char *>(p), n); };
    auto u32 = [&](uint32_t v) { put(&v, 4); };
    auto u64 = [&](uint64_t v) { put(&v, 8); };
    auto str = [&](const std::string & s) { u64(s.size()); put(s.data(), s.size()); };
    put("GGUF", 4);
    u32(3);
    u64(tensors.size());
    u64(kv.size());
    for (const auto & [k, v] : kv) {
        str(k);
        u32(4);
        u32(v);
    }
    uint64_t offset = 0;
    for (const GgufTensor & t : tensors) {
        str(t.name);
        u32(uint32_t(t.ne.size()));
        for (uint64_t n : t.ne) u64(n);
        u32(0);  // F32
        u64(offset);
        offset += (t.data.size() * 4 + 31) / 32 * 32;
    }
    b.resize((b.size() + 31) / 32 * 32, '\0');
    for (const GgufTensor & t : tensors) {
        put(t.data.data(), t.data.size() * 4);
        b.resize((b.size() + 31) / 32 * 32, '\0');
    }
    std::ofstream(path, std::ios::binary).write(b.data(), std::streamsize(b.size()));
}

}  // namespace

TEST_CASE("imatrix: layer 0 q/k/v statistics equal a direct computation and repeat exactly", "[convert]") {
    const fs::path dir = scratch("direct");
    auto m = model::Model::load(f32_model("llama3", dir));
    REQUIRE(m.ok());
    const model::Model & model = **m;
    const arch::HParams & hp = model.hparams();

    const formats::Imatrix a = collect(model, 1);
    CHECK(a.n_tokens == uint64_t(kCtx * kChunks));
    CHECK(a.n_chunks == uint64_t(kChunks));

    // Every 2-D weight of the blocks, each over every token; the head (last token only) left out.
    size_t n_blk = 0;
    for (const arch::TensorSpec & s : model.specs()) {
        if (!model.has(s.name) || s.ne.size() < 2 || !s.name.starts_with("blk.")) continue;
        ++n_blk;
        const formats::ImatrixEntry * e = a.find(s.name);
        INFO(s.name);
        REQUIRE(e);
        CHECK(e->count == a.n_tokens);
        CHECK(int64_t(e->mean_sq.size()) == s.ne[0]);
    }
    CHECK(n_blk == size_t(7 * hp.n_layer));
    CHECK(a.entries.size() == n_blk);
    CHECK_FALSE(a.find("output.weight"));

    // Direct: the input of q/k/v in layer 0 is rms_norm(embedding) * attn_norm, per token.
    const std::vector<int32_t> tokens = calibration_tokens(hp.n_vocab);
    const auto * embd = static_cast<const float *>(model.find("token_embd.weight")->data);
    const auto * norm = static_cast<const float *>(model.find("blk.0.attn_norm.weight")->data);
    const int64_t n_embd = hp.n_embd;
    std::vector<double> sum(size_t(n_embd), 0.0);
    for (int64_t c = 0; c < kChunks; ++c) {
        for (int64_t j = 0; j < kCtx; ++j) {
            const int32_t id = j == 0 && model.tokenizer().bos_id >= 0 ? model.tokenizer().bos_id : tokens[size_t(c * kCtx + j)];
            const float * e = embd + size_t(id) * size_t(n_embd);
            double ss = 0;
            for (int64_t i = 0; i < n_embd; ++i) ss += double(e[i]) * hp.embd_scale * double(e[i]) * hp.embd_scale;
            const double inv = 1.0 / std::sqrt(ss / double(n_embd) + double(hp.norm_eps));
            for (int64_t i = 0; i < n_embd; ++i) {
                const double y = double(e[i]) * hp.embd_scale * inv * double(norm[i]);
                sum[size_t(i)] += y * y;
            }
        }
    }
    for (const char * w : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
        INFO(w);
        const formats::ImatrixEntry * e = a.find(w);
        REQUIRE(e);
        for (int64_t i = 0; i < n_embd; ++i) {
            const double want = sum[size_t(i)] / double(kCtx * kChunks);
            INFO("channel " << i);
            CHECK(double(e->mean_sq[size_t(i)]) == Approx(want).epsilon(1e-4));
        }
    }

    // Deterministic: the same bits again, and with another thread count.
    for (int threads : {1, 2}) {
        const formats::Imatrix b = collect(model, threads);
        REQUIRE(b.entries.size() == a.entries.size());
        for (const auto & [name, e] : a.entries) {
            INFO(name << " with " << threads << " threads");
            REQUIRE(b.find(name));
            CHECK(std::memcmp(b.find(name)->mean_sq.data(), e.mean_sq.data(), e.mean_sq.size() * 4) == 0);
        }
    }

    // --process-output adds the head, over every token.
    const formats::Imatrix o = collect(model, 2, /*include_output=*/true);
    REQUIRE(o.find("output.weight"));
    CHECK(o.find("output.weight")->count == a.n_tokens);
    CHECK(o.entries.size() == n_blk + 1);
}

TEST_CASE("imatrix: a text shorter than one chunk is a clear error", "[convert]") {
    const fs::path dir = scratch("short");
    auto m = model::Model::load(f32_model("llama3", dir));
    REQUIRE(m.ok());
    auto cpu = backends::create_cpu_backend(1);
    model::ImatrixOptions o;
    o.n_ctx = 64;
    const std::vector<int32_t> tokens(10, 3);
    auto r = model::collect_imatrix(**m, *cpu, tokens, 1, o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("10 tokens, fewer than one chunk of 64") != std::string::npos);
}

TEST_CASE("imatrix: the file round-trips, llama.cpp GGUF files read, corrupt files are errors", "[convert]") {
    const fs::path dir = scratch("file");
    formats::Imatrix m;
    m.n_tokens = 96;
    m.n_chunks = 3;
    m.chunk_size = 32;
    m.text_xxh3 = formats::imatrix_text_hash("hello");
    m.model = "x.qnt";
    m.entries["blk.0.attn_q.weight"] = {{1.0f, 2.5f, 0.0f, 4.0f}, 96};
    m.entries["blk.0.ffn_down.weight"] = {{0.5f, 0.25f}, 90};
    const std::string path = (dir / "a.imatrix").string();
    REQUIRE(formats::write_imatrix(path, m).ok());
    auto r = formats::read_imatrix(path);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->source == "quanta");
    CHECK(r->n_tokens == 96);
    CHECK(r->n_chunks == 3);
    CHECK(r->chunk_size == 32);
    CHECK(r->text_xxh3 == m.text_xxh3);
    CHECK(r->text_xxh3.size() == 16);
    CHECK(r->model == "x.qnt");
    REQUIRE(r->entries.size() == 2);
    CHECK(r->find("blk.0.attn_q.weight")->mean_sq == m.entries["blk.0.attn_q.weight"].mean_sq);
    CHECK(r->find("blk.0.ffn_down.weight")->count == 90);

    SECTION("llama.cpp GGUF: mean = sum(in_sum2) / sum(counts) over the matrices") {
        const std::string g = (dir / "l.gguf").string();
        write_gguf(g, {{"imatrix.chunk_count", 4}, {"imatrix.chunk_size", 512}},
                   {{"blk.0.attn_q.weight.in_sum2", {4, 1}, {2, 4, 6, 8}},
                    {"blk.0.attn_q.weight.counts", {1, 1}, {2}},
                    {"blk.1.ffn_up.weight.in_sum2", {2, 2}, {1, 2, 3, 4}},
                    {"blk.1.ffn_up.weight.counts", {1, 2}, {1, 3}}});
        auto l = formats::read_imatrix(g);
        INFO(l.status().message());
        REQUIRE(l.ok());
        CHECK(l->source == "llama.cpp GGUF");
        CHECK(l->n_chunks == 4);
        CHECK(l->n_tokens == 2048);
        CHECK(l->find("blk.0.attn_q.weight")->mean_sq == std::vector<float>{1, 2, 3, 4});
        CHECK(l->find("blk.1.ffn_up.weight")->mean_sq == std::vector<float>{1.0f, 1.5f});
        CHECK(l->find("blk.1.ffn_up.weight")->count == 4);

        write_gguf(g, {}, {{"blk.0.attn_q.weight.in_sum2", {4, 1}, {2, 4, 6, 8}}});
        auto missing = formats::read_imatrix(g);
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.status().message().find("no matching 'blk.0.attn_q.weight.counts'") != std::string::npos);
    }
    SECTION("truncated") {
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size() - 40));
        auto t = formats::read_imatrix(path);
        REQUIRE_FALSE(t.ok());
        CHECK(t.status().message().find(path) != std::string::npos);
    }
    SECTION("a flipped byte in the data") {
        auto q = formats::QntReader::open(path);
        REQUIRE(q.ok());
        const uint64_t at = q->find("blk.0.attn_q.weight")->offset;
        {
            std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
            f.seekp(std::streamoff(at + 1));
            f.put(char(0x55));
        }
        auto t = formats::read_imatrix(path);
        REQUIRE_FALSE(t.ok());
        CHECK(t.status().message().find("blk.0.attn_q.weight' does not match its checksum") != std::string::npos);
    }
    SECTION("negative and non-finite means") {
        m.entries["blk.0.attn_q.weight"].mean_sq[2] = -1.0f;
        REQUIRE(formats::write_imatrix(path, m).ok());
        auto t = formats::read_imatrix(path);
        REQUIRE_FALSE(t.ok());
        CHECK(t.status().message().find("'blk.0.attn_q.weight': value -1") != std::string::npos);
        m.entries["blk.0.attn_q.weight"].mean_sq[2] = NAN;
        REQUIRE(formats::write_imatrix(path, m).ok());
        CHECK_FALSE(formats::read_imatrix(path).ok());
    }
    SECTION("not an imatrix") {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << "certainly not an imatrix";
        auto t = formats::read_imatrix(path);
        REQUIRE_FALSE(t.ok());
        CHECK(t.status().message().find("not an imatrix file") != std::string::npos);
        const std::string model = f32_model("llama3", dir);
        auto u = formats::read_imatrix(model);
        REQUIRE_FALSE(u.ok());
        CHECK(u.status().message().find("not an imatrix") != std::string::npos);
    }
}

TEST_CASE("quantize --imatrix: changes the bytes and lowers the importance-weighted error", "[convert]") {
    const fs::path dir = scratch("quantize");
    const std::string f32 = f32_model("llama3", dir);
    auto m = model::Model::load(f32);
    REQUIRE(m.ok());
    const std::string stats = (dir / "stats.imatrix").string();
    REQUIRE(formats::write_imatrix(stats, collect(**m, 2)).ok());
    auto im = formats::read_imatrix(stats);
    REQUIRE(im.ok());

    // q4_0 everywhere; q4_k_m: Q5_0 / Q8_0 fallbacks on these 64- and 128-column rows.
    for (const char * type : {"q4_0", "q4_k_m"}) {
        INFO(type);
        const std::string plain = (dir / (std::string(type) + "-plain.qnt")).string();
        const std::string weighted = (dir / (std::string(type) + "-imatrix.qnt")).string();
        REQUIRE(convert::quantize_model(f32, plain, opts(type)).ok());
        Status s = convert::quantize_model(f32, weighted, opts(type, stats));
        INFO(s.message());
        REQUIRE(s.ok());
        auto ref = formats::QntReader::open(f32);
        auto p = formats::QntReader::open(plain);
        auto w = formats::QntReader::open(weighted);
        REQUIRE((ref.ok() && p.ok() && w.ok()));
        auto n_tok = w->metadata().get_u64("quantize.imatrix.n_tokens");
        REQUIRE(n_tok.ok());
        CHECK(*n_tok == uint64_t(kCtx * kChunks));
        double total_plain = 0, total_weighted = 0;
        int n_quantized = 0;
        for (const auto & [name, e] : im->entries) {
            INFO(name);
            const formats::TensorView * tp = p->find(name);
            const formats::TensorView * tw = w->find(name);
            REQUIRE((tp && tw));
            REQUIRE(tp->type == tw->type);
            if (tp->type == Type::Q8_0) continue;  // round-to-nearest: no search to weight
            ++n_quantized;
            CHECK(tp->checksum != tw->checksum);
            const double ep = weighted_error(*ref->find(name), *tp, e.mean_sq);
            const double ew = weighted_error(*ref->find(name), *tw, e.mean_sq);
            CHECK(ew < ep);
            total_plain += ep;
            total_weighted += ew;
        }
        CHECK(n_quantized >= 10);
        CHECK(total_weighted < 0.98 * total_plain);
        // Tensors without statistics are quantized as without --imatrix.
        CHECK(p->find("output.weight")->checksum == w->find("output.weight")->checksum);
    }

    // convert (Hugging Face input) passes the statistics the same way.
    const std::string direct = (dir / "direct.qnt").string();
    REQUIRE(convert::convert_model(fixture("llama3"), direct, opts("q4_0", stats)).ok());
    auto a = formats::QntReader::open(direct);
    auto b = formats::QntReader::open((dir / "q4_0-imatrix.qnt").string());
    REQUIRE((a.ok() && b.ok()));
    for (const formats::TensorView & t : a->tensors()) {
        INFO(t.name);
        CHECK(t.checksum == b->find(t.name)->checksum);
    }
}

TEST_CASE("quantize --imatrix: statistics that do not fit the model are errors naming the tensor", "[convert]") {
    const fs::path dir = scratch("misfit");
    const std::string f32 = f32_model("llama3", dir);
    auto m = model::Model::load(f32);
    REQUIRE(m.ok());
    const formats::Imatrix good = collect(**m, 2);
    const std::string stats = (dir / "s.imatrix").string();
    const std::string out = (dir / "out.qnt").string();
    auto fails_with = [&](const formats::Imatrix & im, const std::string & text) {
        REQUIRE(formats::write_imatrix(stats, im).ok());
        Status s = convert::quantize_model(f32, out, opts("q4_0", stats));
        REQUIRE_FALSE(s.ok());
        INFO(s.message());
        CHECK(s.message().find(text) != std::string::npos);
        CHECK_FALSE(fs::exists(out));
    };
    SECTION("missing tensor") {
        formats::Imatrix im = good;
        im.entries.erase("blk.1.ffn_gate.weight");
        fails_with(im, "no statistics for tensor 'blk.1.ffn_gate.weight'");
    }
    SECTION("wrong length") {
        formats::Imatrix im = good;
        im.entries["blk.0.attn_output.weight"].mean_sq.resize(32);
        fails_with(im, "tensor 'blk.0.attn_output.weight' has statistics for 32 input columns");
    }
    SECTION("a tensor the model does not have") {
        formats::Imatrix im = good;
        im.entries["blk.7.attn_q.weight"] = {std::vector<float>(64, 1.0f), 10};
        fails_with(im, "tensor 'blk.7.attn_q.weight' is not in");
    }
    SECTION("statistics of another model") {
        auto other = model::Model::load(f32_model("gemma3_text", dir));
        REQUIRE(other.ok());
        fails_with(collect(**other, 2), "blk.");
    }
    SECTION("corrupt file") {
        std::ofstream(stats, std::ios::binary | std::ios::trunc) << "QNTA garbage";
        Status s = convert::quantize_model(f32, out, opts("q4_0", stats));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find(stats) != std::string::npos);
        CHECK_FALSE(fs::exists(out));
    }
    for (const auto & e : fs::directory_iterator(dir)) {
        INFO(e.path());
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
    }
}
