// quanta convert on checkpoints the fixtures do not ship as such: sharded (index + shards), a shard
// missing, an unsupported dtype, a full disk; and the progress callback.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/convert.h"
#include "formats/qnt.h"
#include "formats/safetensors.h"
#include "tests/support.h"

using namespace quanta;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string & name) {
    fs::path dir = fs::temp_directory_path() / ("quanta_test_convert_inputs_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string fixture(const std::string & name) { return source_path("tests/fixtures/models/" + name); }

convert::ConvertOptions opts(const std::string & type) {
    convert::ConvertOptions o;
    o.type = type;
    o.n_threads = 2;
    return o;
}

// One safetensors file holding `views` (F32 fixture tensors), header keys in the given order.
void write_safetensors(const fs::path & path, const std::vector<const formats::TensorView *> & views,
                       const std::string & dtype_override = "") {
    nlohmann::ordered_json header;
    uint64_t offset = 0;
    for (const formats::TensorView * v : views) {
        std::vector<int64_t> shape;
        for (uint32_t d = v->n_dims; d-- > 0;) shape.push_back(v->ne[d]);  // row-major: outermost first
        header[std::string(v->name)] = {{"dtype", dtype_override.empty() ? "F32" : dtype_override},
                                        {"shape", shape},
                                        {"data_offsets", {offset, offset + v->size}}};
        offset += v->size;
    }
    header["__metadata__"] = {{"format", "pt"}};
    std::string h = header.dump();
    h.resize((h.size() + 7) / 8 * 8, ' ');
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = h.size();
    f.write(reinterpret_cast<const char *>(&n), 8);
    f.write(h.data(), std::streamsize(h.size()));
    for (const formats::TensorView * v : views) f.write(static_cast<const char *>(v->data), std::streamsize(v->size));
}

// The fixture re-written as two shards plus model.safetensors.index.json, with its config and
// tokenizer files.
void write_sharded(const std::string & name, const fs::path & dir) {
    for (const auto & e : fs::directory_iterator(fixture(name))) {
        const std::string f = e.path().filename().string();
        if (f.ends_with(".json") ) fs::copy_file(e.path(), dir / f, fs::copy_options::overwrite_existing);
    }
    auto st = formats::SafetensorsModel::open(fixture(name));
    REQUIRE(st.ok());
    std::vector<const formats::TensorView *> a, b;
    for (const formats::TensorView & t : st->tensors()) (a.size() <= st->tensors().size() / 2 ? a : b).push_back(&t);
    const char * names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    write_safetensors(dir / names[0], a);
    write_safetensors(dir / names[1], b);
    nlohmann::json index;
    index["metadata"] = {{"total_size", 0}};
    for (const auto * t : a) index["weight_map"][std::string(t->name)] = names[0];
    for (const auto * t : b) index["weight_map"][std::string(t->name)] = names[1];
    std::ofstream(dir / "model.safetensors.index.json") << index.dump(1);
}

}  // namespace

TEST_CASE("convert: a sharded checkpoint converts to the same bytes as the single file", "[convert]") {
    const fs::path dir = scratch("sharded");
    const fs::path ckpt = dir / "ckpt";
    fs::create_directories(ckpt);
    write_sharded("qwen2_bias", ckpt);
    std::vector<std::string> seen;
    uint64_t last_read = 0;
    bool read_grows = true;
    convert::ConvertOptions o = opts("q8_0");
    o.progress = [&](size_t i, size_t n, const std::string & name, uint64_t read) {
        read_grows = read_grows && read > last_read && i == seen.size() && i < n;
        last_read = read;
        seen.push_back(name);
    };
    Status s = convert::convert_model(ckpt.string(), (dir / "sharded.qnt").string(), o);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(convert::convert_model(fixture("qwen2_bias"), (dir / "single.qnt").string(), opts("q8_0")).ok());
    auto a = formats::QntReader::open((dir / "sharded.qnt").string());
    auto b = formats::QntReader::open((dir / "single.qnt").string());
    REQUIRE((a.ok() && b.ok()));
    REQUIRE(a->tensors().size() == b->tensors().size());
    for (const formats::TensorView & t : a->tensors()) {
        INFO(t.name);
        REQUIRE(b->find(t.name));
        CHECK(t.checksum == b->find(t.name)->checksum);
    }
    // One progress call per tensor, in order, with the bytes read growing.
    CHECK(seen.size() == a->tensors().size());
    CHECK(read_grows);
}

TEST_CASE("convert: a missing shard and an unsupported dtype are errors naming the file", "[convert]") {
    const fs::path dir = scratch("bad_inputs");
    const fs::path out = dir / "out.qnt";
    SECTION("missing shard") {
        const fs::path ckpt = dir / "ckpt";
        fs::create_directories(ckpt);
        write_sharded("llama3", ckpt);
        fs::remove(ckpt / "model-00002-of-00002.safetensors");
        Status s = convert::convert_model(ckpt.string(), out.string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        INFO(s.message());
        CHECK(s.message().find("model-00002-of-00002.safetensors") != std::string::npos);
    }
    SECTION("unsupported dtype") {
        const fs::path ckpt = dir / "i32";
        fs::create_directories(ckpt);
        for (const char * f : {"config.json", "tokenizer.json", "tokenizer_config.json"}) {
            fs::copy_file(fs::path(fixture("llama3")) / f, ckpt / f);
        }
        auto st = formats::SafetensorsModel::open(fixture("llama3"));
        REQUIRE(st.ok());
        std::vector<const formats::TensorView *> all;
        for (const formats::TensorView & t : st->tensors()) all.push_back(&t);
        write_safetensors(ckpt / "model.safetensors", all, "I32");  // same width as F32, not a float
        Status s = convert::convert_model(ckpt.string(), out.string(), opts("f16"));
        REQUIRE_FALSE(s.ok());
        INFO(s.message());
        CHECK(s.message().find("dtype 'I32' is not supported") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(out));
}

TEST_CASE("convert: a full disk is an error and leaves no file behind", "[convert]") {
    // A child process with RLIMIT_FSIZE of 64 KiB: writes past it fail with EFBIG as on a full disk.
    const fs::path dir = scratch("disk_full");
    const fs::path out = dir / "out.qnt";
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(pipefd[0]);
        ::signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl{64 * 1024, 64 * 1024};
        ::setrlimit(RLIMIT_FSIZE, &rl);
        Status s = convert::convert_model(fixture("llama3"), out.string(), opts("f32"));
        const std::string msg = s.ok() ? std::string("ok") : s.message();
        if (::write(pipefd[1], msg.data(), msg.size()) < 0) ::_exit(3);
        ::_exit(s.ok() ? 1 : 0);
    }
    ::close(pipefd[1]);
    std::string msg;
    char buf[512];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(n));
    ::close(pipefd[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO(msg);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(msg.find("File too large") != std::string::npos);
    CHECK(msg.find(out.string()) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
    for (const auto & e : fs::directory_iterator(dir)) {
        INFO(e.path());
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
    }
}
