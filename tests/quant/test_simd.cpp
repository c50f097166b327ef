// tests/quant/test_simd.cpp — every compiled SIMD kernel equals the scalar reference, for every
// ISA this CPU runs (QUANTA_ISA caps the list): activation quantizers and dequantizers bit for
// bit, K-quant dots bit for bit (exact int32 per super-block, same float expression), other dots
// within float rounding; on odd block counts and pointers that are only element-aligned (rows
// need their block struct's alignment, 2 or 4 bytes, never the vector width).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "quant/dispatch.h"
#include "quant/fp.h"
#include "quant/random_blocks.h"
#include "quant/types.h"
#include "tests/quant/test_data.h"
#include "tests/support.h"
#include <iostream>

using namespace quanta;
using namespace quanta::quant;
using namespace quanta::quant::testing;

namespace {

// Dots that sum each block (or super-block) exactly in int32 and then use the reference's float
// expression in the reference's order.
bool dot_is_exact(Type t) {
    switch (t) {
        case Type::Q2_K: case Type::Q3_K: case Type::Q4_K: case Type::Q5_K: case Type::Q6_K:
        case Type::Q8_K: case Type::IQ4_XS: case Type::QT4: case Type::Q8_KH: return true;
        default: return false;
    }
}

// Weight rows to test: the quantizer's output on heavy-tailed data, and (for block types with
// known scale fields) random bytes, which reach every bit pattern (e.g. Q8_0's -128).
std::vector<std::vector<uint8_t>> weight_rows(const TypeTraits & t, int64_t n, uint32_t seed) {
    std::vector<std::vector<uint8_t>> rows;
    const std::vector<float> x = heavy_tailed(size_t(n), seed);
    rows.emplace_back(row_bytes(t.type, n));
    t.quantize_row(x.data(), rows.back().data(), n, nullptr);
    if (!fp16_scale_offsets(t.type).empty()) {
        std::vector<uint8_t> raw(row_bytes(t.type, n));
        random_blocks(t.type, raw.data(), raw.size(), seed + 1, 0.02f);
        rows.push_back(std::move(raw));
    }
    return rows;
}

}  // namespace

TEST_CASE("SIMD kernels equal the scalar reference on every available ISA", "[quant][simd]") {
    const auto isas = available_isas();
    REQUIRE(!isas.empty());
    REQUIRE(isas.front() == Isa::Scalar);
    for (Isa isa : isas) {
        for (const TypeTraits & t : all_types()) {
            const Kernels & k = kernels(t.type, isa);
            const TypeTraits & at = traits(t.dot_with);
            INFO("isa " << isa_name(isa) << " (kernel from " << isa_name(k.isa) << ") type " << t.name);
            REQUIRE(k.vec_dot);
            REQUIRE(k.quantize_activations);
            REQUIRE(k.dequantize_row);
            for (int64_t blocks : {1, 3, 7, 13}) {
                const int64_t n = blocks * t.block_size * (t.block_size == 1 ? 37 : 1);
                INFO("n " << n);
                // Rows need only their block struct's alignment (2 or 4 bytes), not the vector
                // width: offset every buffer by 4 bytes from a 16-byte-aligned allocation.
                const std::vector<float> act = gaussian(size_t(n) + 1, uint32_t(n));
                std::vector<uint8_t> qa_ref(row_bytes(at.type, n));
                std::vector<uint32_t> qa_store(row_bytes(at.type, n) / 4 + 2);
                uint8_t * qa_mis = reinterpret_cast<uint8_t *>(qa_store.data()) + 4;
                at.quantize_row(act.data() + 1, qa_ref.data(), n, nullptr);
                k.quantize_activations(act.data() + 1, qa_mis, n, nullptr);
                CHECK(std::memcmp(qa_ref.data(), qa_mis, qa_ref.size()) == 0);
                const void * qa = qa_mis;

                for (const std::vector<uint8_t> & wr : weight_rows(t, n, uint32_t(n) * 7 + 1)) {
                    std::vector<uint32_t> wstore(wr.size() / 4 + 2);
                    uint8_t * wmis = reinterpret_cast<uint8_t *>(wstore.data()) + 4;  // not vector-aligned
                    std::memcpy(wmis, wr.data(), wr.size());
                    const void * wq = wmis;

                    std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n) + 1);
                    t.dequantize_row(wr.data(), ref.data(), n);
                    k.dequantize_row(wq, got.data() + 1, n);
                    CHECK(std::memcmp(ref.data(), got.data() + 1, ref.size() * sizeof(float)) == 0);

                    const float dref = t.dot_row(wr.data(), qa_ref.data(), n);
                    const float dgot = k.vec_dot(wq, qa, n);
                    if (dot_is_exact(t.type) || k.isa == Isa::Scalar) {
                        CHECK(f32_bits(dref) == f32_bits(dgot));
                    } else {
                        std::vector<float> da(static_cast<size_t>(n));
                        at.dequantize_row(qa_ref.data(), da.data(), n);
                        double mag = 0.0;
                        for (int64_t i = 0; i < n; ++i) mag += std::fabs(double(ref[size_t(i)]) * double(da[size_t(i)]));
                        INFO("reference " << dref << " simd " << dgot << " magnitude " << mag);
                        CHECK(std::fabs(double(dref) - double(dgot)) <= 2e-6 * mag + 1e-30);
                    }
                }
            }
        }
    }
}

TEST_CASE("dispatcher reports the ISA it chose", "[quant][simd]") {
    const Isa level = cpu_isa_level();
    CHECK(available_isas().back() == level);
    CHECK(isa_name(level) == cpu_isa());
    // A capped request never returns kernels above the CPU's level.
    for (const TypeTraits & t : all_types()) CHECK(int(kernels(t.type, Isa::Avx512Vnni).isa) <= int(level));
    std::cout << "quant: cpu_isa_level = " << cpu_isa() << std::endl;
#if defined(__aarch64__)
    // The cross build under qemu (scripts/neon-check.sh) is only worth something if NEON ran.
    CHECK(cpu_isa() == "neon");
#endif
}

TEST_CASE("multi-row dots equal the single-row dot bit for bit", "[quant][simd]") {
    for (Isa isa : available_isas()) {
        for (const TypeTraits & t : all_types()) {
            const Kernels & k = kernels(t.type, isa);
            const TypeTraits & at = traits(t.dot_with);
            for (int64_t blocks : {1, 9}) {
                const int64_t n = blocks * t.block_size * (t.block_size == 1 ? 40 : 1) * (t.block_size == 32 ? 3 : 1);  // 3 or 27 blocks: tails and 8-block groups
                INFO("isa " << isa_name(isa) << " type " << t.name << " n " << n << " multi-row kernel " << (k.vec_dot_rows != nullptr));
                const std::vector<float> wf = heavy_tailed(size_t(n), uint32_t(n) + 3);
                std::vector<uint8_t> wq(row_bytes(t.type, n));
                t.quantize_row(wf.data(), wq.data(), n, nullptr);
                // Four activation rows with a stride that is not a multiple of the vector width.
                const size_t stride = row_bytes(at.type, n) + 4;
                std::vector<uint32_t> act_store((stride * kMaxDotRows) / 4 + 2);
                uint8_t * acts = reinterpret_cast<uint8_t *>(act_store.data()) + 4;
                for (int r = 0; r < kMaxDotRows; ++r) {
                    const std::vector<float> af = gaussian(size_t(n), uint32_t(100 + r));
                    k.quantize_activations(af.data(), acts + size_t(r) * stride, n, nullptr);
                }
                for (int n_act = 1; n_act <= kMaxDotRows; ++n_act) {
                    float out[kMaxDotRows] = {};
                    dot_rows(k, wq.data(), acts, stride, n_act, out, n);
                    for (int r = 0; r < n_act; ++r) {
                        const float single = k.vec_dot(wq.data(), acts + size_t(r) * stride, n);
                        CHECK(f32_bits(out[r]) == f32_bits(single));
                    }
                }
            }
        }
    }
}

// Decode: mat_vec() (weight rows in groups through the mat-vec kernel) against the scalar reference
// under vec_dot's contract (bit for bit for the exact-integer types, else within float rounding),
// and each row's result independent of how many rows share its call and where the group starts.
TEST_CASE("mat-vec kernels equal the scalar reference, whatever rows share a call", "[quant][simd]") {
    for (Isa isa : available_isas()) {
        for (const TypeTraits & t : all_types()) {
            const Kernels & k = kernels(t.type, isa);
            const TypeTraits & at = traits(t.dot_with);
            for (int64_t blocks : {1, 3, 9}) {
                // 32-element types: 3, 9 or 27 blocks (tails and 8-block groups); others 1, 3, 9 blocks.
                const int64_t n = blocks * t.block_size * (t.block_size == 1 ? 40 : 1) * (t.block_size == 32 ? 3 : 1);
                INFO("isa " << isa_name(isa) << " type " << t.name << " n " << n << " mat-vec kernel " << (k.vec_dot_wrows != nullptr));
                // 19 weight rows (two 8-row groups and a tail of three; four 4-row groups and a tail of three), stride = row + 2 or 4 bytes so
                // consecutive rows are only block-struct aligned; every buffer is offset 4 bytes.
                constexpr int64_t kRows = 19;
                const size_t rb = row_bytes(t.type, n), stride = rb + (t.block_bytes % 4 == 0 ? 4 : 2);
                std::vector<uint32_t> wstore((stride * size_t(kRows)) / 4 + 4);
                uint8_t * ws = reinterpret_cast<uint8_t *>(wstore.data()) + 4;
                std::vector<std::vector<uint8_t>> wrows;
                for (int64_t r = 0; r < kRows; ++r) {
                    std::vector<std::vector<uint8_t>> rows = weight_rows(t, n, uint32_t(n * 31 + r));
                    wrows.push_back(std::move(rows[size_t(r) % rows.size()]));  // quantized and raw rows alternate
                    std::memcpy(ws + size_t(r) * stride, wrows.back().data(), rb);
                }
                const std::vector<float> af = gaussian(size_t(n), uint32_t(n) + 17);
                std::vector<uint8_t> qa_ref(row_bytes(at.type, n));
                at.quantize_row(af.data(), qa_ref.data(), n, nullptr);
                std::vector<uint32_t> astore(qa_ref.size() / 4 + 4);
                uint8_t * act = reinterpret_cast<uint8_t *>(astore.data()) + 4;
                std::memcpy(act, qa_ref.data(), qa_ref.size());
                std::vector<float> da(static_cast<size_t>(n)), dw(static_cast<size_t>(n));
                at.dequantize_row(qa_ref.data(), da.data(), n);

                float all[kRows];
                mat_vec(k, ws, stride, kRows, act, all, n);
                for (int64_t r = 0; r < kRows; ++r) {
                    INFO("row " << r);
                    const float ref = t.dot_row(wrows[size_t(r)].data(), qa_ref.data(), n);
                    // Q4_0's mat-vec kernel evaluates the reference's float expression in block order.
                    const bool exact_kernel = t.type == Type::Q4_0 && k.vec_dot_wrows != nullptr;
                    if (dot_is_exact(t.type) || k.isa == Isa::Scalar || exact_kernel) {
                        CHECK(f32_bits(all[r]) == f32_bits(ref));
                    } else {
                        t.dequantize_row(wrows[size_t(r)].data(), dw.data(), n);
                        double mag = 0.0;
                        for (int64_t i = 0; i < n; ++i) mag += std::fabs(double(dw[size_t(i)]) * double(da[size_t(i)]));
                        INFO("reference " << ref << " mat_vec " << all[r] << " magnitude " << mag);
                        CHECK(std::fabs(double(ref) - double(all[r])) <= 2e-6 * mag + 1e-30);
                    }
                }
                // Fewer rows, and groups starting at every row: the same bits per row.
                for (int64_t first = 0; first < kRows; ++first) {
                    for (int64_t rows = 1; first + rows <= kRows; ++rows) {
                        float out[kRows + 1];
                        out[rows] = 12345.0f;  // must stay untouched
                        mat_vec(k, ws + size_t(first) * stride, stride, rows, act, out, n);
                        for (int64_t r = 0; r < rows; ++r) CHECK(f32_bits(out[r]) == f32_bits(all[first + r]));
                        CHECK(out[rows] == 12345.0f);
                    }
                }
            }
        }
    }
}

#if defined(__x86_64__)
TEST_CASE("the x86 CPU has mat-vec kernels for the decode types", "[quant][simd]") {
    // A silent fallback to vec_dot would pass the bit-exact test above: require the kernels where
    // the AVX2 level was chosen (the AVX-512 levels pair their own vec_dot and may have none).
    if (cpu_isa_level() != Isa::Avx2) QUANTA_SKIP("quant ISA is " << cpu_isa() << ", not avx2");
    if (const char * e = std::getenv("QUANTA_MATVEC"); e && std::atoi(e) == 0) QUANTA_SKIP("QUANTA_MATVEC=0 turned the mat-vec kernels off");
    for (Type t : {Type::Q4_0, Type::Q4_K, Type::Q8_0, Type::QT4}) {
        INFO(traits(t).name);
        CHECK(kernels(t).vec_dot_wrows != nullptr);
    }
}
#endif  // x86-64: the aarch64 cross build (scripts/neon-check.sh) has no such kernels yet
