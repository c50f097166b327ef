// quant/dispatch.h — run-time choice of SIMD kernels for the CPU this process runs on.
// One portable binary: each ISA's kernels are compiled in their own translation units with
// their own flags (quant/simd/), and the best one the CPU supports is picked once, at first use.
//
// A matrix-vector product W x with W of type T, as the CPU backend runs it:
//   const Kernels & k = kernels(T);
//   k.quantize_activations(x, xq, n, nullptr);        // once per activation row, to dot_with
//   for each weight row r: y[r] = k.vec_dot(W_r, xq, n);
// Every kernel equals the scalar reference of quant/types.h: quantize_activations bit for bit;
// vec_dot bit for bit where it accumulates in the reference order (K-quants: exact int32 per
// super-block), else within float rounding (Q8_0-paired types and F16/F32 sum lanes in another
// order). tests/quant/test_simd.cpp holds every compiled ISA to this.
// Decode (one activation row, many weight rows) runs through mat_vec() below: all the weight rows
// of a call share the activation loads and the activation-side work.
// Alignment: rows need only the alignment of their block struct (2 bytes; 4 for F32, Q8_K,
// Q8_KH), as in a GGUF / .qnt mapping; kernels use unaligned vector loads.
#pragma once

#include <span>
#include <string_view>

#include "quant/types.h"

namespace quanta::quant {

enum class Isa { Scalar, Avx2, Avx512, Avx512Vnni, Neon };

// The ISA the dispatcher chose (QUANTA_ISA=scalar|avx2|avx512|avx512vnni caps it, for tests).
Isa cpu_isa_level();
std::string_view isa_name(Isa isa);
inline std::string_view cpu_isa() { return isa_name(cpu_isa_level()); }

// ISAs with kernels compiled into this binary that this CPU can run, lowest first (Scalar first),
// capped by QUANTA_ISA like cpu_isa_level().
std::span<const Isa> available_isas();

// Weight rows w + r * w_stride (r < n_w, any n_w >= 1) . one activation row a of n elements.
using MatVecFn = void (*)(const void * w, size_t w_stride, int64_t n_w, const void * a, float * out, int64_t n);

struct Kernels {
    // f32 activations (n values, n a multiple of the block size) -> a row of traits(type).dot_with.
    // Same bytes as traits(dot_with).quantize_row; the importance argument is ignored.
    QuantizeRowFn quantize_activations;
    // Weight row (this type) . activation row (dot_with type), n elements.
    DotRowFn vec_dot;
    // Weight row . up to kMaxDotRows activation rows (prompt processing); null where the ISA has
    // no multi-row kernel for the type: call dot_rows() below, which falls back to vec_dot.
    DotRowsFn vec_dot_rows;
    // Any number of weight rows . one activation row (decode); null where the ISA has no such
    // kernel for the type: call mat_vec() below, which falls back to vec_dot. A kernel works
    // through its rows a few at a time, preparing what depends on the activation alone once per
    // call, and prefetches the rows after the ones in hand; for comparisons, QUANTA_MV_PREFETCH=0
    // turns that off and QUANTA_MATVEC=0 leaves every vec_dot_wrows null. Give it long runs of rows.
    MatVecFn vec_dot_wrows;
    // Weight row -> f32.
    DequantizeRowFn dequantize_row;
    Isa isa;  // the ISA vec_dot comes from (lower when the chosen ISA has no kernel for the type)
};

// Kernels for the CPU's level, or for `isa` (capped at cpu_isa_level()). Thread-safe; the
// references are valid for the life of the process.
const Kernels & kernels(Type type);
const Kernels & kernels(Type type, Isa isa);

constexpr int kMaxDotRows = 4;

// out[k] = k.vec_dot(weights, activations + k * act_stride, n) for k < n_act (1..kMaxDotRows),
// through the multi-row kernel when there is one (same floats, fewer weight decodes).
inline void dot_rows(const Kernels & k, const void * weights, const void * activations, size_t act_stride,
                     int n_act, float * out, int64_t n) {
    if (k.vec_dot_rows) {
        k.vec_dot_rows(weights, activations, act_stride, n_act, out, n);
        return;
    }
    for (int r = 0; r < n_act; ++r) out[r] = k.vec_dot(weights, static_cast<const char *>(activations) + size_t(r) * act_stride, n);
}

// out[r] = weight row r (weights + r * w_stride) . activation, r < n_rows (any count): one call of
// the mat-vec kernel where there is one, else vec_dot per row. Same contract against the reference
// as vec_dot (bit for bit for the exact-integer types and Q4_0's kernel, else within float
// rounding), and a row's bits never depend on which rows share its call.
inline void mat_vec(const Kernels & k, const void * weights, size_t w_stride, int64_t n_rows, const void * activation,
                    float * out, int64_t n) {
    if (n_rows <= 0) return;
    if (k.vec_dot_wrows) {
        k.vec_dot_wrows(weights, w_stride, n_rows, activation, out, n);
        return;
    }
    const char * w = static_cast<const char *>(weights);
    for (int64_t r = 0; r < n_rows; ++r) out[r] = k.vec_dot(w + size_t(r) * w_stride, activation, n);
}

}  // namespace quanta::quant
