// tests/formats/test_inspect.cpp — `quanta inspect` end to end: a .qnt with a flipped byte fails
// --verify naming that tensor; --json parses; GGUF and sharded safetensors inputs work.
// Needs the `quanta` binary of the same build tree (skipped aloud when it is not built).
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/qnt.h"
#include "tests/formats/format_test_util.h"
#include "tests/support.h"

using namespace quanta;
using namespace quanta::formats;

namespace {

struct Run {
    int rc = -1;
    std::string out;
};

Run run(const std::string & args, bool with_stderr = true) {
    Run r;
    const std::string cmd = binary_path("bin/quanta") + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
    FILE * p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

void write_small_model(const std::string & path) {
    auto w = QntWriter::create(path);
    REQUIRE(w.ok());
    REQUIRE(w->add_string("general.architecture", "llama").ok());
    REQUIRE(w->add_u32("llama.block_count", 2).ok());
    std::vector<std::string> vocab(1000, "tok");
    REQUIRE(w->add_array("tokenizer.ggml.tokens", std::span<const std::string>(vocab)).ok());
    REQUIRE(w->add_string("tokenizer.chat_template", "{{ messages }}").ok());
    for (const char * name : {"tok_embd.weight", "blk.0.attn_q.weight", "blk.1.attn_q.weight"}) {
        const std::vector<int64_t> ne = {64, 4};
        const auto bytes = quanta::test::random_bytes(2 * 34 * 4, uint32_t(std::strlen(name)));
        REQUIRE(w->add_tensor(name, Type::Q8_0, ne, bytes.data(), bytes.size()).ok());
    }
    REQUIRE(w->finish().ok());
}

}  // namespace

TEST_CASE("inspect: --verify catches a flipped byte and names the tensor", "[inspect]") {
    if (!std::filesystem::exists(binary_path("bin/quanta")))
        QUANTA_SKIP("bin/quanta is not built in " + binary_path(""));
    quanta::test::TempDir dir;
    const std::string path = dir.file("m.qnt");
    write_small_model(path);

    Run ok = run("inspect --verify " + path);
    INFO(ok.out);
    CHECK(ok.rc == 0);
    CHECK_THAT(ok.out, Catch::Contains("architecture:  llama") && Catch::Contains("1000 tokens") &&
                           Catch::Contains("chat template: present") && Catch::Contains("all 3 checksums match"));

    uint64_t offset = 0;
    {
        auto r = QntReader::open(path);
        REQUIRE(r.ok());
        offset = r->find("blk.0.attn_q.weight")->offset + 5;
    }
    auto bytes = quanta::test::read_bytes(path);
    bytes[offset] ^= 1;
    quanta::test::write_bytes(path, bytes);
    Run bad = run("inspect --verify " + path);
    INFO(bad.out);
    CHECK(bad.rc == 1);
    CHECK_THAT(bad.out, Catch::Contains("1 tensor(s) fail their checksum") && Catch::Contains("'blk.0.attn_q.weight'"));
    CHECK_THAT(bad.out, !Catch::Contains("'blk.1.attn_q.weight'"));

    Run js = run("inspect --json --verify " + path, false);
    CHECK(js.rc == 1);
    auto j = nlohmann::json::parse(js.out);
    CHECK(j["format"] == "qnt");
    CHECK(j["verify"]["bad_tensors"] == nlohmann::json::array({"blk.0.attn_q.weight"}));
    CHECK(j["metadata"]["tokenizer.ggml.tokens"]["count"] == 1000);
    CHECK(j["totals"]["tensors"] == 3);
}

TEST_CASE("inspect: GGUF, sharded safetensors and bad input", "[inspect]") {
    if (!std::filesystem::exists(binary_path("bin/quanta")))
        QUANTA_SKIP("bin/quanta is not built in " + binary_path(""));
    Run g = run("inspect --json " + source_path("tests/fixtures/formats/tiny.gguf"));
    INFO(g.out);
    REQUIRE(g.rc == 0);
    auto j = nlohmann::json::parse(g.out);
    CHECK(j["architecture"] == "llama");
    CHECK(j["tensors"].size() == 6);
    CHECK(j["metadata"]["test.nested"] == nlohmann::json::parse("[[1,2,3],[4],[5,6]]"));

    Run s = run("inspect " + source_path("tests/fixtures/formats/sharded"));
    INFO(s.out);
    CHECK(s.rc == 0);
    CHECK_THAT(s.out, Catch::Contains("2 shards") && Catch::Contains("model.layers.1.self_attn.q_proj.weight") &&
                          Catch::Contains("total: 4 tensors, 168 parameters"));

    Run missing = run("inspect /nonexistent/model.qnt");
    CHECK(missing.rc == 1);
    CHECK_THAT(missing.out, Catch::Contains("quanta: error:"));
}
