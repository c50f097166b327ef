// tests/formats/test_fixtures.cpp — files written by the PyPI gguf and safetensors packages
// (tests/fixtures/formats/make_format_fixtures.py) read back exactly as expected.json describes.
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "tests/support.h"

using namespace quanta;
using namespace quanta::formats;
using json = nlohmann::json;

namespace {

json load_expected() {
    std::ifstream f(source_path("tests/fixtures/formats/expected.json"));
    REQUIRE(f.good());
    return json::parse(f);
}

std::vector<uint8_t> from_hex(const std::string & hex) {
    std::vector<uint8_t> out(hex.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    return out;
}

ValueType value_type_from_gguf_name(const std::string & n) {
    static const std::pair<const char *, ValueType> kNames[] = {
        {"uint8", ValueType::U8},    {"int8", ValueType::I8},    {"uint16", ValueType::U16},
        {"int16", ValueType::I16},   {"uint32", ValueType::U32}, {"int32", ValueType::I32},
        {"float32", ValueType::F32}, {"bool", ValueType::Bool},  {"string", ValueType::String},
        {"array", ValueType::Array}, {"uint64", ValueType::U64}, {"int64", ValueType::I64},
        {"float64", ValueType::F64}};
    for (auto & [name, t] : kNames)
        if (n == name) return t;
    FAIL("unknown type name " << n);
    return ValueType::U8;
}

// Compares a scalar stored as `type` with the JSON value the script wrote.
void check_scalar(ValueType type, uint64_t bits, const json & want) {
    Value v;
    v.type = type;
    v.scalar = bits;
    if (type == ValueType::F32 || type == ValueType::F64)
        CHECK(v.as_double() == want.get<double>());
    else if (type == ValueType::Bool)
        CHECK((bits != 0) == want.get<bool>());
    else if (type == ValueType::U64)
        CHECK(bits == want.get<uint64_t>());
    else
        CHECK(v.as_int() == want.get<int64_t>());
}

void check_array(const Value & v, const json & want) {
    REQUIRE(v.type == ValueType::Array);
    REQUIRE(v.count == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        if (v.elem_type == ValueType::String) {
            CHECK(v.strings[i] == want[i].get<std::string>());
        } else if (v.elem_type == ValueType::Array) {
            check_array(v.items[i], want[i]);
        } else {
            const size_t s = value_type_size(v.elem_type);
            uint64_t bits = 0;
            std::memcpy(&bits, v.raw + i * s, s);
            check_scalar(v.elem_type, bits, want[i]);
        }
    }
}

template <typename Views>
void check_tensors(const Views & tensors, const json & want) {
    REQUIRE(tensors.size() == want.size());
    for (const auto & w : want) {
        const std::string name = w["name"];
        INFO("tensor " << name);
        const TensorView * t = nullptr;
        for (const auto & v : tensors)
            if (v.name == name) t = &v;
        REQUIRE(t != nullptr);
        CHECK(uint32_t(t->type) == w["type"].get<uint32_t>());
        const auto ne = w["ne"].get<std::vector<int64_t>>();
        CHECK(t->n_dims == ne.size());
        for (size_t d = 0; d < 4; ++d) CHECK(t->ne[d] == (d < ne.size() ? ne[d] : 1));
        const auto bytes = from_hex(w["data"]);
        REQUIRE(t->size == bytes.size());
        CHECK(std::memcmp(t->data, bytes.data(), bytes.size()) == 0);
        if (w.contains("shard") && !w["shard"].is_null()) CHECK(t->shard == w["shard"].get<uint32_t>());
    }
}

}  // namespace

TEST_CASE("fixtures: GGUF written by the gguf package reads back exactly", "[gguf][fixtures]") {
    const json e = load_expected()["gguf"];
    auto r = GgufReader::open(source_path("tests/fixtures/formats/" + e["file"].get<std::string>()));
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->version() == e["version"].get<uint32_t>());
    CHECK(r->alignment() == e["alignment"].get<uint64_t>());
    CHECK(r->data_offset() % r->alignment() == 0);
    CHECK(r->metadata().size() == e["metadata"].size());
    for (const auto & m : e["metadata"]) {
        const std::string key = m["key"];
        INFO("key " << key);
        const Value * v = r->metadata().find(key);
        REQUIRE(v != nullptr);
        const ValueType want_type = value_type_from_gguf_name(m["type"]);
        REQUIRE(v->type == want_type);
        if (want_type == ValueType::String)
            CHECK(v->str == m["value"].get<std::string>());
        else if (want_type == ValueType::Array) {
            if (!m["sub_type"].is_null()) CHECK(v->elem_type == value_type_from_gguf_name(m["sub_type"]));
            check_array(*v, m["value"]);
        } else {
            check_scalar(want_type, v->scalar, m["value"]);
        }
    }
    // Typed getters on the same file, as a model loader would use them.
    CHECK(*r->metadata().get_u32("llama.context_length") == 2048);
    CHECK(*r->metadata().get_int("llama.embedding_length") == 64);
    CHECK(*r->metadata().get_string("general.architecture") == "llama");
    CHECK(r->metadata().get_string_array("tokenizer.ggml.tokens")->size() == 4);
    CHECK(*r->metadata().get_array<float>("tokenizer.ggml.scores") == std::vector<float>{0.0f, -1.5f, -2.25f, 3.0f});
    check_tensors(r->tensors(), e["tensors"]);
    for (const auto & t : r->tensors()) CHECK(t.offset % r->alignment() == 0);
}

TEST_CASE("fixtures: safetensors written by the safetensors package reads back exactly", "[safetensors][fixtures]") {
    const json e = load_expected()["safetensors"];
    auto f = SafetensorsFile::open(source_path("tests/fixtures/formats/" + e["file"].get<std::string>()));
    INFO(f.status().message());
    REQUIRE(f.ok());
    check_tensors(f->tensors(), e["tensors"]);
    REQUIRE(f->metadata().size() == e["metadata"].size());
    for (const auto & [k, v] : f->metadata()) CHECK(e["metadata"][k].get<std::string>() == v);
    // The model-level API opens the same file, or a directory that holds it.
    auto m = SafetensorsModel::open(source_path("tests/fixtures/formats/tiny.safetensors"));
    REQUIRE(m.ok());
    check_tensors(m->tensors(), e["tensors"]);
}

TEST_CASE("fixtures: a sharded safetensors checkpoint opens by directory and by index", "[safetensors][fixtures]") {
    const json e = load_expected()["sharded"];
    for (const std::string rel :
         {"tests/fixtures/formats/sharded", "tests/fixtures/formats/sharded/model.safetensors.index.json"}) {
        INFO(rel);
        auto m = SafetensorsModel::open(source_path(rel));
        INFO(m.status().message());
        REQUIRE(m.ok());
        CHECK(m->shards().size() == 2);
        check_tensors(m->tensors(), e["tensors"]);
        CHECK(m->find("model.norm.weight") != nullptr);
        CHECK(m->find("missing") == nullptr);
    }
}
