// tests/formats/test_qnt.cpp — .qnt write -> read round trips, verify(), corruption, truncation.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "formats/qnt.h"
#include "tests/formats/format_test_util.h"
#include "tests/support.h"

using namespace quanta;
using namespace quanta::formats;
using quanta::test::TempDir;

namespace {

struct Written {
    std::string name;
    Type type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> bytes;
};

// One tensor of every type in quant/types.def, with random bytes of the right size.
std::vector<Written> tensors_of_every_type() {
    std::vector<Written> out;
    for (uint32_t id = 0; id < 256; ++id) {
        auto ts = type_size_from_id(id);
        if (!ts) continue;
        Written w;
        w.name = std::string("blk.0.") + ts->name + ".weight";
        w.type = ts->type;
        w.ne = {int64_t(ts->block_size * 2), 3, 2};
        w.bytes = quanta::test::random_bytes(size_t(ts->block_bytes * 2 * 3 * 2), id + 1);
        out.push_back(std::move(w));
    }
    return out;
}

void write_model(const std::string & path, const std::vector<Written> & tensors, uint32_t alignment = 256) {
    QntWriterOptions opt;
    opt.alignment = alignment;
    auto w = QntWriter::create(path, opt);
    REQUIRE(w.ok());
    REQUIRE(w->add_u8("t.u8", 200).ok());
    REQUIRE(w->add_i8("t.i8", -100).ok());
    REQUIRE(w->add_u16("t.u16", 60000).ok());
    REQUIRE(w->add_i16("t.i16", -30000).ok());
    REQUIRE(w->add_u32("t.u32", 4000000000u).ok());
    REQUIRE(w->add_i32("t.i32", -2000000000).ok());
    REQUIRE(w->add_u64("t.u64", 18000000000000000000ull).ok());
    REQUIRE(w->add_i64("t.i64", -9000000000000000000ll).ok());
    REQUIRE(w->add_f32("t.f32", 1.5e-6f).ok());
    REQUIRE(w->add_f64("t.f64", -3.25e100).ok());
    REQUIRE(w->add_bool("t.bool", true).ok());
    REQUIRE(w->add_string("t.string", "{% for m in messages %}ü{% endfor %}").ok());
    REQUIRE(w->add_string("t.empty", "").ok());
    const std::vector<uint8_t> a_u8 = {0, 1, 255};
    const std::vector<int8_t> a_i8 = {-128, 0, 127};
    const std::vector<uint16_t> a_u16 = {0, 65535};
    const std::vector<int16_t> a_i16 = {-32768, 32767};
    const std::vector<uint32_t> a_u32 = {1, 2, 3, 4000000000u};
    const std::vector<int32_t> a_i32 = {-1, 2, -3};
    const std::vector<uint64_t> a_u64 = {~0ull};
    const std::vector<int64_t> a_i64 = {INT64_MIN, INT64_MAX};
    const std::vector<float> a_f32 = {0.5f, -0.25f, 1e30f};
    const std::vector<double> a_f64 = {1e-300, 2.0};
    const std::vector<std::string> a_str = {"<bos>", "", "▁the", "\n"};
    const std::vector<bool> a_bool = {true, false, true};
    REQUIRE(w->add_array("a.u8", std::span<const uint8_t>(a_u8)).ok());
    REQUIRE(w->add_array("a.i8", std::span<const int8_t>(a_i8)).ok());
    REQUIRE(w->add_array("a.u16", std::span<const uint16_t>(a_u16)).ok());
    REQUIRE(w->add_array("a.i16", std::span<const int16_t>(a_i16)).ok());
    REQUIRE(w->add_array("a.u32", std::span<const uint32_t>(a_u32)).ok());
    REQUIRE(w->add_array("a.i32", std::span<const int32_t>(a_i32)).ok());
    REQUIRE(w->add_array("a.u64", std::span<const uint64_t>(a_u64)).ok());
    REQUIRE(w->add_array("a.i64", std::span<const int64_t>(a_i64)).ok());
    REQUIRE(w->add_array("a.f32", std::span<const float>(a_f32)).ok());
    REQUIRE(w->add_array("a.f64", std::span<const double>(a_f64)).ok());
    REQUIRE(w->add_array("a.str", std::span<const std::string>(a_str)).ok());
    REQUIRE(w->add_array("a.empty", std::span<const float>()).ok());
    REQUIRE(w->add_bool_array("a.bool", a_bool).ok());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto & t = tensors[i];
        if (i % 2 == 0) {
            REQUIRE(w->add_tensor(t.name, t.type, t.ne, t.bytes.data(), t.bytes.size()).ok());
        } else {  // streamed in uneven pieces
            REQUIRE(w->begin_tensor(t.name, t.type, t.ne).ok());
            size_t done = 0, piece = 7;
            while (done < t.bytes.size()) {
                const size_t n = std::min(piece, t.bytes.size() - done);
                REQUIRE(w->write_tensor_data(t.bytes.data() + done, n).ok());
                done += n;
                piece = piece * 3 + 1;
            }
            REQUIRE(w->end_tensor().ok());
        }
    }
    Status st = w->finish();
    INFO(st.message());
    REQUIRE(st.ok());
}

}  // namespace

TEST_CASE("qnt: every metadata type and every tensor type round-trip", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("m.qnt");
    const auto tensors = tensors_of_every_type();
    REQUIRE(tensors.size() >= 15);
    write_model(path, tensors);
    // No temporary file is left beside the result.
    size_t n_files = 0;
    for (auto & e : std::filesystem::directory_iterator(dir.path())) {
        (void)e;
        ++n_files;
    }
    CHECK(n_files == 1);

    auto r = QntReader::open(path);
    INFO(r.status().message());
    REQUIRE(r.ok());
    const Metadata & m = r->metadata();
    CHECK(*m.get_u8("t.u8") == 200);
    CHECK(*m.get_i8("t.i8") == -100);
    CHECK(*m.get_u16("t.u16") == 60000);
    CHECK(*m.get_i16("t.i16") == -30000);
    CHECK(*m.get_u32("t.u32") == 4000000000u);
    CHECK(*m.get_i32("t.i32") == -2000000000);
    CHECK(*m.get_u64("t.u64") == 18000000000000000000ull);
    CHECK(*m.get_i64("t.i64") == -9000000000000000000ll);
    CHECK(*m.get_f32("t.f32") == 1.5e-6f);
    CHECK(*m.get_f64("t.f64") == -3.25e100);
    CHECK(*m.get_bool("t.bool") == true);
    CHECK(*m.get_string("t.string") == "{% for m in messages %}ü{% endfor %}");
    CHECK(m.get_string("t.empty")->empty());
    CHECK(*m.get_int("t.i32") == -2000000000);
    CHECK(*m.get_float("t.f32") == Approx(1.5e-6));
    CHECK(*m.get_array<uint8_t>("a.u8") == std::vector<uint8_t>{0, 1, 255});
    CHECK(*m.get_array<int8_t>("a.i8") == std::vector<int8_t>{-128, 0, 127});
    CHECK(*m.get_array<uint16_t>("a.u16") == std::vector<uint16_t>{0, 65535});
    CHECK(*m.get_array<int16_t>("a.i16") == std::vector<int16_t>{-32768, 32767});
    CHECK(*m.get_array<uint32_t>("a.u32") == std::vector<uint32_t>{1, 2, 3, 4000000000u});
    CHECK(*m.get_array<int32_t>("a.i32") == std::vector<int32_t>{-1, 2, -3});
    CHECK(*m.get_array<uint64_t>("a.u64") == std::vector<uint64_t>{~0ull});
    CHECK(*m.get_array<int64_t>("a.i64") == std::vector<int64_t>{INT64_MIN, INT64_MAX});
    CHECK(*m.get_array<float>("a.f32") == std::vector<float>{0.5f, -0.25f, 1e30f});
    CHECK(*m.get_array<double>("a.f64") == std::vector<double>{1e-300, 2.0});
    CHECK(*m.get_array<bool>("a.bool") == std::vector<bool>{true, false, true});
    CHECK(*m.get_int_array("a.i8") == std::vector<int64_t>{-128, 0, 127});
    CHECK(m.get_array<float>("a.empty")->empty());
    auto strs = m.get_string_array("a.str");
    REQUIRE(strs.ok());
    REQUIRE(strs->size() == 4);
    CHECK((*strs)[0] == "<bos>");
    CHECK((*strs)[1].empty());
    CHECK((*strs)[2] == "▁the");
    CHECK((*strs)[3] == "\n");

    REQUIRE(r->tensors().size() == tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const TensorView & v = r->tensors()[i];
        INFO(tensors[i].name);
        CHECK(v.name == tensors[i].name);
        CHECK(v.type == tensors[i].type);
        CHECK(v.n_dims == 3);
        CHECK(v.ne[0] == tensors[i].ne[0]);
        CHECK(v.ne[1] == 3);
        CHECK(v.ne[2] == 2);
        CHECK(v.ne[3] == 1);
        CHECK(v.size == tensors[i].bytes.size());
        CHECK(reinterpret_cast<uintptr_t>(v.data) % 256 == 0);  // page-aligned mapping + 256-byte offsets
        CHECK(std::memcmp(v.data, tensors[i].bytes.data(), v.size) == 0);
        CHECK(r->find(tensors[i].name) == &v);
    }
    CHECK(r->find("nope") == nullptr);
    CHECK(r->verify(3).empty());
}

TEST_CASE("qnt: typed getters name the key and the types on mismatch", "[qnt]") {
    TempDir dir;
    write_model(dir.file("m.qnt"), {});
    auto r = QntReader::open(dir.file("m.qnt"));
    REQUIRE(r.ok());
    auto a = r->metadata().get_u32("t.string");
    REQUIRE(!a.ok());
    CHECK(a.status().message().find("'t.string' is string, expected u32") != std::string::npos);
    auto b = r->metadata().get_string("missing.key");
    REQUIRE(!b.ok());
    CHECK(b.status().message().find("'missing.key' not found") != std::string::npos);
    auto c = r->metadata().get_array<int32_t>("a.f32");
    REQUIRE(!c.ok());
    CHECK(c.status().message().find("array of f32, expected i32") != std::string::npos);
}

TEST_CASE("qnt: verify names the tensor with a flipped byte", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("m.qnt");
    const auto tensors = tensors_of_every_type();
    write_model(path, tensors);
    const TensorView * target = nullptr;
    uint64_t offset = 0;
    {
        auto r = QntReader::open(path);
        REQUIRE(r.ok());
        target = r->find("blk.0.Q4_K.weight");
        REQUIRE(target != nullptr);
        offset = target->offset + target->size / 2;
    }
    auto bytes = quanta::test::read_bytes(path);
    bytes[offset] ^= 0x10;
    quanta::test::write_bytes(path, bytes);
    auto r = QntReader::open(path);
    REQUIRE(r.ok());  // data is not read at open
    CHECK(r->verify() == std::vector<std::string>{"blk.0.Q4_K.weight"});
}

TEST_CASE("qnt: a truncated file gives a clean error at every cut", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("m.qnt");
    auto tensors = tensors_of_every_type();
    tensors.resize(3);
    write_model(path, tensors, 64);
    const auto full = quanta::test::read_bytes(path);
    REQUIRE(QntReader::open_memory(full, "full").ok());
    size_t n_cut = 0;
    for (size_t len = 0; len < full.size(); len += (len < 128 || len + 600 > full.size()) ? 1 : 37) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + long(len));
        auto r = QntReader::open_memory(cut, "cut");
        INFO("length " << len);
        REQUIRE(!r.ok());
        CHECK(r.status().message().rfind("qnt 'cut': ", 0) == 0);
        ++n_cut;
    }
    CHECK(n_cut > 500);
}

TEST_CASE("qnt: corrupt index bytes are refused (checksum) or reported (parser)", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("m.qnt");
    auto tensors = tensors_of_every_type();
    tensors.resize(4);
    write_model(path, tensors, 64);
    const auto full = quanta::test::read_bytes(path);
    uint64_t index_offset = 0;
    std::memcpy(&index_offset, full.data() + 32, 8);
    QntOpenOptions no_sum;
    no_sum.check_index_checksum = false;
    for (size_t i = size_t(index_offset); i < full.size(); ++i) {
        for (uint8_t flip : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff)}) {
            auto bad = full;
            bad[i] ^= flip;
            auto r1 = QntReader::open_memory(bad, "bad");
            REQUIRE(!r1.ok());
            CHECK(r1.status().message().find("index checksum mismatch") != std::string::npos);
            // Without the checksum the parser itself must stay safe: either an error or a valid view.
            auto r2 = QntReader::open_memory(bad, "bad", no_sum);
            if (r2.ok()) {
                for (const auto & t : r2->tensors()) {
                    CHECK(t.offset + t.size <= bad.size());
                }
            }
        }
    }
}

TEST_CASE("qnt: hostile headers are refused with the reason", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("m.qnt");
    auto tensors = tensors_of_every_type();
    tensors.resize(2);
    write_model(path, tensors, 64);
    const auto full = quanta::test::read_bytes(path);
    auto patched = [&](size_t at, uint64_t value, size_t width) {
        auto b = full;
        std::memcpy(b.data() + at, &value, width);
        return b;
    };
    auto message = [](const std::vector<uint8_t> & b) {
        auto r = QntReader::open_memory(b, "h");
        REQUIRE(!r.ok());
        return r.status().message();
    };
    CHECK_THAT(message(patched(0, 0x46554747, 4)), Catch::Contains("bad magic"));
    CHECK_THAT(message(patched(4, 2, 2)), Catch::Contains("upgrade quanta to one that reads .qnt version 2"));
    CHECK_THAT(message(patched(12, 100, 4)), Catch::Contains("alignment 100"));
    CHECK_THAT(message(patched(16, 4097, 8)), Catch::Contains("not a multiple of 4096"));
    CHECK_THAT(message(patched(24, ~0ull - 10, 8)), Catch::Contains("runs past the end"));
    CHECK_THAT(message(patched(40, ~0ull, 8)), Catch::Contains("runs past the end"));
    CHECK_THAT(message(patched(56, 0xffffffffu, 4)), Catch::Contains("metadata count"));
    CHECK_THAT(message(patched(60, 1000000, 4)), Catch::Contains("cannot fit"));
    // A newer minor version is accepted (minor versions only add what old readers may ignore).
    auto newer_minor = patched(6, 7, 2);
    auto r = QntReader::open_memory(newer_minor, "minor");
    INFO(r.status().message());
    CHECK(r.ok());
}

TEST_CASE("qnt: writer refuses bad input and leaves no file behind", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("m.qnt");
    {
        auto w = QntWriter::create(path);
        REQUIRE(w.ok());
        CHECK(w->add_u32("k", 1).ok());
        CHECK(!w->add_u32("k", 2).ok());  // duplicate key
        CHECK(!w->add_u32("", 2).ok());
        CHECK(!w->add_string(std::string("\xff\xfe", 2), "x").ok());  // key not UTF-8
        const std::vector<int64_t> ne = {33};
        std::vector<uint8_t> data(64);
        CHECK(!w->add_tensor("q", Type::Q8_0, ne, data.data(), data.size()).ok());  // 33 % 32 != 0
        const std::vector<int64_t> ne32 = {32};
        CHECK(!w->add_tensor("q", Type::Q8_0, ne32, data.data(), 10).ok());  // wrong byte count
        CHECK(w->add_tensor("q", Type::Q8_0, ne32, data.data(), 34).ok());
        CHECK(!w->add_tensor("q", Type::Q8_0, ne32, data.data(), 34).ok());                         // duplicate name
        CHECK(!w->add_tensor(std::string("\xc0\x80", 2), Type::F32, ne32, data.data(), 128).ok());  // overlong UTF-8
        // Abandoned: destroyed without finish().
    }
    CHECK(std::filesystem::is_empty(dir.path()));
    // The writer stayed usable after the refused calls.
    auto w = QntWriter::create(path);
    REQUIRE(w.ok());
    const std::vector<int64_t> ne32 = {32};
    std::vector<uint8_t> data(34, 7);
    REQUIRE(w->add_tensor("q", Type::Q8_0, ne32, data.data(), 10).ok() == false);
    REQUIRE(w->add_tensor("q", Type::Q8_0, ne32, data.data(), 34).ok());
    REQUIRE(w->finish().ok());
    auto r = QntReader::open(path);
    REQUIRE(r.ok());
    REQUIRE(r->tensors().size() == 1);
    CHECK(r->verify().empty());
}

TEST_CASE("qnt: long zero runs become holes but read back as zeros", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("z.qnt");
    std::vector<uint8_t> zeros(1 << 20, 0);
    zeros[12345] = 1;
    zeros.back() = 0;
    auto w = QntWriter::create(path);
    REQUIRE(w.ok());
    const std::vector<int64_t> ne = {int64_t(zeros.size() / 4)};
    REQUIRE(w->add_tensor("a", Type::F32, ne, zeros.data(), zeros.size()).ok());
    REQUIRE(w->add_tensor("b", Type::F32, ne, zeros.data(), zeros.size()).ok());
    REQUIRE(w->finish().ok());
    auto r = QntReader::open(path);
    REQUIRE(r.ok());
    CHECK(std::memcmp(r->find("b")->data, zeros.data(), zeros.size()) == 0);
    CHECK(r->verify().empty());
}

TEST_CASE("mmap: clear errors for missing files and directories", "[mmap]") {
    TempDir dir;
    auto a = MmapFile::open(dir.file("missing.bin"));
    REQUIRE(!a.ok());
    CHECK_THAT(a.status().message(), Catch::Contains("missing.bin") && Catch::Contains("No such file"));
    auto b = MmapFile::open(dir.path().string());
    REQUIRE(!b.ok());
    CHECK_THAT(b.status().message(), Catch::Contains("is a directory"));
    quanta::test::write_bytes(dir.file("empty"), {});
    auto c = MmapFile::open(dir.file("empty"));
    REQUIRE(c.ok());
    CHECK(c->size() == 0);
    auto q = QntReader::open(dir.file("empty"));
    REQUIRE(!q.ok());
    CHECK_THAT(q.status().message(), Catch::Contains("shorter than the 64-byte header"));
}

TEST_CASE("qnt: hostile tensor directories are refused with the reason", "[qnt]") {
    TempDir dir;
    const std::string path = dir.file("d.qnt");
    {
        auto w = QntWriter::create(path, {64});
        REQUIRE(w.ok());
        std::vector<uint8_t> data(128, 1);
        const std::vector<int64_t> ne = {32};
        REQUIRE(w->add_tensor("tensor_aa", Type::F32, ne, data.data(), 128).ok());
        REQUIRE(w->add_tensor("tensor_ab", Type::F32, ne, data.data(), 128).ok());
        REQUIRE(w->finish().ok());
    }
    const auto full = quanta::test::read_bytes(path);
    uint64_t index_offset = 0;
    std::memcpy(&index_offset, full.data() + 32, 8);
    // Directory entry of tensor_ab: name, then u32 type, u32 n_dims, u64 ne0, u64 offset, u64 size, u64 sum.
    const std::string second = "tensor_ab";
    auto it = std::search(full.begin() + long(index_offset), full.end(), second.begin(), second.end());
    REQUIRE(it != full.end());
    const size_t name_at = size_t(it - full.begin());
    const size_t type_at = name_at + second.size(), ndims_at = type_at + 4, ne0_at = ndims_at + 4;
    const size_t offset_at = ne0_at + 8;
    QntOpenOptions no_sum;
    no_sum.check_index_checksum = false;
    auto message = [&](auto patch) {
        auto b = full;
        patch(b);
        auto r = QntReader::open_memory(b, "d", no_sum);
        REQUIRE(!r.ok());
        return r.status().message();
    };
    auto put64 = [](std::vector<uint8_t> & b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); };
    auto put32 = [](std::vector<uint8_t> & b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); };
    CHECK_THAT(message([&](auto & b) { b[name_at + 8] = 'a'; }), Catch::Contains("'tensor_aa': duplicate tensor name"));
    CHECK_THAT(message([&](auto & b) { b[name_at + 3] = char(0xC3); }), Catch::Contains("not valid UTF-8"));
    CHECK_THAT(message([&](auto & b) { put64(b, offset_at, 0); }), Catch::Contains("overlap"));
    CHECK_THAT(message([&](auto & b) { put64(b, offset_at, 65); }),
               Catch::Contains("not a multiple of the alignment 64"));
    CHECK_THAT(message([&](auto & b) { put64(b, offset_at, 1ull << 62); }),
               Catch::Contains("runs past the end of the data section"));
    CHECK_THAT(message([&](auto & b) { put64(b, ne0_at, 1ull << 62); }), Catch::Contains("overflows"));
    CHECK_THAT(message([&](auto & b) { put64(b, ne0_at, 0); }), Catch::Contains("dim 0 is 0"));
    CHECK_THAT(message([&](auto & b) { put64(b, ne0_at, 31); }), Catch::Contains("needs 124"));
    CHECK_THAT(message([&](auto & b) { put32(b, type_at, 200); }),
               Catch::Contains("type id 200 is unknown to this quanta") && Catch::Contains("upgrade quanta"));
    CHECK_THAT(message([&](auto & b) { put32(b, ndims_at, 5); }), Catch::Contains("5 dims"));
    CHECK_THAT(message([&](auto & b) { put32(b, name_at - 4, 0xFFFFFFF0u); }), Catch::Contains("exceeds the limit"));
    CHECK_THAT(message([&](auto & b) { put32(b, name_at - 4, 0); }), Catch::Contains("empty name"));
}
