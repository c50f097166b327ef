// quant/dispatch.cpp — CPU detection and the per-ISA kernel tables.
//
// Tables are built once per ISA level on first use: start from the scalar reference codecs of
// the traits table, then overlay each compiled ISA up to the level, lowest first, so a type an
// ISA has no kernel for keeps the best lower one.
#include "quant/dispatch.h"

#include <array>
#include <memory>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "quant/simd/simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace quanta::quant {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// F16C straight from CPUID leaf 1 (clang's __builtin_cpu_supports does not know "f16c"); the
// AVX2 check below already covers the OS saving YMM state.
bool has_f16c() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}
#endif

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
        return __builtin_cpu_supports("avx512vnni") ? Isa::Avx512Vnni : Isa::Avx512;
    }
    return avx2 ? Isa::Avx2 : Isa::Scalar;
#elif defined(__aarch64__)
    return Isa::Neon;
#else
    return Isa::Scalar;
#endif
}

// QUANTA_ISA lowers the level (never raises it past what the CPU has), so tests can compare paths.
Isa capped(Isa found) {
    const char * env = std::getenv("QUANTA_ISA");
    if (!env) return found;
    const std::string want(env);
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Neon}) {
        if (want == isa_name(isa) && int(isa) <= int(found)) return isa;
    }
    return found;
}

constexpr int kIsaCount = 5;

// ISAs whose kernels are compiled into this binary, in overlay order.
bool compiled(Isa isa) {
#if defined(QUANTA_HAVE_X86_SIMD)
    if (isa == Isa::Avx2 || isa == Isa::Avx512 || isa == Isa::Avx512Vnni) return true;
#endif
#if defined(QUANTA_HAVE_NEON)
    if (isa == Isa::Neon) return true;
#endif
    return isa == Isa::Scalar;
}

void fill(Isa isa, IsaKernels & k) {
    (void)isa;
    (void)k;
#if defined(QUANTA_HAVE_X86_SIMD)
    if (isa == Isa::Avx2) fill_kernels_avx2(k);
    if (isa == Isa::Avx2) fill_qt_avx2(k);
    if (isa == Isa::Avx2) fill_matvec_avx2(k);
    if (isa == Isa::Avx512) fill_kernels_avx512(k);
    if (isa == Isa::Avx512Vnni) fill_kernels_avx512vnni(k);
#endif
#if defined(QUANTA_HAVE_NEON)
    if (isa == Isa::Neon) fill_kernels_neon(k);
#endif
}

struct Table {
    std::array<Kernels, kMaxTypeId> by_id{};
};

Table build(Isa level) {
    std::array<QuantizeRowFn, kMaxTypeId> quant{};
    Table t;
    for (const TypeTraits & tr : all_types()) {
        t.by_id[tr.id] = Kernels{nullptr, tr.dot_row, nullptr, nullptr, tr.dequantize_row, Isa::Scalar};
        quant[tr.id] = tr.quantize_row;
    }
    for (int l = 1; l <= int(level); ++l) {
        const Isa isa = Isa(l);
        if (!compiled(isa)) continue;
        auto k = std::make_unique<IsaKernels>();
        fill(isa, *k);
        for (const TypeTraits & tr : all_types()) {
            if (k->dot[tr.id]) {
                // Multi-row kernels only pair with the single-row kernel of their own ISA.
                t.by_id[tr.id].vec_dot = k->dot[tr.id];
                t.by_id[tr.id].vec_dot_rows = k->dot_rows[tr.id];
                t.by_id[tr.id].vec_dot_wrows = k->dot_wrows[tr.id];
                t.by_id[tr.id].isa = isa;
            }
            if (k->dequantize[tr.id]) t.by_id[tr.id].dequantize_row = k->dequantize[tr.id];
            if (k->quantize[tr.id]) quant[tr.id] = k->quantize[tr.id];
        }
    }
    for (const TypeTraits & tr : all_types()) t.by_id[tr.id].quantize_activations = quant[uint32_t(tr.dot_with)];
    return t;
}

const Table & table(Isa isa) {
    static std::array<Table, kIsaCount> tables;
    static std::array<std::once_flag, kIsaCount> once;
    const int i = int(isa);
    std::call_once(once[size_t(i)], [&] { tables[size_t(i)] = build(isa); });
    return tables[size_t(i)];
}

}  // namespace

Isa cpu_isa_level() {
    static const Isa level = capped(detect());
    return level;
}

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
        case Isa::Avx512Vnni: return "avx512vnni";
        case Isa::Neon: return "neon";
    }
    return "unknown";
}

std::span<const Isa> available_isas() {
    static const std::vector<Isa> isas = [] {
        std::vector<Isa> v;
        const Isa level = cpu_isa_level();
        for (int l = 0; l <= int(level); ++l) {
            if (compiled(Isa(l))) v.push_back(Isa(l));
        }
        return v;
    }();
    return isas;
}

const Kernels & kernels(Type type) { return kernels(type, cpu_isa_level()); }

const Kernels & kernels(Type type, Isa isa) {
    if (int(isa) > int(cpu_isa_level())) isa = cpu_isa_level();
    const Kernels & k = table(isa).by_id[size_t(traits(type).id)];
    return k;
}

}  // namespace quanta::quant
