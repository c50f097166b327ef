// tests/formats/test_safetensors.cpp — hostile, truncated and sharded safetensors input.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "tests/formats/format_test_util.h"
#include "tests/support.h"

using namespace quanta;
using namespace quanta::formats;
using quanta::test::TempDir;

namespace {

std::vector<uint8_t> make_file(const std::string & header, size_t data_bytes) {
    std::vector<uint8_t> b(8 + header.size() + data_bytes, 0x11);
    const uint64_t n = header.size();
    std::memcpy(b.data(), &n, 8);
    if (!header.empty()) std::memcpy(b.data() + 8, header.data(), header.size());
    return b;
}

std::string open_error(const std::string & header, size_t data_bytes) {
    const auto b = make_file(header, data_bytes);
    auto r = SafetensorsFile::open_memory(b, "h.safetensors");
    return r.ok() ? "OK" : r.status().message();
}

}  // namespace

TEST_CASE("safetensors: a hand-built file opens with shapes reversed into ne", "[safetensors]") {
    const auto b =
        make_file(R"({"w":{"dtype":"BF16","shape":[3,4],"data_offsets":[0,24]},"__metadata__":{"a":"b"}})", 24);
    auto r = SafetensorsFile::open_memory(b, "ok");
    INFO(r.status().message());
    REQUIRE(r.ok());
    const TensorView * w = r->find("w");
    REQUIRE(w != nullptr);
    CHECK(w->type == Type::BF16);
    CHECK(w->n_dims == 2);
    CHECK(w->ne[0] == 4);
    CHECK(w->ne[1] == 3);
    CHECK(w->size == 24);
}

TEST_CASE("safetensors: hostile headers are refused with the reason", "[safetensors]") {
    CHECK_THAT(open_error("", 0), Catch::Contains("does not start with '{'"));
    CHECK_THAT(open_error("{\"w\":", 0), Catch::Contains("invalid JSON"));
    CHECK_THAT(open_error("[]", 0), Catch::Contains("does not start with '{'"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8),
               Catch::Contains("dtype 'I64' is not supported (F32, F16 and BF16 are)"));
    CHECK_THAT(
        open_error(
            R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
            16),
        Catch::Contains("duplicate key 'w'"));
    CHECK_THAT(
        open_error(
            R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
            24),
        Catch::Contains("overlap"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
               Catch::Contains("past the end of the data"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", 16),
               Catch::Contains("end before they begin"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}})", 16),
               Catch::Contains("needs 20"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,16]}})", 16),
               Catch::Contains("overflows"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}})", 16),
               Catch::Contains("not a non-negative integer"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[0,4]}})", 4),
               Catch::Contains("5 dims"));
    CHECK_THAT(open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
               Catch::Contains("[begin, end]"));
    CHECK_THAT(open_error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), Catch::Contains("missing string 'dtype'"));
    CHECK_THAT(open_error(R"({"w":[1,2]})", 4), Catch::Contains("not an object"));
    CHECK_THAT(open_error(R"({"__metadata__":{"a":1}})", 0), Catch::Contains("is not a string"));
    CHECK_THAT(open_error("{\"w\xff\":{}}", 0), Catch::Contains("invalid JSON"));  // bad UTF-8 in a name
    CHECK_THAT(open_error(std::string(200, '[') + std::string(200, ']'), 0), Catch::Contains("'{'"));
    CHECK_THAT(open_error("{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}", 0),
               Catch::Contains("nested deeper"));

    // Header length fields.
    std::vector<uint8_t> huge(16, 0);
    const uint64_t big = 1ull << 40;
    std::memcpy(huge.data(), &big, 8);
    auto r1 = SafetensorsFile::open_memory(huge, "len");
    REQUIRE(!r1.ok());
    CHECK_THAT(r1.status().message(), Catch::Contains("exceeds the limit"));
    const uint64_t past = 100;
    std::memcpy(huge.data(), &past, 8);
    auto r2 = SafetensorsFile::open_memory(huge, "len");
    REQUIRE(!r2.ok());
    CHECK_THAT(r2.status().message(), Catch::Contains("truncated"));
}

TEST_CASE("safetensors: every truncation gives a clean error", "[safetensors]") {
    const auto full = make_file(
        R"({"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
        12);
    REQUIRE(SafetensorsFile::open_memory(full, "t").ok());
    for (size_t len = 0; len < full.size(); ++len) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + long(len));
        auto r = SafetensorsFile::open_memory(cut, "t");
        INFO("length " << len);
        REQUIRE(!r.ok());
        CHECK(r.status().message().rfind("safetensors 't': ", 0) == 0);
    }
}

TEST_CASE("safetensors: sharded checkpoints are checked across shards", "[safetensors]") {
    TempDir dir;
    auto shard = [&](const std::string & name, const std::string & tensor) {
        quanta::test::write_bytes(
            dir.file(name),
            make_file("{\"" + tensor + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8));
    };
    auto index = [&](const std::string & json) {
        std::ofstream(dir.file("model.safetensors.index.json")) << json;
        auto m = SafetensorsModel::open(dir.path().string());
        return m.ok() ? std::string("OK") : m.status().message();
    };
    shard("s1.safetensors", "a");
    shard("s2.safetensors", "b");
    CHECK(index(R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})") == "OK");
    CHECK_THAT(index(R"({"weight_map":{"a":"s2.safetensors","b":"s2.safetensors"}})"),
               Catch::Contains("'a' is not in its shard"));
    CHECK_THAT(index(R"({"weight_map":{"a":"../s1.safetensors"}})"), Catch::Contains("not a plain file name"));
    CHECK_THAT(index(R"({"weight_map":{"a":"missing.safetensors"}})"), Catch::Contains("No such file"));
    CHECK_THAT(index(R"({"weight_map":{"a":1}})"), Catch::Contains("is not a string"));
    CHECK_THAT(index(R"({"metadata":{}})"), Catch::Contains("no \"weight_map\""));
    CHECK_THAT(index(R"({"weight_map":{"a":"s1.safetensors","a":"s2.safetensors"}})"),
               Catch::Contains("duplicate key 'a'"));
    quanta::test::write_bytes(
        dir.file("s3.safetensors"),
        make_file(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
            16));
    CHECK_THAT(index(R"({"weight_map":{"a":"s1.safetensors","b":"s3.safetensors"}})"),
               Catch::Contains("'a' is in both"));
    // A directory with several shards and no index is ambiguous.
    std::filesystem::remove(dir.file("model.safetensors.index.json"));
    auto m = SafetensorsModel::open(dir.path().string());
    REQUIRE(!m.ok());
    CHECK_THAT(m.status().message(), Catch::Contains("3 .safetensors files"));
}
