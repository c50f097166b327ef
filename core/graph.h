// core/graph.h — Graph (storages + nodes in execution order) and GraphBuilder, which checks every
// shape and type where the node is made.
//
// Model code builds a graph once per shape:
//
//     GraphBuilder g;
//     Tensor x   = g.input("tokens", kI32, {n_tokens});
//     Tensor emb = g.weight("token_embd", Type::Q4_K, {n_embd, n_vocab});
//     g.set_layer(il);                                  // tags nodes for the layer split
//     Tensor h = x + g.mul_mat(w_o, attn);              // operators use the tensor's builder
//     g.mark_output(logits);
//     Result<Graph> graph = g.build();                  // the first shape error, if any
//
// Errors are sticky: after the first bad shape every later call returns an invalid Tensor and
// build() returns the first message, so builders need no check after each line.
// Thread safety: a builder is used by one thread; a built Graph is immutable and shareable.
#pragma once

#include <string>
#include <vector>

#include "core/ops.h"
#include "core/tensor.h"

namespace quanta::core {

inline constexpr int kNoLayer = -1;  // nodes outside the repeated blocks (embedding, output head)

enum class StorageKind : uint8_t {
    External,      // bound by the caller to a backend buffer: weights, inputs, KV cache
    Intermediate,  // produced by one node; placed by the memory planner
};

struct Storage {
    StorageKind kind = StorageKind::Intermediate;
    std::string name;   // externals: as given; intermediates: "<op>#<node>"
    Tensor layout;      // the packed tensor covering the whole storage
    int64_t bytes = 0;
    int producer = -1;  // node index for intermediates
    bool output = false;  // kept alive to the end of the graph and readable after a run
};

struct Node {
    Op op = Op::Add;
    Tensor dst;                          // for SetRows: the view written into (an existing storage)
    std::array<Tensor, kMaxSrc> src{};
    int n_src = 0;
    OpParams param_values;
    int layer = kNoLayer;

    template <typename P>
    const P & params() const {
        const P * p = std::get_if<P>(&param_values);
        QUANTA_CHECK(p != nullptr);
        return *p;
    }
    // True when dst is a new storage made by this node (false for in-place writes: SetRows).
    bool defines_dst() const { return op != Op::SetRows; }
};

struct Graph {
    std::vector<Storage> storages;
    std::vector<Node> nodes;  // in execution order; every source is defined before use
    std::vector<Tensor> outputs;

    std::string node_label(int i) const;  // "mul_mat#12 (layer 3)"
    int n_layers() const;                 // 1 + the highest layer tag (0 without tags)
};

class GraphBuilder {
public:
    GraphBuilder() = default;
    GraphBuilder(const GraphBuilder &) = delete;
    GraphBuilder & operator=(const GraphBuilder &) = delete;

    // ---- leaves: external storages bound later by the executor --------------------------------
    Tensor input(const std::string & name, Type type, const Dims & ne);
    Tensor weight(const std::string & name, Type type, const Dims & ne);  // same, named for clarity

    // ---- views: no node, no copy -------------------------------------------------------------
    Tensor reshape(Tensor t, const Dims & ne);                   // t must be packed
    Tensor permute(Tensor t, int a0, int a1, int a2, int a3);   // source dim i goes to position ai
    Tensor transpose(Tensor t);                                  // swaps dims 0 and 1
    Tensor slice(Tensor t, int dim, int64_t begin, int64_t end);  // [begin, end) of one dim
    Tensor view(Tensor t, const Dims & ne, const Dims & nb, int64_t extra_offset);  // checked against the storage

    // ---- ops (see core/ops.def for the shapes) ------------------------------------------------
    Tensor get_rows(Tensor table, Tensor ids);
    Tensor mul_mat(Tensor w, Tensor x, MulMatParams p = {});  // p.act_bits 8 or 16 (see MulMatParams)
    Tensor add(Tensor a, Tensor b);
    Tensor mul(Tensor a, Tensor b);
    Tensor scale(Tensor x, float s);
    Tensor rms_norm(Tensor x, Tensor w, float eps);
    Tensor rope(Tensor x, Tensor pos, const RopeParams & p);
    // kpos (optional, I32 [n_kv]): the position held by each cache slot, -1 for an empty one; left
    // out, slot j holds position j. See AttentionParams for the visibility rule.
    Tensor attention(Tensor q, Tensor k, Tensor v, Tensor pos, const AttentionParams & p, Tensor kpos = {});
    // The unfused composition of attention (mul_mat, scale, soft_cap, soft_max, mul_mat): the
    // reference the fused op is tested against. Same shapes and result.
    Tensor attention_reference(Tensor q, Tensor k, Tensor v, Tensor pos, const AttentionParams & p, Tensor kpos = {});
    Tensor soft_max(Tensor x, Tensor pos, const SoftMaxParams & p, Tensor kpos = {});
    Tensor gelu(Tensor x, bool erf = false);
    Tensor silu(Tensor x);
    Tensor glu(Tensor gate, Tensor up, Activation act);
    Tensor soft_cap(Tensor x, float cap);
    Tensor copy(Tensor x, Type type);  // packed copy, converting to `type`
    Tensor set_rows(Tensor dst, Tensor rows, Tensor ids);  // writes into dst; returns dst (as a dependency)
    Tensor argmax(Tensor x);

    // ---- graph-level ------------------------------------------------------------------------
    void set_layer(int il) { layer_ = il; }  // tag for subsequent nodes (kNoLayer outside blocks)
    void mark_output(Tensor t);              // keep alive to the end; readable after a run
    const Status & status() const { return status_; }
    Result<Graph> build();                   // the graph, or the first error; the builder is reset

private:
    bool usable(std::initializer_list<Tensor> ts);
    Tensor fail(std::string message);
    Tensor invalid();  // an invalid tensor that still knows its builder
    Tensor external(const std::string & name, Type type, const Dims & ne);
    Tensor add_node(Op op, Type dst_type, const Dims & dst_ne, std::initializer_list<Tensor> src, OpParams params);
    Tensor binary(Op op, Tensor a, Tensor b);
    Tensor unary_f32(Op op, Tensor x, OpParams params);
    Tensor view_result(Result<Tensor> r);

    Graph graph_;
    Status status_;
    int layer_ = kNoLayer;
};

// Operators for model code (STYLE.md §6): they call the builder the tensor came from.
Tensor operator+(Tensor a, Tensor b);  // add
Tensor operator*(Tensor a, Tensor b);  // mul
Tensor operator*(Tensor a, float s);   // scale

}  // namespace quanta::core
