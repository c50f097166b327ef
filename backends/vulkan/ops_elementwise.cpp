// backends/vulkan/ops_elementwise.cpp — add, mul, scale, silu, gelu, glu, soft_cap (one shader,
// shaders/elementwise.comp, the op a specialization constant), soft_max (shaders/soft_max.comp) and
// argmax (shaders/argmax.comp). Tensors beyond one binding are split by rows (split_rows).
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

namespace {

using core::Op;

constexpr uint32_t kLocal = 256;     // elementwise: invocations per workgroup
constexpr uint32_t kRowLocal = 128;  // row reductions (power of two)

enum ElementOp : uint32_t { kAdd, kMul, kScale, kSilu, kGeluTanh, kGeluErf, kSoftCap, kGluSilu, kGluGeluTanh, kGluGeluErf };

struct ElementPush {
    uint32_t ne[4];
    uint32_t a_first, a_nb1, a_nb2, a_nb3;
    uint32_t b_first, b_ne0, b_ne1, b_ne2;
    uint32_t b_ne3, b_nb1, b_nb2, b_nb3;
    uint32_t d_first;
    float param;
};

uint32_t el(int64_t bytes) { return uint32_t(bytes / 4); }

Status record_elementwise(const BoundNode & node, Recorder & rec, uint32_t op, float param) {
    return split_rows(node, rec.max_range(), [&](const BoundNode & n) -> Status {
        const BoundTensor & a = n.src[0];
        const BoundTensor & b = n.node->n_src > 1 ? n.src[1] : n.src[0];
        auto va = rec.read(a);
        auto vb = rec.read(b);
        auto vd = rec.write(n.dst);
        for (const auto * v : {&va, &vb, &vd}) {
            if (!v->ok()) return Status::error(std::string(core::op_name(n.node->op)) + ": " + v->status().message());
        }
        ElementPush p{};
        for (int i = 0; i < 4; ++i) p.ne[i] = uint32_t(n.dst.ne[size_t(i)]);
        p.a_first = va->first;
        p.a_nb1 = el(a.nb[1]);
        p.a_nb2 = el(a.nb[2]);
        p.a_nb3 = el(a.nb[3]);
        p.b_first = vb->first;
        p.b_ne0 = uint32_t(b.ne[0]);
        p.b_ne1 = uint32_t(b.ne[1]);
        p.b_ne2 = uint32_t(b.ne[2]);
        p.b_ne3 = uint32_t(b.ne[3]);
        p.b_nb1 = el(b.nb[1]);
        p.b_nb2 = el(b.nb[2]);
        p.b_nb3 = el(b.nb[3]);
        p.d_first = vd->first;
        p.param = param;
        auto pipe = rec.pipeline("elementwise", 3, sizeof p, {kLocal, op});
        if (!pipe.ok()) return pipe.status();
        uint32_t gx, gy;
        rec.grid_for((uint64_t(n.dst.nelements()) + kLocal - 1) / kLocal, gx, gy);
        return rec.dispatch(**pipe, {*va, *vb, *vd}, &p, gx, gy);
    });
}

Status k_add(const BoundNode & n, Recorder & rec) { return record_elementwise(n, rec, kAdd, 0.0f); }
Status k_mul(const BoundNode & n, Recorder & rec) { return record_elementwise(n, rec, kMul, 0.0f); }
Status k_scale(const BoundNode & n, Recorder & rec) {
    return record_elementwise(n, rec, kScale, n.node->params<core::ScaleParams>().s);
}
Status k_silu(const BoundNode & n, Recorder & rec) { return record_elementwise(n, rec, kSilu, 0.0f); }
Status k_gelu(const BoundNode & n, Recorder & rec) {
    return record_elementwise(n, rec, n.node->params<core::GeluParams>().erf ? kGeluErf : kGeluTanh, 0.0f);
}
Status k_soft_cap(const BoundNode & n, Recorder & rec) {
    return record_elementwise(n, rec, kSoftCap, n.node->params<core::SoftCapParams>().cap);
}
Status k_glu(const BoundNode & n, Recorder & rec) {
    uint32_t op = kGluSilu;
    switch (n.node->params<core::GluParams>().act) {
        case core::Activation::Silu: op = kGluSilu; break;
        case core::Activation::GeluTanh: op = kGluGeluTanh; break;
        case core::Activation::GeluErf: op = kGluGeluErf; break;
    }
    return record_elementwise(n, rec, op, 0.0f);
}

struct SoftMaxPush {
    uint32_t n_kv, n_q, n_head, n_rows;
    uint32_t x_first, x_nb1, x_nb2, x_nb3;
    uint32_t pos_first, kpos_first, d_first, causal;
    int32_t window;
};

Status k_soft_max(const BoundNode & n, Recorder & rec) {
    const core::SoftMaxParams & prm = n.node->params<core::SoftMaxParams>();
    const BoundTensor & x = n.src[0];
    const BoundTensor * kpos = optional_src(n, 2);
    auto vx = rec.read(x);
    auto vpos = rec.read(n.src[1]);
    auto vk = rec.read(kpos ? *kpos : n.src[1]);
    auto vd = rec.write(n.dst);
    for (const auto * v : {&vx, &vpos, &vk, &vd}) {
        if (!v->ok()) return Status::error("soft_max: " + v->status().message());
    }
    SoftMaxPush p{};
    p.n_kv = uint32_t(x.ne[0]);
    p.n_q = uint32_t(x.ne[1]);
    p.n_head = uint32_t(x.ne[2]);
    p.n_rows = uint32_t(x.nrows());
    p.x_first = vx->first;
    p.x_nb1 = el(x.nb[1]);
    p.x_nb2 = el(x.nb[2]);
    p.x_nb3 = el(x.nb[3]);
    p.pos_first = vpos->first;
    p.kpos_first = vk->first;
    p.d_first = vd->first;
    p.causal = prm.causal ? 1 : 0;
    p.window = prm.window;
    auto pipe = rec.pipeline("soft_max", 4, sizeof p, {kRowLocal, kpos ? 1u : 0u});
    if (!pipe.ok()) return pipe.status();
    uint32_t gx, gy;
    rec.grid_for(p.n_rows, gx, gy);
    return rec.dispatch(**pipe, {*vx, *vpos, *vk, *vd}, &p, gx, gy);
}

struct ArgmaxPush {
    uint32_t n, ne1, ne2, n_rows;
    uint32_t x_first, x_nb1, x_nb2, x_nb3;
    uint32_t d_first;
};

Status k_argmax(const BoundNode & n, Recorder & rec) {
    const BoundTensor & x = n.src[0];
    auto vx = rec.read(x);
    auto vd = rec.write(n.dst);
    if (!vx.ok()) return Status::error("argmax: " + vx.status().message());
    if (!vd.ok()) return Status::error("argmax: " + vd.status().message());
    ArgmaxPush p{};
    p.n = uint32_t(x.ne[0]);
    p.ne1 = uint32_t(x.ne[1]);
    p.ne2 = uint32_t(x.ne[2]);
    p.n_rows = uint32_t(x.nrows());
    p.x_first = vx->first;
    p.x_nb1 = el(x.nb[1]);
    p.x_nb2 = el(x.nb[2]);
    p.x_nb3 = el(x.nb[3]);
    p.d_first = vd->first;
    auto pipe = rec.pipeline("argmax", 2, sizeof p, {kRowLocal});
    if (!pipe.ok()) return pipe.status();
    uint32_t gx, gy;
    rec.grid_for(p.n_rows, gx, gy);
    return rec.dispatch(**pipe, {*vx, *vd}, &p, gx, gy);
}

}  // namespace

void register_elementwise(KernelTable & t) {
    const Type F32 = Type::F32;
    t.add(Op::Add, F32, F32, F32, k_add);
    t.add(Op::Mul, F32, F32, F32, k_mul);
    t.add(Op::Scale, F32, F32, kNone, k_scale);
    t.add(Op::Silu, F32, F32, kNone, k_silu);
    t.add(Op::Gelu, F32, F32, kNone, k_gelu);
    t.add(Op::SoftCap, F32, F32, kNone, k_soft_cap);
    t.add(Op::Glu, F32, F32, F32, k_glu);
    t.add(Op::SoftMax, F32, F32, core::kI32, k_soft_max);
    t.add(Op::Argmax, core::kI32, F32, kNone, k_argmax);
}

}  // namespace quanta::backends::vulkan
