// tests/convert/test_type_policy.cpp — type policies: CLASS=TYPE overrides, the QT mixes, and the
// fallbacks of QT3 / QT2 for rows their 512-weight blocks do not divide.
#include <catch2/catch.hpp>

#include "convert/type_policy.h"

using namespace quanta;
using namespace quanta::convert;

namespace {

arch::TensorSpec spec(const std::string & name, int64_t ncols, int64_t nrows, int64_t layer) {
    arch::TensorSpec s;
    s.name = name;
    s.ne = {ncols, nrows};
    s.layer = layer;
    return s;
}

}  // namespace

TEST_CASE("tensor_class strips the block prefix and the .weight suffix", "[convert][policy]") {
    CHECK(tensor_class("blk.12.ffn_down.weight") == "ffn_down");
    CHECK(tensor_class("blk.0.attn_output.weight") == "attn_output");
    CHECK(tensor_class("output.weight") == "output");
    CHECK(tensor_class("token_embd.weight") == "token_embd");
}

TEST_CASE("CLASS=TYPE overrides pick the type of one tensor class", "[convert][policy]") {
    auto p = parse_type_policy("f32,ffn_down=qt3,attn_output=q4_k");
    REQUIRE(p.ok());
    CHECK(choose_type(*p, spec("blk.3.ffn_down.weight", 2048, 640, 3), 18) == Type::QT3);
    CHECK(choose_type(*p, spec("blk.3.attn_output.weight", 1024, 640, 3), 18) == Type::Q4_K);
    CHECK(choose_type(*p, spec("blk.3.attn_q.weight", 640, 1024, 3), 18) == Type::F32);
    // "output" is the head only, not attn_output.
    auto h = parse_type_policy("q4_0,output=q8_0");
    REQUIRE(h.ok());
    CHECK(choose_type(*h, spec("output.weight", 4096, 1000, -1), 8) == Type::Q8_0);
    CHECK(choose_type(*h, spec("blk.1.attn_output.weight", 4096, 4096, 1), 8) == Type::Q4_0);
    // 1-D tensors stay F32 whatever the override says.
    auto n = parse_type_policy("f16,ffn_down=q4_0");
    REQUIRE(n.ok());
    arch::TensorSpec norm;
    norm.name = "blk.0.ffn_down.weight";
    norm.ne = {2048};
    CHECK(choose_type(*n, norm, 8) == Type::F32);
}

TEST_CASE("bad overrides are rejected with the choices", "[convert][policy]") {
    auto a = parse_type_policy("q4_k,ffn_dwn=q6_k");
    REQUIRE(!a.ok());
    CHECK(a.status().message().find("ffn_down") != std::string::npos);
    auto b = parse_type_policy("q4_k,ffn_down=q9_k");
    REQUIRE(!b.ok());
    CHECK(b.status().message().find("q9_k") != std::string::npos);
    CHECK(!parse_type_policy("q4_k,ffn_down").ok());
    CHECK(!parse_type_policy("keep,ffn_down=q4_k").ok());
    CHECK(!parse_type_policy("q4_k,ffn_down=q8_kh").ok());  // activation-only
}

TEST_CASE("QT3 and QT2 fall back through Q3_K / Q2_K for short rows", "[convert][policy]") {
    CHECK(fit_row(Type::QT3, 4608) == Type::QT3);
    CHECK(fit_row(Type::QT3, 768) == Type::Q3_K);   // 3 x 256
    CHECK(fit_row(Type::QT3, 640) == Type::IQ4_NL);
    CHECK(fit_row(Type::QT2, 768) == Type::Q2_K);
    CHECK(fit_row(Type::QT2, 1024) == Type::QT2);
}

TEST_CASE("QT mixes: attn_v in every layer and ffn_down in the more-bits layers get more bits", "[convert][policy]") {
    auto p = parse_type_policy("qt3_m");
    REQUIRE(p.ok());
    const int64_t n_layer = 46;
    const Type more = choose_type(*p, spec("blk.20.attn_v.weight", 4608, 2048, 20), n_layer);
    CHECK(more != Type::QT3);
    CHECK(quant::traits(more).bits_per_weight() > quant::traits(Type::QT3).bits_per_weight());
    CHECK(choose_type(*p, spec("blk.0.ffn_down.weight", 36864, 4608, 0), n_layer) == more);
    CHECK(choose_type(*p, spec("blk.20.ffn_down.weight", 36864, 4608, 20), n_layer) == Type::QT3);  // (20-5)%3 != 2
    CHECK(choose_type(*p, spec("blk.20.ffn_up.weight", 4608, 36864, 20), n_layer) == Type::QT3);
    auto q = parse_type_policy("qt2_m");
    REQUIRE(q.ok());
    CHECK(choose_type(*q, spec("blk.20.ffn_gate.weight", 4608, 36864, 20), n_layer) == Type::QT2);
    CHECK(choose_type(*q, spec("blk.20.attn_v.weight", 4608, 2048, 20), n_layer) != Type::QT2);
    // Overrides still win over the mix.
    auto o = parse_type_policy("qt2_m,attn_v=q8_0");
    REQUIRE(o.ok());
    CHECK(choose_type(*o, spec("blk.20.attn_v.weight", 4608, 2048, 20), n_layer) == Type::Q8_0);
}
