// tests/core/test_graph.cpp — GraphBuilder rejects bad shapes and types with a Status naming the op
// and the shapes; views are metadata only and compute the right strides.
#include <catch2/catch.hpp>

#include "core/graph.h"

using namespace quanta;
using namespace quanta::core;

namespace {

std::string build_error(GraphBuilder & g) {
    Result<Graph> r = g.build();
    return r.ok() ? std::string() : r.status().message();
}

bool contains(const std::string & s, const std::string & part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("builder: mul_mat checks inner dims / batch broadcast and types", "[core][graph]") {
    {
        GraphBuilder g;
        Tensor w = g.weight("w", Type::Q8_0, {64, 10});
        Tensor x = g.input("x", Type::F32, {32, 3});
        g.mul_mat(w, x);
        const std::string e = build_error(g);
        CHECK(contains(e, "mul_mat"));
        CHECK(contains(e, "[64, 10, 1, 1] Q8_0"));
    }
    {
        GraphBuilder g;
        g.mul_mat(g.weight("w", Type::F32, {16, 4, 3}), g.input("x", Type::F32, {16, 2, 4}));
        CHECK(contains(build_error(g), "batch dims"));
    }
    {
        GraphBuilder g;
        g.mul_mat(g.weight("w", Type::F32, {16, 4}), g.input("x", kI32, {16, 2}));
        CHECK(contains(build_error(g), "F32 or F16"));
    }
    {
        GraphBuilder g;
        Tensor y = g.mul_mat(g.weight("w", Type::Q4_K, {256, 5, 2}), g.input("x", Type::F32, {256, 3, 4}));
        CHECK(y.ne == std::array<int64_t, 4>{5, 3, 4, 1});
        CHECK(y.type == Type::F32);
        g.mark_output(y);
        Result<Graph> r = g.build();
        REQUIRE(r.ok());
        CHECK(r.value().nodes.size() == 1);
    }
}

TEST_CASE("builder: shapes of inputs are validated (block size / extents)", "[core][graph]") {
    GraphBuilder g;
    g.weight("w", Type::Q4_0, {33, 2});
    CHECK(contains(build_error(g), "multiple of the Q4_0 block size 32"));
    GraphBuilder g2;
    g2.input("x", Type::F32, {0, 2});
    CHECK(contains(build_error(g2), "out of range"));
    GraphBuilder g3;
    g3.input("x", Type(200), {4});
    CHECK(contains(build_error(g3), "unknown tensor type"));
}

TEST_CASE("builder: errors are sticky and later ops return invalid tensors", "[core][graph]") {
    GraphBuilder g;
    Tensor a = g.input("a", Type::F32, {8, 2});
    Tensor b = g.input("b", Type::F32, {3, 2});
    Tensor bad = a + b;  // 8 % 3 != 0
    CHECK_FALSE(bad.valid());
    Tensor later = g.silu(bad) + a;  // must not crash
    CHECK_FALSE(later.valid());
    CHECK_FALSE(g.status().ok());
    CHECK(contains(build_error(g), "does not broadcast"));
    // The builder is reusable after build().
    Tensor c = g.input("c", Type::F32, {4});
    g.mark_output(g.scale(c, 2.0f));
    CHECK(g.build().ok());
}

TEST_CASE("builder: rope / attention / set_rows / get_rows / rms_norm checks", "[core][graph]") {
    GraphBuilder g;
    Tensor x = g.input("x", Type::F32, {64, 4, 3});
    g.rope(x, g.input("pos", kI32, {2}), RopeParams{});
    CHECK(contains(build_error(g), "rope: positions"));

    RopeParams odd;
    odd.n_rot = 7;
    g.rope(g.input("x", Type::F32, {64, 4, 3}), g.input("pos", kI32, {3}), odd);
    CHECK(contains(build_error(g), "n_rot 7"));

    Tensor q = g.input("q", Type::F32, {64, 6, 2});
    Tensor k = g.input("k", Type::F16, {64, 4, 10});
    g.attention(q, k, k, g.input("pos", kI32, {2}), AttentionParams{});  // 6 heads over 4 kv heads
    CHECK(contains(build_error(g), "attention: shapes"));

    Tensor k2 = g.input("k", Type::Q4_0, {64, 2, 10});
    g.attention(g.input("q", Type::F32, {64, 6, 2}), k2, k2, g.input("pos", kI32, {2}), AttentionParams{});
    CHECK(contains(build_error(g), "F32/F16/Q8_0"));

    Tensor cache = g.input("cache", Type::F16, {64, 16});
    g.set_rows(cache, g.input("rows", Type::F32, {32, 2}), g.input("ids", kI32, {2}));
    CHECK(contains(build_error(g), "set_rows: rows"));

    g.get_rows(g.weight("emb", Type::Q4_K, {256, 10}), g.input("ids", Type::F32, {3}));
    CHECK(contains(build_error(g), "get_rows: ids"));

    g.rms_norm(g.input("x", Type::F32, {64, 3}), g.weight("w", Type::F32, {32}), 1e-6f);
    CHECK(contains(build_error(g), "rms_norm: weight"));

    g.copy(g.input("x", Type::F32, {64, 3}), Type::Q4_K);
    CHECK(contains(build_error(g), "copy: target type Q4_K"));
}

TEST_CASE("views: permute / transpose / slice / reshape are metadata only", "[core][graph]") {
    GraphBuilder g;
    Tensor x = g.input("x", Type::F32, {4, 3, 2});
    Tensor t = g.transpose(x);
    CHECK(t.ne == std::array<int64_t, 4>{3, 4, 2, 1});
    CHECK(t.nb == std::array<int64_t, 4>{16, 4, 48, 96});
    CHECK(t.storage == x.storage);
    CHECK_FALSE(t.is_contiguous());
    Tensor p = g.permute(x, 0, 2, 1, 3);
    CHECK(p.ne == std::array<int64_t, 4>{4, 2, 3, 1});
    CHECK(p.nb == std::array<int64_t, 4>{4, 48, 16, 96});
    Tensor s = g.slice(x, 1, 1, 3);
    CHECK(s.offset == 16);
    CHECK(s.ne[1] == 2);
    Tensor r = g.reshape(x, {12, 2});
    CHECK(r.is_contiguous());
    g.reshape(t, {24});
    CHECK(contains(build_error(g), "non-contiguous"));

    GraphBuilder q;
    Tensor w = q.weight("w", Type::Q8_0, {64, 4});
    Tensor ws = q.slice(w, 0, 32, 64);
    CHECK(ws.offset == 34);
    q.slice(w, 0, 16, 64);
    CHECK(contains(build_error(q), "not aligned to the block size 32"));
    q.transpose(q.weight("w", Type::Q8_0, {64, 4}));
    CHECK(contains(build_error(q), "cannot move"));
    Tensor v = q.weight("w", Type::F32, {8, 8});
    q.view(v, {8, 4}, {4, 64, 256, 256}, 64);
    CHECK(contains(build_error(q), "overruns its storage"));
}

TEST_CASE("graph: layer tags and outputs", "[core][graph]") {
    GraphBuilder g;
    Tensor x = g.input("x", Type::F32, {8});
    g.set_layer(0);
    Tensor a = g.silu(x);
    g.set_layer(1);
    Tensor b = g.scale(a, 2.0f);
    g.set_layer(kNoLayer);
    Tensor c = b * a;
    g.mark_output(c);
    Result<Graph> r = g.build();
    REQUIRE(r.ok());
    const Graph & graph = r.value();
    REQUIRE(graph.nodes.size() == 3);
    CHECK(graph.nodes[0].layer == 0);
    CHECK(graph.nodes[1].layer == 1);
    CHECK(graph.nodes[2].layer == kNoLayer);
    CHECK(graph.n_layers() == 2);
    CHECK(graph.nodes[1].params<ScaleParams>().s == 2.0f);
    CHECK(graph.storages[size_t(c.storage)].output);
    CHECK(graph.node_label(1) == "scale#1 (layer 1)");
}
