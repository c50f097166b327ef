// config.json -> HParams on the transformers-written fixtures, and the architecture tensor tables
// checked against the tensors transformers actually saved.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "convert/hf_config.h"
#include "core/arch/tensors.h"
#include "formats/safetensors.h"
#include "tests/support.h"

using namespace quanta;

static const char * kFixtures[] = {"llama3", "llama2_linear_tied", "mistral_swa", "qwen2_bias",
                                   "qwen3_qknorm", "gemma", "gemma2_softcap", "gemma3_text"};

static arch::HParams load(const std::string & name) {
    auto hp = convert::read_hf_config(source_path("tests/fixtures/models/" + name));
    INFO(name << ": " << hp.status().message());
    REQUIRE(hp.ok());
    return *hp;
}

TEST_CASE("hf_config: every fixture's tensors match the architecture table", "[convert]") {
    for (const char * name : kFixtures) {
        INFO("fixture " << name);
        arch::HParams hp = load(name);
        auto st = formats::SafetensorsModel::open(source_path("tests/fixtures/models/") + name);
        REQUIRE(st.ok());
        std::set<std::string> expected;
        for (const arch::TensorSpec & spec : arch::tensor_specs(hp)) {
            expected.insert(spec.hf_name);
            const formats::TensorView * t = st->find(spec.hf_name);
            if (!t) {
                INFO("missing " << spec.hf_name);
                CHECK(spec.optional);
                continue;
            }
            INFO(spec.hf_name);
            REQUIRE(t->n_dims == spec.ne.size());
            for (size_t d = 0; d < spec.ne.size(); ++d) CHECK(t->ne[d] == spec.ne[d]);
        }
        for (const formats::TensorView & t : st->tensors()) {
            INFO("tensor in the checkpoint but not in the table: " << t.name);
            CHECK(expected.count(std::string(t.name)) == 1);
        }
    }
}

TEST_CASE("hf_config: family specifics reach HParams", "[convert]") {
    arch::HParams llama3 = load("llama3");
    CHECK(llama3.arch == arch::Arch::Llama);
    CHECK(llama3.n_head_kv == 1);
    CHECK(llama3.rope.scaling == arch::RopeScaling::Llama3);
    CHECK(llama3.rope.base == 500000.0f);
    CHECK(llama3.rope.original_ctx == 16);
    CHECK(llama3.layer_sliding.empty());
    CHECK(llama3.norm_offset == 0.0f);
    CHECK(llama3.activation == arch::Activation::Silu);

    arch::HParams tied = load("llama2_linear_tied");
    CHECK(tied.head_dim == 32);  // != n_embd / n_head
    CHECK(tied.rope.scaling == arch::RopeScaling::Linear);
    CHECK(tied.rope.factor == 2.0f);
    CHECK(tied.query_scale == Approx(1.0 / std::sqrt(32.0)));

    arch::HParams mistral = load("mistral_swa");
    CHECK(mistral.sliding_window == 8);
    CHECK(mistral.layer_sliding == std::vector<uint8_t>{1, 1});

    arch::HParams gemma2 = load("gemma2_softcap");
    CHECK(gemma2.arch == arch::Arch::Gemma2);
    CHECK(gemma2.attn_softcap == 5.0f);
    CHECK(gemma2.final_softcap == 3.0f);
    CHECK(gemma2.query_scale == Approx(1.0 / std::sqrt(24.0)));  // query_pre_attn_scalar, not head_dim
    CHECK(gemma2.norm_offset == 1.0f);
    CHECK(gemma2.embd_scale == Approx(8.0));
    CHECK(gemma2.activation == arch::Activation::GeluTanh);
    CHECK(gemma2.layer_sliding == std::vector<uint8_t>{1, 0, 1});

    arch::HParams gemma3 = load("gemma3_text");
    CHECK(gemma3.arch == arch::Arch::Gemma3);
    CHECK(gemma3.layer_sliding == std::vector<uint8_t>{1, 1, 0, 1});
    CHECK(gemma3.rope.base == 1000000.0f);
    CHECK(gemma3.rope.scaling == arch::RopeScaling::Linear);
    CHECK(gemma3.rope.factor == 8.0f);
    CHECK(gemma3.rope_local.base == 10000.0f);
    CHECK(gemma3.rope_local.scaling == arch::RopeScaling::None);
    CHECK(&gemma3.rope_for(0) == &gemma3.rope_local);
    CHECK(&gemma3.rope_for(2) == &gemma3.rope);
}

TEST_CASE("hf_config: pre-transformers-5 spellings (rope_theta, rope_scaling, rope_local_base_freq)", "[convert]") {
    nlohmann::json c = {{"model_type", "gemma3_text"}, {"vocab_size", 100}, {"hidden_size", 64},
                        {"num_hidden_layers", 6}, {"num_attention_heads", 4}, {"num_key_value_heads", 1},
                        {"head_dim", 32}, {"intermediate_size", 128}, {"sliding_window", 16},
                        {"sliding_window_pattern", 6}, {"rope_theta", 1000000.0}, {"rope_local_base_freq", 10000.0},
                        {"rope_scaling", {{"rope_type", "linear"}, {"factor", 8.0}}}, {"query_pre_attn_scalar", 32}};
    auto hp = convert::hparams_from_hf_config(c, "config.json");
    REQUIRE(hp.ok());
    CHECK(hp->layer_sliding == std::vector<uint8_t>{1, 1, 1, 1, 1, 0});
    CHECK(hp->rope.factor == 8.0f);
    CHECK(hp->rope_local.scaling == arch::RopeScaling::None);
    CHECK(hp->rope_local.base == 10000.0f);
}

TEST_CASE("hf_config: bad configs are clear errors", "[convert]") {
    auto unknown = convert::hparams_from_hf_config({{"model_type", "gpt_neox"}}, "x/config.json");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.status().message().find("gpt_neox") != std::string::npos);
    CHECK(unknown.status().message().find("gemma2") != std::string::npos);  // lists the supported ones

    nlohmann::json c = {{"model_type", "llama"}, {"vocab_size", 100}, {"hidden_size", 64},
                        {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 3},
                        {"intermediate_size", 128}};
    auto gqa = convert::hparams_from_hf_config(c, "x/config.json");
    REQUIRE_FALSE(gqa.ok());
    CHECK(gqa.status().message().find("not a multiple") != std::string::npos);

    c["num_key_value_heads"] = 2;
    c["hidden_size"] = "64";
    auto typed = convert::hparams_from_hf_config(c, "x/config.json");
    REQUIRE_FALSE(typed.ok());
    CHECK(typed.status().message().find("hidden_size") != std::string::npos);

    c["hidden_size"] = 64;
    c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
    auto yarn = convert::hparams_from_hf_config(c, "x/config.json");
    REQUIRE_FALSE(yarn.ok());
    CHECK(yarn.status().message().find("yarn") != std::string::npos);

    auto missing = convert::read_hf_config("/nonexistent/dir");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().message().find("config.json") != std::string::npos);
}
