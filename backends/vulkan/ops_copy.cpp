// backends/vulkan/ops_copy.cpp — copy (strided F32/F16/BF16/Q8_0 -> packed F32/F16/Q8_0; a Q8_0
// source is strided by whole blocks) and set_rows (F32
// rows into an F32/F16/Q8_0 KV cache at given row ids). F32 destinations use shaders/copy.comp;
// F16 and Q8_0 destinations use shaders/copy_16.comp, which needs 16-bit storage and shaderInt16
// and is registered only where the device has both (elsewhere the executor runs them on the CPU).
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

namespace {

using core::Op;

constexpr uint32_t kLocal = 256;

struct CopyPush {
    uint32_t ne[4];
    uint32_t s_first, s_nb0, s_nb1, s_nb2;
    uint32_t s_nb3, d_first, d_nb1, d_nb2;
    uint32_t d_nb3, ids_first, n_dst_rows, code;
};

// SRC of copy_src.glsl.
uint32_t src_code(Type t) { return t == Type::F32 ? 0 : t == Type::F16 ? 1 : t == Type::BF16 ? 2 : 3; }

// Units of the destination array: floats for F32, halfwords for F16 and Q8_0.
uint32_t dst_unit(Type t) { return t == Type::F32 ? 4 : 2; }

Status record_copy(const BoundNode & n, Recorder & rec, const BoundTensor & src, const BoundTensor * ids) {
    const BoundTensor & d = n.dst;
    const char * what = core::op_name(n.node->op).data();
    const uint32_t su = src.type == Type::F32 ? 4 : 2;
    const uint32_t du = dst_unit(d.type);
    auto vs = rec.read(src, su);
    auto vi = rec.read(ids ? *ids : src, ids ? 4 : su);
    auto vd = rec.write(d, du);
    auto ve = rec.data_errors();
    for (const auto * v : {&vs, &vi, &vd, &ve}) {
        if (!v->ok()) return Status::error(std::string(what) + ": " + v->status().message());
    }
    CopyPush p{};
    for (int i = 0; i < 4; ++i) p.ne[i] = uint32_t(src.ne[size_t(i)]);
    p.s_first = vs->first;
    p.s_nb0 = uint32_t(src.nb[0] / su);
    p.s_nb1 = uint32_t(src.nb[1] / su);
    p.s_nb2 = uint32_t(src.nb[2] / su);
    p.s_nb3 = uint32_t(src.nb[3] / su);
    p.d_first = vd->first;
    p.d_nb1 = uint32_t(d.nb[1] / du);
    p.d_nb2 = uint32_t(d.nb[2] / du);
    p.d_nb3 = uint32_t(d.nb[3] / du);
    p.ids_first = ids ? vi->first : 0;
    p.n_dst_rows = uint32_t(d.ne[1]);
    p.code = 1 + uint32_t(n.node->op);
    const uint32_t set_rows = ids ? 1 : 0;
    Result<Pipeline *> pipe = d.type == Type::F32
                                  ? rec.pipeline("copy", 4, sizeof p, {kLocal, src_code(src.type), set_rows})
                                  : rec.pipeline("copy_16", 4, sizeof p,
                                                 {kLocal, src_code(src.type), set_rows, d.type == Type::F16 ? 1u : 2u});
    if (!pipe.ok()) return pipe.status();
    const uint64_t per_row = d.type == Type::Q8_0 ? uint64_t(src.ne[0] / 32) : uint64_t(src.ne[0]);
    uint32_t gx, gy;
    rec.grid_for((per_row * uint64_t(src.nrows()) + kLocal - 1) / kLocal, gx, gy);
    return rec.dispatch(**pipe, {*vs, *vi, *vd, *ve}, &p, gx, gy);
}

Status k_copy(const BoundNode & node, Recorder & rec) {
    return split_rows(node, rec.max_range(),
                      [&](const BoundNode & n) { return record_copy(n, rec, n.src[0], nullptr); });
}

Status k_set_rows(const BoundNode & n, Recorder & rec) { return record_copy(n, rec, n.src[0], &n.src[1]); }

}  // namespace

void register_copy(KernelTable & t) {
    const bool store16 = t.features().storage16 && t.features().int16;
    for (Type src : {Type::F32, Type::F16, Type::BF16, Type::Q8_0}) {
        t.add(Op::Copy, Type::F32, src, kNone, k_copy);
        if (store16) {
            t.add(Op::Copy, Type::F16, src, kNone, k_copy);
            t.add(Op::Copy, Type::Q8_0, src, kNone, k_copy);
        }
    }
    t.add(Op::SetRows, Type::F32, Type::F32, core::kI32, k_set_rows);
    if (store16) {
        t.add(Op::SetRows, Type::F16, Type::F32, core::kI32, k_set_rows);
        t.add(Op::SetRows, Type::Q8_0, Type::F32, core::kI32, k_set_rows);
    }
}

}  // namespace quanta::backends::vulkan
