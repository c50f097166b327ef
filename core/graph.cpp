// core/graph.cpp — GraphBuilder: one checked constructor per op (shapes and types are validated
// here, once, so kernels only assert), the view helpers, and the unfused attention reference.
#include "core/graph.h"

#include <algorithm>
#include <cmath>

namespace quanta::core {

namespace {

std::string_view op_names[] = {
#define OP(name, str, n_src, n_opt, params) str,
#include "core/ops.def"
#undef OP
};

const int op_arities[] = {
#define OP(name, str, n_src, n_opt, params) n_src,
#include "core/ops.def"
#undef OP
};

const int op_min_arities[] = {
#define OP(name, str, n_src, n_opt, params) n_src - n_opt,
#include "core/ops.def"
#undef OP
};

std::string sh(const Tensor & t) { return t.shape_str(); }

bool is_1d(const Tensor & t) { return t.ne[1] == 1 && t.ne[2] == 1 && t.ne[3] == 1; }

}  // namespace

std::string_view op_name(Op op) { return op_names[size_t(op)]; }
int op_arity(Op op) { return op_arities[size_t(op)]; }
int op_min_arity(Op op) { return op_min_arities[size_t(op)]; }

std::string Graph::node_label(int i) const {
    const Node & n = nodes[size_t(i)];
    std::string s = std::string(op_name(n.op)) + "#" + std::to_string(i);
    if (n.layer != kNoLayer) s += " (layer " + std::to_string(n.layer) + ")";
    return s;
}

int Graph::n_layers() const {
    int n = 0;
    for (const Node & node : nodes) n = std::max(n, node.layer + 1);
    return n;
}

// ---- plumbing -------------------------------------------------------------------------------

Tensor GraphBuilder::fail(std::string message) {
    if (status_.ok()) status_ = Status::error(std::move(message));
    return invalid();
}

Tensor GraphBuilder::invalid() {
    Tensor t;
    t.g = this;
    return t;
}

bool GraphBuilder::usable(std::initializer_list<Tensor> ts) {
    if (!status_.ok()) return false;
    for (const Tensor & t : ts) {
        if (!t.valid() || t.g != this || size_t(t.storage) >= graph_.storages.size()) {
            fail("core: graph: a tensor from another builder or an invalid tensor was used");
            return false;
        }
    }
    return true;
}

Tensor GraphBuilder::external(const std::string & name, Type type, const Dims & ne) {
    if (!status_.ok()) return invalid();
    Status s = check_shape(type, ne, "graph: input '" + name + "'");
    if (!s.ok()) return fail(s.message());
    Storage st;
    st.kind = StorageKind::External;
    st.name = name;
    st.layout = packed_layout(type, ne);
    st.layout.storage = int32_t(graph_.storages.size());
    st.layout.g = this;
    st.bytes = st.layout.extent_bytes();
    graph_.storages.push_back(st);
    return st.layout;
}

Tensor GraphBuilder::input(const std::string & name, Type type, const Dims & ne) { return external(name, type, ne); }
Tensor GraphBuilder::weight(const std::string & name, Type type, const Dims & ne) { return external(name, type, ne); }

Tensor GraphBuilder::add_node(Op op, Type dst_type, const Dims & dst_ne, std::initializer_list<Tensor> src,
                              OpParams params) {
    QUANTA_CHECK(int(src.size()) >= op_min_arity(op) && int(src.size()) <= op_arity(op));
    Status s = check_shape(dst_type, dst_ne, std::string("graph: ") + std::string(op_name(op)) + " result");
    if (!s.ok()) return fail(s.message());
    Node node;
    node.op = op;
    node.n_src = int(src.size());
    std::copy(src.begin(), src.end(), node.src.begin());
    node.param_values = params;
    node.layer = layer_;
    const int index = int(graph_.nodes.size());

    Storage st;
    st.kind = StorageKind::Intermediate;
    st.name = std::string(op_name(op)) + "#" + std::to_string(index);
    st.layout = packed_layout(dst_type, dst_ne);
    st.layout.storage = int32_t(graph_.storages.size());
    st.layout.g = this;
    st.bytes = st.layout.extent_bytes();
    st.producer = index;
    graph_.storages.push_back(st);

    node.dst = st.layout;
    graph_.nodes.push_back(node);
    return st.layout;
}

Tensor GraphBuilder::view_result(Result<Tensor> r) {
    if (!r.ok()) return fail(r.status().message());
    return r.value();
}

// ---- views -----------------------------------------------------------------------------------

Tensor GraphBuilder::reshape(Tensor t, const Dims & ne) {
    if (!usable({t})) return invalid();
    return view_result(view_reshape(t, ne));
}

Tensor GraphBuilder::permute(Tensor t, int a0, int a1, int a2, int a3) {
    if (!usable({t})) return invalid();
    return view_result(view_permute(t, {a0, a1, a2, a3}));
}

Tensor GraphBuilder::transpose(Tensor t) {
    if (!usable({t})) return invalid();
    return view_result(view_transpose(t));
}

Tensor GraphBuilder::slice(Tensor t, int dim, int64_t begin, int64_t end) {
    if (!usable({t})) return invalid();
    return view_result(view_slice(t, dim, begin, end));
}

Tensor GraphBuilder::view(Tensor t, const Dims & ne, const Dims & nb, int64_t extra_offset) {
    if (!usable({t})) return invalid();
    return view_result(view_strided(t, ne, nb, extra_offset, graph_.storages[size_t(t.storage)].bytes));
}

// ---- ops ---------------------------------------------------------------------------------------

Tensor GraphBuilder::get_rows(Tensor table, Tensor ids) {
    if (!usable({table, ids})) return invalid();
    if (table.type == kI32 || !table.rows_contiguous() || table.ne[2] != 1 || table.ne[3] != 1) {
        return fail("core: get_rows: table " + sh(table) + " must be a 2-D tensor of a number type with packed rows");
    }
    if (ids.type != kI32 || !is_1d(ids) || !ids.is_contiguous()) {
        return fail("core: get_rows: ids " + sh(ids) + " must be a packed 1-D I32 tensor");
    }
    return add_node(Op::GetRows, Type::F32, {table.ne[0], ids.ne[0]}, {table, ids}, NoParams{});
}

Tensor GraphBuilder::mul_mat(Tensor w, Tensor x, MulMatParams p) {
    if (!usable({w, x})) return invalid();
    if (p.act_bits != 8 && p.act_bits != 16) {
        return fail("core: mul_mat: activation bits " + std::to_string(p.act_bits) + " must be 8 or 16");
    }
    if (w.type == kI32 || !w.rows_contiguous()) {
        return fail("core: mul_mat: weights " + sh(w) + " must be a number type with packed rows");
    }
    if ((x.type != Type::F32 && x.type != Type::F16) || !x.rows_contiguous()) {
        return fail("core: mul_mat: activations " + sh(x) + " must be F32 or F16 with packed rows");
    }
    if (w.ne[0] != x.ne[0]) {
        return fail("core: mul_mat: inner dims differ: weights " + sh(w) + " vs activations " + sh(x));
    }
    const Type dot_with = quant::traits(w.type).dot_with;
    if (x.ne[0] % type_block_size(dot_with) != 0) {
        return fail("core: mul_mat: inner dim " + std::to_string(x.ne[0]) + " is not a multiple of the " +
                    std::string(type_name(dot_with)) + " block size its activations are quantized to");
    }
    if (x.ne[2] % w.ne[2] != 0 || x.ne[3] % w.ne[3] != 0) {
        return fail("core: mul_mat: batch dims of activations " + sh(x) + " are not multiples of the weights' " + sh(w));
    }
    return add_node(Op::MulMat, Type::F32, {w.ne[1], x.ne[1], x.ne[2], x.ne[3]}, {w, x}, p);
}

Tensor GraphBuilder::binary(Op op, Tensor a, Tensor b) {
    if (!usable({a, b})) return invalid();
    if (a.type != Type::F32 || b.type != Type::F32 || !a.rows_contiguous() || !b.rows_contiguous()) {
        return fail("core: " + std::string(op_name(op)) + ": operands " + sh(a) + " and " + sh(b) +
                    " must be F32 with packed rows");
    }
    for (int i = 0; i < kMaxDims; ++i) {
        if (a.ne[size_t(i)] % b.ne[size_t(i)] != 0) {
            return fail("core: " + std::string(op_name(op)) + ": " + sh(b) + " does not broadcast to " + sh(a));
        }
    }
    return add_node(op, Type::F32, Dims(a.ne), {a, b}, NoParams{});
}

Tensor GraphBuilder::add(Tensor a, Tensor b) { return binary(Op::Add, a, b); }
Tensor GraphBuilder::mul(Tensor a, Tensor b) { return binary(Op::Mul, a, b); }

Tensor GraphBuilder::unary_f32(Op op, Tensor x, OpParams params) {
    if (!usable({x})) return invalid();
    if (x.type != Type::F32 || !x.rows_contiguous()) {
        return fail("core: " + std::string(op_name(op)) + ": input " + sh(x) + " must be F32 with packed rows");
    }
    return add_node(op, Type::F32, Dims(x.ne), {x}, params);
}

Tensor GraphBuilder::scale(Tensor x, float s) { return unary_f32(Op::Scale, x, ScaleParams{s}); }
Tensor GraphBuilder::gelu(Tensor x, bool erf) { return unary_f32(Op::Gelu, x, GeluParams{erf}); }
Tensor GraphBuilder::silu(Tensor x) { return unary_f32(Op::Silu, x, NoParams{}); }

Tensor GraphBuilder::soft_cap(Tensor x, float cap) {
    if (!(cap > 0.0f) || !std::isfinite(cap)) return fail("core: soft_cap: cap " + std::to_string(cap) + " must be > 0");
    return unary_f32(Op::SoftCap, x, SoftCapParams{cap});
}

Tensor GraphBuilder::rms_norm(Tensor x, Tensor w, float eps) {
    if (!usable({x, w})) return invalid();
    if (x.type != Type::F32 || !x.rows_contiguous()) return fail("core: rms_norm: input " + sh(x) + " must be F32 with packed rows");
    if (w.type != Type::F32 || !is_1d(w) || !w.is_contiguous() || w.ne[0] != x.ne[0]) {
        return fail("core: rms_norm: weight " + sh(w) + " must be packed F32 [" + std::to_string(x.ne[0]) + "]");
    }
    if (!(eps >= 0.0f)) return fail("core: rms_norm: eps must be >= 0");
    return add_node(Op::RmsNorm, Type::F32, Dims(x.ne), {x, w}, RmsNormParams{eps});
}

Tensor GraphBuilder::rope(Tensor x, Tensor pos, const RopeParams & p_in) {
    if (!usable({x, pos})) return invalid();
    RopeParams p = p_in;
    if (p.n_rot == 0) p.n_rot = int32_t(x.ne[0]);
    if (x.type != Type::F32 || !x.rows_contiguous() || x.ne[3] != 1) {
        return fail("core: rope: input " + sh(x) + " must be F32 [head_dim, n_head, n_tokens] with packed rows");
    }
    if (pos.type != kI32 || !is_1d(pos) || !pos.is_contiguous() || pos.ne[0] != x.ne[2]) {
        return fail("core: rope: positions " + sh(pos) + " must be packed I32 [" + std::to_string(x.ne[2]) + "]");
    }
    if (p.n_rot < 2 || p.n_rot % 2 != 0 || p.n_rot > x.ne[0]) {
        return fail("core: rope: n_rot " + std::to_string(p.n_rot) + " must be even and in [2, " + std::to_string(x.ne[0]) + "]");
    }
    if (!(p.base > 0.0f) || !(p.factor > 0.0f) ||
        (p.scaling == RopeScaling::Llama3 && (!(p.high_freq_factor > p.low_freq_factor) || p.original_context <= 0))) {
        return fail("core: rope: invalid frequency parameters (base " + std::to_string(p.base) + ", factor " +
                    std::to_string(p.factor) + ")");
    }
    return add_node(Op::Rope, Type::F32, Dims(x.ne), {x, pos}, p);
}

static bool kv_type_ok(Type t) { return t == Type::F32 || t == Type::F16 || t == Type::Q8_0; }

// kpos, when given: packed I32 [n_kv], the position held by each cache slot (-1: empty).
static bool kpos_ok(const Tensor & kpos, int64_t n_kv) {
    return kpos.type == kI32 && is_1d(kpos) && kpos.is_contiguous() && kpos.ne[0] == n_kv;
}

Tensor GraphBuilder::attention(Tensor q, Tensor k, Tensor v, Tensor pos, const AttentionParams & p, Tensor kpos) {
    if (!usable({q, k, v, pos})) return invalid();
    if (kpos.g != nullptr && !usable({kpos})) return invalid();
    if (q.type != Type::F32 || !q.rows_contiguous() || q.ne[3] != 1) {
        return fail("core: attention: q " + sh(q) + " must be F32 [head_dim, n_head, n_q] with packed rows");
    }
    if (!kv_type_ok(k.type) || k.type != v.type || !k.rows_contiguous() || !v.rows_contiguous() || k.ne[3] != 1 ||
        v.ne[3] != 1) {
        return fail("core: attention: k " + sh(k) + " and v " + sh(v) + " must share a type of F32/F16/Q8_0, with packed rows");
    }
    if (k.ne[0] != q.ne[0] || k.ne[1] != v.ne[1] || k.ne[2] != v.ne[2] || q.ne[1] % k.ne[1] != 0) {
        return fail("core: attention: shapes q " + sh(q) + ", k " + sh(k) + ", v " + sh(v) + " do not match");
    }
    if (pos.type != kI32 || !is_1d(pos) || !pos.is_contiguous() || pos.ne[0] != q.ne[2]) {
        return fail("core: attention: positions " + sh(pos) + " must be packed I32 [" + std::to_string(q.ne[2]) + "]");
    }
    if (kpos.valid() && !kpos_ok(kpos, k.ne[2])) {
        return fail("core: attention: key positions " + sh(kpos) + " must be packed I32 [" + std::to_string(k.ne[2]) +
                    "] (one per cache slot)");
    }
    if (!std::isfinite(p.scale) || !(p.softcap >= 0.0f) || p.window < 0) {
        return fail("core: attention: invalid scale, soft-cap or window");
    }
    const Dims dst{v.ne[0], q.ne[1], q.ne[2]};
    if (kpos.valid()) return add_node(Op::Attention, Type::F32, dst, {q, k, v, pos, kpos}, p);
    return add_node(Op::Attention, Type::F32, dst, {q, k, v, pos}, p);
}

Tensor GraphBuilder::soft_max(Tensor x, Tensor pos, const SoftMaxParams & p, Tensor kpos) {
    if (!usable({x, pos})) return invalid();
    if (kpos.g != nullptr && !usable({kpos})) return invalid();
    if (x.type != Type::F32 || !x.rows_contiguous() || x.ne[3] != 1) {
        return fail("core: soft_max: input " + sh(x) + " must be F32 [n_kv, n_q, n_head] with packed rows");
    }
    if (pos.type != kI32 || !is_1d(pos) || !pos.is_contiguous() || pos.ne[0] != x.ne[1]) {
        return fail("core: soft_max: positions " + sh(pos) + " must be packed I32 [" + std::to_string(x.ne[1]) + "]");
    }
    if (kpos.valid() && !kpos_ok(kpos, x.ne[0])) {
        return fail("core: soft_max: key positions " + sh(kpos) + " must be packed I32 [" + std::to_string(x.ne[0]) + "]");
    }
    if (p.window < 0) return fail("core: soft_max: window must be >= 0");
    if (kpos.valid()) return add_node(Op::SoftMax, Type::F32, Dims(x.ne), {x, pos, kpos}, p);
    return add_node(Op::SoftMax, Type::F32, Dims(x.ne), {x, pos}, p);
}

Tensor GraphBuilder::attention_reference(Tensor q, Tensor k, Tensor v, Tensor pos, const AttentionParams & p,
                                         Tensor kpos) {
    if (!usable({q, k, v, pos})) return invalid();
    // [hd, n_head, n_q] -> [hd, n_q, n_head]; [hd, n_head_kv, n_kv] -> [hd, n_kv, n_head_kv]
    Tensor qp = permute(q, 0, 2, 1, 3);
    Tensor kp = permute(k, 0, 2, 1, 3);
    Tensor scores = mul_mat(kp, qp);  // [n_kv, n_q, n_head]; head h reads kv head h / (n_head / n_head_kv)
    scores = scale(scores, p.scale);
    if (p.softcap > 0.0f) scores = soft_cap(scores, p.softcap);
    Tensor probs = soft_max(scores, pos, SoftMaxParams{p.window, p.causal}, kpos);
    // v [hd_v, n_head_kv, n_kv] -> packed F32 [n_kv, hd_v, n_head_kv]
    // A block-quantized V is decoded first: dim 0 of a quantized tensor cannot be permuted.
    if (type_block_size(v.type) > 1) v = copy(v, Type::F32);
    Tensor vt = copy(permute(v, 1, 2, 0, 3), Type::F32);
    Tensor out = mul_mat(vt, probs);  // [hd_v, n_q, n_head]
    return copy(permute(out, 0, 2, 1, 3), Type::F32);  // [hd_v, n_head, n_q]
}

Tensor GraphBuilder::glu(Tensor gate, Tensor up, Activation act) {
    if (!usable({gate, up})) return invalid();
    if (gate.type != Type::F32 || up.type != Type::F32 || !gate.rows_contiguous() || !up.rows_contiguous() ||
        gate.ne != up.ne) {
        return fail("core: glu: gate " + sh(gate) + " and up " + sh(up) + " must be F32 of one shape with packed rows");
    }
    return add_node(Op::Glu, Type::F32, Dims(gate.ne), {gate, up}, GluParams{act});
}

Tensor GraphBuilder::copy(Tensor x, Type type) {
    if (!usable({x})) return invalid();
    if (type != Type::F32 && type != Type::F16 && type != Type::BF16 && type != Type::Q8_0) {
        return fail("core: copy: target type " + std::string(type_name(type)) + " is not one of F32, F16, BF16, Q8_0");
    }
    if (x.type == kI32 || (!type_is_float(x.type) && !x.rows_contiguous())) {
        return fail("core: copy: source " + sh(x) + " must be a number type; quantized sources need packed rows");
    }
    return add_node(Op::Copy, type, Dims(x.ne), {x}, NoParams{});
}

Tensor GraphBuilder::set_rows(Tensor dst, Tensor rows, Tensor ids) {
    if (!usable({dst, rows, ids})) return invalid();
    if ((dst.type != Type::F32 && dst.type != Type::F16 && dst.type != Type::Q8_0) || !dst.rows_contiguous() ||
        dst.ne[2] != 1 || dst.ne[3] != 1) {
        return fail("core: set_rows: destination " + sh(dst) + " must be a 2-D F32/F16/Q8_0 view with packed rows");
    }
    if (rows.type != Type::F32 || !rows.rows_contiguous() || rows.ne[0] != dst.ne[0] || rows.ne[2] != 1 || rows.ne[3] != 1) {
        return fail("core: set_rows: rows " + sh(rows) + " must be 2-D F32 with " + std::to_string(dst.ne[0]) + " columns");
    }
    if (ids.type != kI32 || !is_1d(ids) || !ids.is_contiguous() || ids.ne[0] != rows.ne[1]) {
        return fail("core: set_rows: ids " + sh(ids) + " must be packed I32 [" + std::to_string(rows.ne[1]) + "]");
    }
    Node node;
    node.op = Op::SetRows;
    node.dst = dst;
    node.src[0] = rows;
    node.src[1] = ids;
    node.n_src = 2;
    node.layer = layer_;
    graph_.nodes.push_back(node);
    return dst;
}

Tensor GraphBuilder::argmax(Tensor x) {
    if (!usable({x})) return invalid();
    if (x.type != Type::F32 || !x.rows_contiguous()) return fail("core: argmax: input " + sh(x) + " must be F32 with packed rows");
    return add_node(Op::Argmax, kI32, {x.ne[1], x.ne[2], x.ne[3]}, {x}, NoParams{});
}

void GraphBuilder::mark_output(Tensor t) {
    if (!usable({t})) return;
    graph_.storages[size_t(t.storage)].output = true;
    graph_.outputs.push_back(t);
}

Result<Graph> GraphBuilder::build() {
    Status s = status_;
    Graph g = std::move(graph_);
    graph_ = Graph{};
    status_ = ok_status();
    layer_ = kNoLayer;
    if (!s.ok()) return s;
    if (g.nodes.empty()) return Status::error("core: graph: no nodes were built");
    return g;
}

static GraphBuilder & builder_of(const Tensor & a, const Tensor & b) {
    GraphBuilder * g = a.g ? a.g : b.g;
    QUANTA_CHECK(g != nullptr);  // both default-constructed: a programming error
    return *g;
}

Tensor operator+(Tensor a, Tensor b) {
    return builder_of(a, b).add(a, b);
}

Tensor operator*(Tensor a, Tensor b) {
    return builder_of(a, b).mul(a, b);
}

Tensor operator*(Tensor a, float s) {
    return builder_of(a, a).scale(a, s);
}

}  // namespace quanta::core
