// quant/simd/simd.h — how the ISA translation units hand their kernels to the dispatcher.
// Internal to quant/: include quant/dispatch.h instead.
#pragma once

#include <cstddef>

#include "quant/dispatch.h"
#include "quant/types.h"

namespace quanta::quant {

constexpr size_t kMaxTypeId = 256;  // type ids index these tables (types.def ids are < 256)

// Kernels one ISA provides, indexed by type id; null where it has none (the lower ISA's stays).
// quantize[t]: f32 -> t for activation types (bit-exact with traits(t).quantize_row).
// dot[t]: t weights . traits(t).dot_with activations. dequantize[t]: t -> f32.
struct IsaKernels {
    QuantizeRowFn quantize[kMaxTypeId] = {};
    DotRowFn dot[kMaxTypeId] = {};
    DotRowsFn dot_rows[kMaxTypeId] = {};  // must equal dot[t] bit for bit on every row
    MatVecFn dot_wrows[kMaxTypeId] = {};  // several weight rows . one activation row (see mat_vec())
    DequantizeRowFn dequantize[kMaxTypeId] = {};
};

// Defined only in x86-64 builds (quant/CMakeLists.txt adds the files with their flags).
void fill_kernels_avx2(IsaKernels & k);
void fill_rows_avx2(IsaKernels & k);  // called by fill_kernels_avx2
void fill_qt_avx2(IsaKernels & k);    // QT3 / QT2 (avx2_qt.cpp), called by dispatch.cpp
void fill_matvec_avx2(IsaKernels & k);  // mat-vec kernels (avx2_matvec.cpp), called by dispatch.cpp
void fill_kernels_avx512(IsaKernels & k);
void fill_kernels_avx512vnni(IsaKernels & k);
// Defined only in aarch64 builds.
void fill_kernels_neon(IsaKernels & k);

}  // namespace quanta::quant
