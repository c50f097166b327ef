// backends/cpu/kernels_copy.cpp — copy/convert (any strides -> packed, any number type -> F32,
// F16, BF16 or Q8_0) and set_rows (f32 rows written into a KV-cache view at given row ids,
// converted to the cache type). Row by row through an f32 buffer; rows split across threads.
#include <cstring>

#include "backends/cpu/kernels.h"
#include "backends/cpu/row_codec.h"
#include "backends/cpu/vec.h"
#include "quant/fp.h"

namespace quanta::backends::cpu {

namespace {

using core::Op;

size_t align64(size_t x) { return (x + 63) / 64 * 64; }

size_t w_row_f32(const BoundNode & n, int nth) { return size_t(nth) * align64(size_t(n.src[0].ne[0]) * sizeof(float)); }

// Source row (i1, i2, i3) of x as f32 into tmp (element strides honoured for float types).
void load_row_f32(const BoundTensor & x, int64_t i1, int64_t i2, int64_t i3, float * tmp) {
    const char * base = row_ptr(x, i1, i2, i3);
    const int64_t n = x.ne[0];
    if (x.nb[0] == int64_t(core::type_block_bytes(x.type))) {
        row_codec(x.type)->to_f32(base, tmp, n);
        return;
    }
    for (int64_t i = 0; i < n; ++i) {
        const char * e = base + i * x.nb[0];
        if (x.type == Type::F32) std::memcpy(&tmp[i], e, sizeof(float));
        else {
            uint16_t h;
            std::memcpy(&h, e, sizeof h);
            tmp[i] = x.type == Type::F16 ? quant::fp16_to_fp32(h) : quant::bf16_to_fp32(h);
        }
    }
}

void k_copy(const BoundNode & n, const KernelCtx & ctx) {
    const BoundTensor & x = n.src[0];
    const BoundTensor & d = n.dst;
    float * tmp = reinterpret_cast<float *>(ctx.work + size_t(ctx.ith) * align64(size_t(x.ne[0]) * sizeof(float)));
    const RowCodec & dc = *row_codec(d.type);
    for_each_row(d, ctx, [&](int64_t, int64_t i1, int64_t i2, int64_t i3) {
        char * out = row_ptr(d, i1, i2, i3);
        if (x.type == Type::F32 && d.type == Type::F32 && x.nb[0] == 4) {
            std::memcpy(out, row_ptr(x, i1, i2, i3), size_t(d.ne[0]) * 4);
            return;
        }
        load_row_f32(x, i1, i2, i3, tmp);
        if (d.type == Type::F32) std::memcpy(out, tmp, size_t(d.ne[0]) * 4);
        else dc.from_f32(tmp, out, d.ne[0], nullptr);
    });
}

void k_set_rows(const BoundNode & n, const KernelCtx & ctx) {
    const BoundTensor & rows = n.src[0];
    const int32_t * ids = n.src[1].host<int32_t>();
    const BoundTensor & d = n.dst;
    const RowCodec & dc = *row_codec(d.type);
    int64_t r0, r1;
    split_range(rows.ne[1], ctx.ith, ctx.nth, r0, r1);
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t id = ids[r];
        if (!row_id_in_range(id, r, d.ne[1], "set_rows: row id", ctx)) continue;
        const float * src = reinterpret_cast<const float *>(rows.host<char>() + r * rows.nb[1]);
        char * out = d.host<char>() + id * d.nb[1];
        if (d.type == Type::F32) std::memcpy(out, src, size_t(d.ne[0]) * 4);
        else dc.from_f32(src, out, d.ne[0], nullptr);
    }
}

}  // namespace

void register_copy(KernelTable & t) {
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (tr.activation_only || !row_codec(tr.type)) continue;
        for (Type dst : {Type::F32, Type::F16, Type::BF16, Type::Q8_0}) t.add(Op::Copy, dst, tr.type, kNone, k_copy, w_row_f32);
    }
    for (Type dst : {Type::F32, Type::F16, Type::Q8_0}) t.add(Op::SetRows, dst, Type::F32, core::kI32, k_set_rows);
}

}  // namespace quanta::backends::cpu
