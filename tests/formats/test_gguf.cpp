// tests/formats/test_gguf.cpp — hostile and truncated GGUF files give clean, specific errors.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "tests/formats/format_test_util.h"
#include "tests/support.h"

using namespace quanta;
using namespace quanta::formats;

namespace {

// Builds GGUF bytes field by field, so each test can break exactly one thing.
struct GgufBuilder {
    std::vector<uint8_t> b;
    template <typename T>
    GgufBuilder & put(T v) {
        const auto * p = reinterpret_cast<const uint8_t *>(&v);
        b.insert(b.end(), p, p + sizeof(T));
        return *this;
    }
    GgufBuilder & str(std::string_view s) {
        put(uint64_t(s.size()));
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    GgufBuilder & header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        put(uint32_t(0x46554747)).put(version).put(n_tensors).put(n_kv);
        return *this;
    }
    GgufBuilder & tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name).put(uint32_t(ne.size()));
        for (auto d : ne) put(d);
        put(type).put(offset);
        return *this;
    }
    GgufBuilder & pad_data(size_t data_bytes, size_t align = 32) {
        while (b.size() % align) b.push_back(0);
        b.resize(b.size() + data_bytes, 0x5a);
        return *this;
    }
};

std::string open_error(const std::vector<uint8_t> & bytes) {
    auto r = GgufReader::open_memory(bytes, "h.gguf");
    if (r.ok()) return "OK";
    return r.status().message();
}

// A valid file: two F32 tensors and some metadata.
std::vector<uint8_t> valid_file() {
    GgufBuilder g;
    g.header(2, 2);
    g.str("general.architecture").put(uint32_t(8)).str("llama");
    g.str("llama.block_count").put(uint32_t(4)).put(uint32_t(2));
    g.tensor("a", {8, 2}, 0, 0).tensor("b", {32}, 8, 64);  // F32 8x2 = 64 bytes; Q8_0 32 = 34 bytes
    g.pad_data(64 + 34);
    return g.b;
}

}  // namespace

TEST_CASE("gguf: a hand-built valid file opens", "[gguf]") {
    auto bytes = valid_file();
    auto r = GgufReader::open_memory(bytes, "v.gguf");
    INFO(r.status().message());
    REQUIRE(r.ok());
    REQUIRE(r->tensors().size() == 2);
    CHECK(r->tensors()[1].type == Type::Q8_0);
    CHECK(r->tensors()[1].size == 34);
    CHECK(*r->metadata().get_u32("llama.block_count") == 2);
}

TEST_CASE("gguf: every truncation gives a clean error", "[gguf]") {
    const auto full = valid_file();
    for (size_t len = 0; len < full.size(); ++len) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + long(len));
        const std::string msg = open_error(cut);
        INFO("length " << len << ": " << msg);
        CHECK(msg.rfind("gguf 'h.gguf': ", 0) == 0);
    }
}

TEST_CASE("gguf: hostile headers and tensor infos are refused with the reason", "[gguf]") {
    auto with = [](auto build) {
        GgufBuilder g;
        build(g);
        return open_error(g.b);
    };
    CHECK_THAT(with([](GgufBuilder & g) { g.put(uint32_t(0x12345678)).put(uint32_t(3)); }),
               Catch::Contains("bad magic"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 0, 1); }), Catch::Contains("version 1 is not supported"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 0, 0x03000000); }), Catch::Contains("big-endian"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 0, 4); }), Catch::Contains("version 4 is not supported"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(~0ull, 0); }), Catch::Contains("tensor count"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 1ull << 60); }), Catch::Contains("metadata count"));
    // A string length larger than the file.
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 1).put(uint64_t(60000)).put(uint64_t(0)); }),
               Catch::Contains("truncated"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 1).put(uint64_t(1) << 40).put(uint64_t(0)); }),
               Catch::Contains("metadata key length 1099511627776 exceeds the limit"));
    // An array count that cannot fit.
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(0, 1).str("k").put(uint32_t(9)).put(uint32_t(4)).put(uint64_t(1) << 30).put(uint64_t(0));
               }),
               Catch::Contains("cannot fit"));
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(0, 1).str("k").put(uint32_t(9)).put(uint32_t(8)).put(uint64_t(1) << 30).put(uint64_t(0));
               }),
               Catch::Contains("strings cannot fit"));
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(0, 1).str("k").put(uint32_t(9)).put(uint32_t(4)).put(uint64_t(1) << 61).put(uint64_t(0));
               }),
               Catch::Contains("exceeds the limit"));
    // Arrays nested too deep.
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(0, 1).str("deep").put(uint32_t(9));
                   for (int i = 0; i < 20; ++i) g.put(uint32_t(9)).put(uint64_t(1));
                   g.put(uint32_t(4)).put(uint64_t(0));
               }),
               Catch::Contains("nested deeper"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 1).str("k").put(uint32_t(77)).put(uint64_t(0)); }),
               Catch::Contains("unknown value type 77"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 1).str("k").put(uint32_t(7)).put(uint8_t(5)).pad_data(0); }),
               Catch::Contains("bool value 5"));
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(0, 2).str("k").put(uint32_t(4)).put(uint32_t(1)).str("k").put(uint32_t(4)).put(uint32_t(2));
               }),
               Catch::Contains("duplicate metadata key 'k'"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(0, 1).str("\xff\xfe").put(uint32_t(4)).put(uint32_t(1)); }),
               Catch::Contains("not valid UTF-8"));
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(0, 1).str("general.alignment").put(uint32_t(4)).put(uint32_t(48)).pad_data(0);
               }),
               Catch::Contains("not a power of two"));
    // Tensor infos.
    CHECK_THAT(with([](GgufBuilder & g) { g.header(1, 0).tensor("t", {4}, 99, 0).pad_data(64); }),
               Catch::Contains("tensor 't': unknown ggml type id 99"));
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).pad_data(64);
               }),
               Catch::Contains("5 dims"));
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(1, 0).tensor("t", {1ull << 32, 1ull << 32, 1ull << 8}, 0, 0).pad_data(64);
               }),
               Catch::Contains("overflows"));
    CHECK_THAT(with([](GgufBuilder & g) {
                   g.header(1, 0).tensor("t", {4, 0}, 0, 0).pad_data(64);
               }),
               Catch::Contains("dim 1 is 0"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(1, 0).tensor("t", {33}, 8, 0).pad_data(64); }),
               Catch::Contains("not a multiple of the Q8_0 block size 32"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(1, 0).tensor("t", {4}, 0, 16).pad_data(64); }),
               Catch::Contains("not a multiple of the alignment"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(1, 0).tensor("t", {64}, 0, 0).pad_data(100); }),
               Catch::Contains("runs past the end"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(1, 0).tensor("t", {4}, 0, ~0ull - 31).pad_data(100); }),
               Catch::Contains("runs past the end"));
    CHECK_THAT(
        with([](GgufBuilder & g) { g.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad_data(128); }),
        Catch::Contains("overlap"));
    CHECK_THAT(
        with([](GgufBuilder & g) { g.header(2, 0).tensor("a", {4}, 0, 0).tensor("a", {4}, 0, 32).pad_data(128); }),
        Catch::Contains("duplicate tensor name"));
    CHECK_THAT(with([](GgufBuilder & g) { g.header(1, 0).tensor("bad\xc3", {4}, 0, 0).pad_data(64); }),
               Catch::Contains("not valid UTF-8"));
}

TEST_CASE("gguf: random byte corruption never crashes", "[gguf]") {
    const auto full = valid_file();
    std::mt19937 rng(7);
    size_t n_ok = 0, n_err = 0;
    for (int i = 0; i < 20000; ++i) {
        auto b = full;
        for (int k = 0; k < 3; ++k) b[rng() % b.size()] = uint8_t(rng());
        auto r = GgufReader::open_memory(b, "c.gguf");
        if (r.ok()) {
            ++n_ok;
            for (const auto & t : r->tensors()) REQUIRE(t.offset + t.size <= b.size());
        } else {
            ++n_err;
            REQUIRE(!r.status().message().empty());
        }
    }
    CHECK(n_err > 0);
    CHECK(n_ok + n_err == 20000);
}

TEST_CASE("gguf: the real Gemma 3 270M file opens", "[gguf][real]") {
    const std::string path = real_gemma_gguf();
    if (!std::ifstream(path).good()) QUANTA_SKIP("Gemma 3 270M GGUF not found at " + path + " (run scripts/fetch-gemma.sh)");
    auto r = GgufReader::open(path);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(*r->metadata().get_string("general.architecture") == "gemma3");
    CHECK(*r->metadata().get_int("gemma3.block_count") == 18);
    CHECK(r->metadata().get_string_array("tokenizer.ggml.tokens")->size() == 262144);
    CHECK(r->find("token_embd.weight") != nullptr);
    CHECK(r->tensors().size() > 100);
}
