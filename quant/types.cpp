// quant/types.cpp — the traits table, built from quant/types.def plus one codec row per type.
#include "quant/types.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <thread>
#include <vector>

#include "quant/fp.h"
#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/qt2.h"
#include "quant/qt3.h"
#include "quant/qt4.h"
#include "quant/status.h"

namespace quanta::quant {

namespace {

struct Codec {
    QuantizeRowFn quantize_row;
    DequantizeRowFn dequantize_row;
    DotRowFn dot_row;
    bool activation_only;
};

constexpr Codec codec_for(Type t) {
    switch (t) {
        case Type::F32: return {quantize_row_f32, dequantize_row_f32, dot_row_f32, false};
        case Type::F16: return {quantize_row_f16, dequantize_row_f16, dot_row_f16, false};
        case Type::BF16: return {quantize_row_bf16, dequantize_row_bf16, dot_row_bf16, false};
        case Type::Q4_0: return {quantize_row_q4_0, dequantize_row_q4_0, dot_row_q4_0, false};
        case Type::Q4_1: return {quantize_row_q4_1, dequantize_row_q4_1, dot_row_q4_1, false};
        case Type::Q5_0: return {quantize_row_q5_0, dequantize_row_q5_0, dot_row_q5_0, false};
        case Type::Q5_1: return {quantize_row_q5_1, dequantize_row_q5_1, dot_row_q5_1, false};
        case Type::Q8_0: return {quantize_row_q8_0, dequantize_row_q8_0, dot_row_q8_0, false};
        case Type::Q8_1: return {quantize_row_q8_1, dequantize_row_q8_1, dot_row_q8_1, true};
        case Type::Q2_K: return {quantize_row_q2_k, dequantize_row_q2_k, dot_row_q2_k, false};
        case Type::Q3_K: return {quantize_row_q3_k, dequantize_row_q3_k, dot_row_q3_k, false};
        case Type::Q4_K: return {quantize_row_q4_k, dequantize_row_q4_k, dot_row_q4_k, false};
        case Type::Q5_K: return {quantize_row_q5_k, dequantize_row_q5_k, dot_row_q5_k, false};
        case Type::Q6_K: return {quantize_row_q6_k, dequantize_row_q6_k, dot_row_q6_k, false};
        case Type::Q8_K: return {quantize_row_q8_k, dequantize_row_q8_k, dot_row_q8_k, true};
        case Type::IQ4_NL: return {quantize_row_iq4_nl, dequantize_row_iq4_nl, dot_row_iq4_nl, false};
        case Type::IQ4_XS: return {quantize_row_iq4_xs, dequantize_row_iq4_xs, dot_row_iq4_xs, false};
        case Type::QT4: return {quantize_row_qt4, dequantize_row_qt4, dot_row_qt4, false};
        case Type::Q8_KH: return {quantize_row_q8_kh, dequantize_row_q8_kh, dot_row_q8_kh, true};
        case Type::QT3: return {quantize_row_qt3, dequantize_row_qt3, dot_row_qt3, false};
        case Type::QT2: return {quantize_row_qt2, dequantize_row_qt2, dot_row_qt2, false};
    }
    return {nullptr, nullptr, nullptr, false};
}

#define QUANT_TYPE(name, id, block, bytes, dot_with, tol)                                           \
    TypeTraits{Type::name, #name, id, block, bytes, Type::dot_with, tol,                            \
               codec_for(Type::name).activation_only, codec_for(Type::name).quantize_row,         \
               codec_for(Type::name).dequantize_row, codec_for(Type::name).dot_row},
constexpr TypeTraits kTraits[] = {
#include "quant/types.def"
};
#undef QUANT_TYPE

// A types.def row without a case in codec_for() is caught by -Wswitch (no default there) and by
// tests/quant/test_types.cpp (every row has its three codecs).

}  // namespace

const TypeTraits & traits(Type type) {
    for (const TypeTraits & t : kTraits) {
        if (t.type == type) return t;
    }
    std::fprintf(stderr, "quant: unknown type id %u\n", unsigned(type));
    std::abort();
}

std::span<const TypeTraits> all_types() { return kTraits; }

std::optional<Type> type_from_id(uint32_t id) {
    for (const TypeTraits & t : kTraits) {
        if (t.id == id) return t.type;
    }
    return std::nullopt;
}

std::optional<Type> type_from_name(std::string_view name) {
    for (const TypeTraits & t : kTraits) {
        const std::string_view tn(t.name);
        if (tn.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < tn.size() && same; ++i) {
            same = std::toupper(static_cast<unsigned char>(tn[i])) == std::toupper(static_cast<unsigned char>(name[i]));
        }
        if (same) return t.type;
    }
    return std::nullopt;
}

size_t row_bytes(Type type, int64_t n) {
    const TypeTraits & t = traits(type);
    QUANTA_CHECK(n >= 0 && n % t.block_size == 0);
    return size_t(n / t.block_size) * t.block_bytes;
}

bool is_quantized(Type type) { return traits(type).block_size > 1; }

void quantize_rows(Type type, const float * src, void * dst, int64_t nrows, int64_t ncols,
                   const float * importance, int n_threads) {
    const TypeTraits & t = traits(type);
    QUANTA_CHECK(ncols % t.block_size == 0 && nrows >= 0);
    const size_t rb = row_bytes(type, ncols);
    auto work = [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            t.quantize_row(src + r * ncols, static_cast<uint8_t *>(dst) + size_t(r) * rb, ncols, importance);
        }
    };
    const int64_t nt = std::clamp<int64_t>(n_threads, 1, std::max<int64_t>(nrows, 1));
    if (nt == 1) {
        work(0, nrows);
        return;
    }
    // Rows are independent and each row's bytes depend only on that row, so the split cannot
    // change the output: threading keeps quantization deterministic.
    std::vector<std::thread> pool;
    pool.reserve(size_t(nt - 1));
    for (int64_t k = 1; k < nt; ++k) pool.emplace_back(work, nrows * k / nt, nrows * (k + 1) / nt);
    work(0, nrows / nt);
    for (std::thread & th : pool) th.join();
}

}  // namespace quanta::quant
