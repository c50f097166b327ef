// quanta convert / quantize on the transformers-written fixtures: every architecture converts,
// f32 targets keep every byte, f16/q8_0 targets equal the reference codecs, mixes fall back where
// rows are short, metadata round-trips, and every error case leaves no file behind.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/convert.h"
#include "convert/hf_config.h"
#include "core/arch/hparams.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/qnt.h"
#include "formats/safetensors.h"
#include "quant/types.h"
#include "tests/support.h"

using namespace quanta;
namespace fs = std::filesystem;

static const char * kFixtures[] = {"llama3", "llama2_linear_tied", "mistral_swa", "qwen2_bias",
                                   "qwen3_qknorm", "gemma", "gemma2_softcap", "gemma3_text"};

static std::string fixture(const std::string & name) { return source_path("tests/fixtures/models/" + name); }

static fs::path scratch(const std::string & name) {
    fs::path dir = fs::temp_directory_path() / ("quanta_test_convert_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

static convert::ConvertOptions opts(const std::string & type) {
    convert::ConvertOptions o;
    o.type = type;
    o.n_threads = 2;
    return o;
}

TEST_CASE("convert: every fixture converts to f32 with identical bytes and metadata", "[convert]") {
    for (const char * name : kFixtures) {
        INFO("fixture " << name);
        const fs::path out = scratch(name) / "model.qnt";
        Status s = convert::convert_model(fixture(name), out.string(), opts("f32"));
        INFO(s.message());
        REQUIRE(s.ok());

        auto q = formats::QntReader::open(out.string());
        REQUIRE(q.ok());
        REQUIRE(q->verify(1).empty());
        auto hp = arch::read_hparams(q->metadata());
        REQUIRE(hp.ok());
        auto expected = convert::read_hf_config(fixture(name));
        REQUIRE(expected.ok());
        CHECK(hp->n_layer == expected->n_layer);
        CHECK(hp->layer_sliding == expected->layer_sliding);
        CHECK(hp->query_scale == expected->query_scale);
        CHECK(hp->rope_local.base == expected->rope_local.base);

        auto tok = text::tokenizer_from_metadata(q->metadata());
        REQUIRE(tok.ok());
        CHECK(int64_t(tok->pieces.size()) == hp->n_vocab);

        auto st = formats::SafetensorsModel::open(fixture(name));
        REQUIRE(st.ok());
        for (const formats::TensorView & t : q->tensors()) {
            INFO(t.name);
            CHECK(t.type == Type::F32);
        }
        // Spot-check bytes of the first layer's q projection and the embeddings.
        for (auto [qnt_name, hf_name] : {std::pair{"blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"},
                                         std::pair{"token_embd.weight", "model.embed_tokens.weight"}}) {
            const formats::TensorView * a = q->find(qnt_name);
            const formats::TensorView * b = st->find(hf_name);
            REQUIRE(a);
            REQUIRE(b);
            REQUIRE(a->size == b->size);
            CHECK(std::memcmp(a->data, b->data, a->size) == 0);
        }
    }
}

TEST_CASE("convert: f16 and q8_0 targets equal the reference codecs", "[convert]") {
    const fs::path dir = scratch("codecs");
    auto st = formats::SafetensorsModel::open(fixture("qwen2_bias"));
    REQUIRE(st.ok());
    const formats::TensorView * src = st->find("model.layers.1.mlp.down_proj.weight");
    REQUIRE(src);
    std::vector<float> f32(size_t(src->n_elements()));
    std::memcpy(f32.data(), src->data, src->size);

    for (Type t : {Type::F16, Type::BF16, Type::Q8_0, Type::Q4_0}) {
        INFO(quant::traits(t).name);
        const fs::path out = dir / (std::string(quant::traits(t).name) + ".qnt");
        REQUIRE(convert::convert_model(fixture("qwen2_bias"), out.string(), opts(quant::traits(t).name)).ok());
        auto q = formats::QntReader::open(out.string());
        REQUIRE(q.ok());
        const formats::TensorView * got = q->find("blk.1.ffn_down.weight");
        REQUIRE(got);
        CHECK(got->type == t);
        std::vector<uint8_t> want(quant::row_bytes(t, src->ne[0]) * size_t(src->ne[1]));
        quant::quantize_rows(t, f32.data(), want.data(), src->ne[1], src->ne[0], nullptr, 1);
        REQUIRE(got->size == want.size());
        CHECK(std::memcmp(got->data, want.data(), want.size()) == 0);
        const formats::TensorView * norm = q->find("blk.1.attn_norm.weight");
        REQUIRE(norm);
        CHECK(norm->type == Type::F32);  // 1-D tensors stay f32
    }
}

TEST_CASE("convert: q4_k_m mix falls back on rows shorter than 256", "[convert]") {
    const fs::path out = scratch("mix") / "m.qnt";
    REQUIRE(convert::convert_model(fixture("llama3"), out.string(), opts("q4_k_m")).ok());
    auto q = formats::QntReader::open(out.string());
    REQUIRE(q.ok());
    // n_embd 64: Q4_K -> Q5_0, Q6_K -> Q8_0 (llama.cpp's fallbacks); ffn_down rows are n_ff = 128.
    CHECK(q->find("blk.0.attn_q.weight")->type == Type::Q5_0);
    CHECK(q->find("blk.0.attn_v.weight")->type == Type::Q5_0);
    CHECK(q->find("blk.1.attn_v.weight")->type == Type::Q8_0);  // last eighth of the layers: more bits
    CHECK(q->find("output.weight")->type == Type::Q8_0);
    CHECK(q->find("output_norm.weight")->type == Type::F32);
    auto quant_md = q->metadata().get_string("general.quantization");
    REQUIRE(quant_md.ok());
    CHECK(*quant_md == "q4_k_m");
}

TEST_CASE("quantize: a .qnt re-quantizes through the same pipeline", "[convert]") {
    const fs::path dir = scratch("requant");
    REQUIRE(convert::convert_model(fixture("gemma2_softcap"), (dir / "f32.qnt").string(), opts("f32")).ok());
    REQUIRE(convert::quantize_model((dir / "f32.qnt").string(), (dir / "q8.qnt").string(), opts("q8_0")).ok());
    REQUIRE(convert::convert_model(fixture("gemma2_softcap"), (dir / "direct.qnt").string(), opts("q8_0")).ok());
    auto a = formats::QntReader::open((dir / "q8.qnt").string());
    auto b = formats::QntReader::open((dir / "direct.qnt").string());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(a->tensors().size() == b->tensors().size());
    for (const formats::TensorView & t : a->tensors()) {
        const formats::TensorView * u = b->find(t.name);
        REQUIRE(u);
        CHECK(t.checksum == u->checksum);
    }
}

static void copy_fixture(const std::string & name, const fs::path & to) {
    fs::copy(fixture(name), to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

TEST_CASE("convert: errors name the problem and leave nothing behind", "[convert]") {
    const fs::path dir = scratch("errors");
    const fs::path out = dir / "out.qnt";

    SECTION("output exists") {
        { std::ofstream(out) << "precious"; }
        Status s = convert::convert_model(fixture("llama3"), out.string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find("--force") != std::string::npos);
        std::ifstream in(out);
        std::string content;
        in >> content;
        CHECK(content == "precious");
        convert::ConvertOptions force = opts("f16");
        force.force = true;
        CHECK(convert::convert_model(fixture("llama3"), out.string(), force).ok());
    }
    SECTION("unknown type lists the choices") {
        Status s = convert::convert_model(fixture("llama3"), out.string(), opts("q9_9"));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find("q4_k_m") != std::string::npos);
    }
    SECTION("missing tokenizer") {
        const fs::path m = dir / "no_tok";
        copy_fixture("llama3", m);
        fs::remove(m / "tokenizer.json");
        Status s = convert::convert_model(m.string(), out.string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find("tokenizer") != std::string::npos);
    }
    SECTION("shape disagrees with config") {
        const fs::path m = dir / "bad_shape";
        copy_fixture("mistral_swa", m);
        nlohmann::json c = nlohmann::json::parse(std::ifstream(m / "config.json"));
        c["intermediate_size"] = 96;
        std::ofstream(m / "config.json") << c.dump();
        Status s = convert::convert_model(m.string(), out.string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find("mlp.gate_proj.weight") != std::string::npos);
        CHECK(s.message().find("96") != std::string::npos);
    }
    SECTION("a tensor the architecture lacks is refused, not dropped") {
        const fs::path m = dir / "extra";
        copy_fixture("qwen3_qknorm", m);
        nlohmann::json c = nlohmann::json::parse(std::ifstream(m / "config.json"));
        c["model_type"] = "llama";  // llama has no qk-norm tensors
        std::ofstream(m / "config.json") << c.dump();
        Status s = convert::convert_model(m.string(), out.string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        INFO(s.message());
        CHECK(s.message().find("_norm.weight' is not part of a llama model") != std::string::npos);
    }
    SECTION("missing input") {
        Status s = convert::convert_model((dir / "nope").string(), out.string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find("no such file") != std::string::npos);
    }
    SECTION("output folder missing") {
        Status s = convert::convert_model(fixture("llama3"), (dir / "missing" / "x.qnt").string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        CHECK(s.message().find("does not exist") != std::string::npos);
    }
    // No temporary files left in the output folder, whatever failed.
    for (const auto & e : fs::directory_iterator(dir)) {
        INFO(e.path());
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
    }
}
