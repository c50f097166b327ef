// Checkpoints with only a SentencePiece tokenizer.model (convert/spm_tokenizer.h): the tokenizer
// built from it gives SentencePiece's own ids (fixtures from tests/fixtures/convert/
// make_spm_fixtures.py) and transformers' ids (the llama2_linear_tied fixture ships both files),
// decodes back to the text, converts end to end, and unsupported models are errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/convert.h"
#include "convert/spm_tokenizer.h"
#include "core/text/tokenizer.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/qnt.h"
#include "tests/support.h"

using namespace quanta;
namespace fs = std::filesystem;

namespace {

const std::string kSpm = source_path("tests/fixtures/convert/spm");

nlohmann::json expected() { return nlohmann::json::parse(std::ifstream(kSpm + "/expected.json")); }

text::Tokenizer spm_tokenizer(const std::string & dir) {
    auto d = convert::load_spm_tokenizer_dir(dir);
    INFO(d.status().message());
    REQUIRE(d.ok());
    auto t = text::Tokenizer::create(std::move(d.value()));
    INFO(t.status().message());
    REQUIRE(t.ok());
    return std::move(t.value());
}

fs::path scratch(const std::string & name) {
    fs::path dir = fs::temp_directory_path() / ("quanta_test_spm_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST_CASE("spm tokenizer: tokenizer.model gives SentencePiece's ids and decodes back", "[convert]") {
    if (!convert::spm_tokenizer_available()) {
        QUANTA_SKIP("built without libsentencepiece (install libsentencepiece-dev: scripts/install-deps.sh)");
    }
    const nlohmann::json want = expected();
    for (const char * name : {"bpe", "bpe_noprefix"}) {
        INFO(name);
        const text::Tokenizer tok = spm_tokenizer(kSpm + "/" + name);
        size_t checked = 0;
        for (size_t i = 0; i < want["lines"].size(); ++i) {
            const std::string line = want["lines"][i].get<std::string>();
            INFO("line " << i << ": " << line);
            const std::vector<int32_t> ids = tok.encode(line, {/*add_special=*/true, /*parse_special=*/false});
            CHECK(ids == want[name][i].get<std::vector<int32_t>>());
            // A literal U+2581 in the text decodes as a space (lossy in SentencePiece and HF alike).
            if (line.find("\xE2\x96\x81") == std::string::npos) CHECK(tok.decode(ids, /*skip_special=*/true) == line);
            ++checked;
        }
        CHECK(checked > 100);
    }
}

TEST_CASE("spm tokenizer: agrees with transformers' tokenizer.json of the same model", "[convert]") {
    if (!convert::spm_tokenizer_available()) {
        QUANTA_SKIP("built without libsentencepiece (install libsentencepiece-dev: scripts/install-deps.sh)");
    }
    const std::string dir = source_path("tests/fixtures/models/llama2_linear_tied");
    const text::Tokenizer spm = spm_tokenizer(dir);
    auto hf_data = text::load_hf_tokenizer_dir(dir);
    REQUIRE(hf_data.ok());
    auto hf = text::Tokenizer::create(std::move(hf_data.value()));
    REQUIRE(hf.ok());
    CHECK(spm.n_vocab() == hf->n_vocab());
    const nlohmann::json want = expected();
    for (const auto & l : want["lines"]) {
        const std::string line = l.get<std::string>();
        INFO(line);
        CHECK(spm.encode(line, {true, false}) == hf->encode(line, {true, false}));
    }
}

TEST_CASE("convert: a checkpoint with only tokenizer.model converts", "[convert]") {
    if (!convert::spm_tokenizer_available()) {
        QUANTA_SKIP("built without libsentencepiece (install libsentencepiece-dev: scripts/install-deps.sh)");
    }
    const fs::path dir = scratch("convert");
    const fs::path ckpt = dir / "ckpt";
    fs::copy(source_path("tests/fixtures/models/llama2_linear_tied"), ckpt, fs::copy_options::recursive);
    fs::remove(ckpt / "tokenizer.json");
    convert::ConvertOptions o;
    o.type = "f16";
    o.n_threads = 2;
    Status s = convert::convert_model(ckpt.string(), (dir / "m.qnt").string(), o);
    INFO(s.message());
    REQUIRE(s.ok());
    auto q = formats::QntReader::open((dir / "m.qnt").string());
    REQUIRE(q.ok());
    auto data = text::tokenizer_from_metadata(q->metadata());
    REQUIRE(data.ok());
    auto tok = text::Tokenizer::create(std::move(data.value()));
    REQUIRE(tok.ok());
    const text::Tokenizer direct = spm_tokenizer(ckpt.string());
    for (const char * line : {"Hello world", "  two leading spaces", "The quick brown fox jumps over the lazy dog."}) {
        INFO(line);
        CHECK(tok->encode(line) == direct.encode(line));
        CHECK(tok->encode(line).front() == tok->data().bos_id);
    }

    // Neither tokenizer file: the error names both.
    fs::remove(ckpt / "tokenizer.model");
    Status none = convert::convert_model(ckpt.string(), (dir / "n.qnt").string(), o);
    REQUIRE_FALSE(none.ok());
    CHECK(none.message().find("tokenizer.json") != std::string::npos);
    CHECK(none.message().find("tokenizer.model") != std::string::npos);
}

TEST_CASE("spm tokenizer: Unigram and corrupt models are errors", "[convert]") {
    if (!convert::spm_tokenizer_available()) {
        QUANTA_SKIP("built without libsentencepiece (install libsentencepiece-dev: scripts/install-deps.sh)");
    }
    auto u = convert::load_spm_tokenizer_dir(kSpm + "/unigram");
    REQUIRE_FALSE(u.ok());
    CHECK(u.status().message().find("Unigram") != std::string::npos);

    const fs::path dir = scratch("corrupt");
    std::ofstream(dir / "tokenizer.model", std::ios::binary) << "not a protobuf at all";
    auto c = convert::load_spm_tokenizer_dir(dir.string());
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().message().find("tokenizer.model") != std::string::npos);
}
