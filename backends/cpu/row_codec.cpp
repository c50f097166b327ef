// backends/cpu/row_codec.cpp — builds the RowCodec table once from quant's traits and kernels.
#include "backends/cpu/row_codec.h"

#include <array>
#include <cstring>

#include "backends/cpu/vec.h"
#include "quant/dispatch.h"

namespace quanta::backends::cpu {

namespace {

float dot_f32(const void * w, const void * a, int64_t n) {
    return vec().dot_f32(static_cast<const float *>(w), static_cast<const float *>(a), n);
}

float dot_f16(const void * w, const void * a, int64_t n) {
    return vec().dot_f16_f32(static_cast<const uint16_t *>(w), static_cast<const float *>(a), n);
}

void f32_to_f32(const void * src, float * dst, int64_t n) { std::memcpy(dst, src, size_t(n) * sizeof(float)); }

void f16_to_f32(const void * src, float * dst, int64_t n) { vec().f16_to_f32(static_cast<const uint16_t *>(src), dst, n); }

struct Table {
    std::array<RowCodec, 256> rows{};
    std::array<bool, 256> present{};
};

Table build() {
    Table t;
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (uint32_t(tr.type) >= 256 || !tr.dot_row || !tr.dequantize_row || !tr.quantize_row) continue;
        RowCodec c;
        c.type = tr.type;
        c.dot_with = tr.dot_with;
        // quant's dispatched SIMD kernels (equal to the scalar reference; see quant/dispatch.h).
        const quant::Kernels & k = quant::kernels(tr.type);
        c.dot = k.vec_dot ? k.vec_dot : tr.dot_row;
        c.dot_rows = k.vec_dot_rows;
        c.dot_wrows = k.vec_dot_wrows;
        c.to_f32 = k.dequantize_row ? k.dequantize_row : tr.dequantize_row;
        c.from_f32 = tr.quantize_row;
        c.quantize_dot_with = nullptr;
        if (tr.dot_with != Type::F32) {
            c.quantize_dot_with = k.quantize_activations ? k.quantize_activations : quant::traits(tr.dot_with).quantize_row;
        }
        if (tr.type == Type::F32 || tr.type == Type::F16) {  // the backend's own dots below
            c.dot_rows = nullptr;
            c.dot_wrows = nullptr;
        }
        if (tr.type == Type::F32) {
            c.dot = dot_f32;
            c.to_f32 = f32_to_f32;
        } else if (tr.type == Type::F16) {
            c.dot = dot_f16;
            c.to_f32 = f16_to_f32;
        }
        t.rows[uint32_t(tr.type)] = c;
        t.present[uint32_t(tr.type)] = true;
    }
    return t;
}

}  // namespace

const RowCodec * row_codec(Type type) {
    static const Table table = build();
    const uint32_t id = uint32_t(type);
    if (id >= 256 || !table.present[id]) return nullptr;
    return &table.rows[id];
}

}  // namespace quanta::backends::cpu
