// tests/backends/cuda/host/test_cuda_decoders.cpp — the host+device helpers of the CUDA kernels
// (backends/cuda/ops/decoders.h), compiled here for the host, against quant/'s reference codecs.
// Label unit: built and run in every build, with or without QUANTA_CUDA (it links quant/ only).
// Needs no GPU: it checks the block decoders every mul_mat / get_rows kernel uses (QT4 / QT3 / QT2
// also on random valid blocks of every bit pattern, with their get_rows element decoders), the Q8_0
// encoder of copy / set_rows, QT4's sign table and the kpos visibility rule, so a wrong bit offset
// is found before a GPU session. (On the device, nvcc may contract `dl * q - ml` into an FMA: the op tests on
// a GPU allow for that; here the floats must be identical.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cuda/ops/decoders.h"
#include "quant/random_blocks.h"
#include "quant/types.h"

using namespace quanta;
using namespace quanta::backends::cuda;

namespace {

struct alignas(16) uint4_words {
    uint32_t v[4];
};

std::string core_name(Type t) { return quant::traits(t).name; }

// The rotated weight types (QT4, QT3, QT2): their decoders return R w, so a decoded row is compared
// with quant/'s dequantize_row after un-rotating each 256 elements.
bool rotated_type(Type t) { return !quant::traits(t).activation_only && quant::traits(t).dot_with == Type::Q8_KH; }

void unrotate_row(std::vector<float> & v) {
    for (size_t h = 0; h + 256 <= v.size(); h += 256) quant::unrotate_256(v.data() + h);
}

std::vector<float> gaussian(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (float & x : v) x = dist(rng);
    return v;
}

// Quantizes a random row of `blocks` blocks with quant/, decodes it chunk by chunk with D, and
// compares with quant/'s dequantize_row (QT4, QT3, QT2: after un-rotating the decoded values).
template <typename D>
void check_decoder(Type type, int blocks) {
    INFO(core_name(type));
    const int64_t n = int64_t(D::kQK) * blocks;
    REQUIRE(quant::traits(type).block_size == D::kQK);
    REQUIRE(int(quant::traits(type).block_bytes) == D::kBytes);
    const std::vector<float> src = gaussian(size_t(n), uint32_t(type) * 7 + 1);
    std::vector<uint8_t> q(size_t(blocks) * D::kBytes);
    quant::traits(type).quantize_row(src.data(), q.data(), n, nullptr);
    std::vector<float> ref(static_cast<size_t>(n));
    quant::traits(type).dequantize_row(q.data(), ref.data(), n);
    std::vector<float> got(static_cast<size_t>(n));
    for (int64_t c = 0; c < n / 32; ++c) {
        const char * block = reinterpret_cast<const char *>(q.data()) + (c / (D::kQK / 32)) * D::kBytes;
        D::chunk(block, int(c % (D::kQK / 32)), got.data() + c * 32);
    }
    if (rotated_type(type)) unrotate_row(got);
    CHECK(std::memcmp(got.data(), ref.data(), got.size() * sizeof(float)) == 0);
}

// The mat-vec units (decoders.h, matvec.cuh): every unit of every block of a random row decoded
// with U, each of its 32 weights put at the element its lo/hi run names; every element must be
// written exactly once and equal quant/'s dequantize_row bit for bit (rotated types: un-rotated).
template <typename U>
void check_units(Type type, int blocks, uint32_t seed) {
    INFO(core_name(type) << " blocks " << blocks << " seed " << seed);
    REQUIRE(quant::traits(type).block_size == U::kQK);
    REQUIRE(int(quant::traits(type).block_bytes) == U::kBytes);
    REQUIRE(U::kUnits * 32 == U::kQK);
    REQUIRE(U::kBytes % U::kAlign == 0);
    const int64_t n = int64_t(U::kQK) * blocks;
    const std::vector<float> src = gaussian(size_t(n), seed, seed % 2 ? 1.0f : 30.0f);
    // 16-byte aligned storage, as the device rows are (the kernel requires kAlign).
    std::vector<uint4_words> storage((size_t(blocks) * U::kBytes + 15) / 16);
    uint8_t * q = reinterpret_cast<uint8_t *>(storage.data());
    quant::traits(type).quantize_row(src.data(), q, n, nullptr);
    std::vector<float> ref(static_cast<size_t>(n));
    quant::traits(type).dequantize_row(q, ref.data(), n);
    std::vector<float> got(static_cast<size_t>(n), std::nanf(""));
    std::vector<int> hits(static_cast<size_t>(n), 0);
    for (int blk = 0; blk < blocks; ++blk) {
        const char * block = reinterpret_cast<const char *>(q) + int64_t(blk) * U::kBytes;
        for (int u = 0; u < U::kUnits; ++u) {
            float w[32];
            U::unit(block, u, w);
            REQUIRE(U::lo(u) % 16 == 0);
            REQUIRE(U::hi(u) % 16 == 0);
            for (int i = 0; i < 16; ++i) {
                for (const auto & [e, v] : {std::pair{U::lo(u) + i, w[i]}, std::pair{U::hi(u) + i, w[16 + i]}}) {
                    REQUIRE(e >= 0);
                    REQUIRE(e < U::kQK);
                    const size_t at = size_t(int64_t(blk) * U::kQK + e);
                    got[at] = v;
                    ++hits[at];
                }
            }
        }
    }
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
    if (rotated_type(type)) unrotate_row(got);
    CHECK(std::memcmp(got.data(), ref.data(), got.size() * sizeof(float)) == 0);
}

// A rotated type's three decoders on random valid blocks (quant/random_blocks.h: every bit pattern
// of the index planes, scale magnitudes and signs, moderate fp16 super-scales), 16-byte aligned as
// on the device: D::chunk (mul_mat's simple and tensor-core paths), D::elem (get_rows) and U::unit
// (the decode mat-vec kernel), each un-rotated, must equal quant/'s dequantize_row bit for bit.
template <typename D, typename U>
void check_rotated_random(Type type, int blocks, uint64_t seed, float max_scale) {
    INFO(core_name(type) << " blocks " << blocks << " seed " << seed << " max_scale " << max_scale);
    REQUIRE(rotated_type(type));
    REQUIRE(is_rotated_decoder<D>());
    REQUIRE(quant::traits(type).block_size == D::kQK);
    REQUIRE(int(quant::traits(type).block_bytes) == D::kBytes);
    REQUIRE(U::kQK == D::kQK);
    REQUIRE(U::kBytes == D::kBytes);
    const int64_t n = int64_t(D::kQK) * blocks;
    std::vector<uint4_words> storage((size_t(blocks) * D::kBytes + 15) / 16);
    uint8_t * q = reinterpret_cast<uint8_t *>(storage.data());
    quant::random_blocks(type, q, size_t(blocks) * D::kBytes, seed, max_scale);
    std::vector<float> ref(static_cast<size_t>(n));
    quant::traits(type).dequantize_row(q, ref.data(), n);
    REQUIRE(std::none_of(ref.begin(), ref.end(), [](float v) { return std::isnan(v); }));
    std::vector<float> by_chunk(static_cast<size_t>(n)), by_elem(static_cast<size_t>(n)),
        by_unit(static_cast<size_t>(n), std::nanf(""));
    for (int blk = 0; blk < blocks; ++blk) {
        const char * block = reinterpret_cast<const char *>(q) + int64_t(blk) * D::kBytes;
        float * base = by_chunk.data() + int64_t(blk) * D::kQK;
        for (int c = 0; c < D::kQK / 32; ++c) D::chunk(block, c, base + 32 * c);
        for (int e = 0; e < D::kQK; ++e) by_elem[size_t(int64_t(blk) * D::kQK + e)] = D::elem(block, e);
        for (int u = 0; u < U::kUnits; ++u) {
            float w[32];
            U::unit(block, u, w);
            for (int i = 0; i < 16; ++i) {
                by_unit[size_t(int64_t(blk) * U::kQK + U::lo(u) + i)] = w[i];
                by_unit[size_t(int64_t(blk) * U::kQK + U::hi(u) + i)] = w[16 + i];
            }
        }
    }
    for (auto * got : {&by_chunk, &by_elem, &by_unit}) unrotate_row(*got);
    CHECK(std::memcmp(by_chunk.data(), ref.data(), ref.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(by_elem.data(), ref.data(), ref.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(by_unit.data(), ref.data(), ref.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("cuda decoders: every block type decodes to quant/'s reference floats", "[cuda]") {
    for (int blocks : {1, 3}) {
        check_decoder<DecQ4_0>(Type::Q4_0, blocks * 2);
        check_decoder<DecQ4_1>(Type::Q4_1, blocks * 2);
        check_decoder<DecQ5_0>(Type::Q5_0, blocks * 2);
        check_decoder<DecQ5_1>(Type::Q5_1, blocks * 2);
        check_decoder<DecQ8_0>(Type::Q8_0, blocks * 2);
        check_decoder<DecIQ4_NL>(Type::IQ4_NL, blocks * 2);
        check_decoder<DecQ2_K>(Type::Q2_K, blocks);
        check_decoder<DecQ3_K>(Type::Q3_K, blocks);
        check_decoder<DecQ4_K>(Type::Q4_K, blocks);
        check_decoder<DecQ5_K>(Type::Q5_K, blocks);
        check_decoder<DecQ6_K>(Type::Q6_K, blocks);
        check_decoder<DecIQ4_XS>(Type::IQ4_XS, blocks);
        check_decoder<DecQT4>(Type::QT4, blocks);
        check_decoder<DecQT3>(Type::QT3, blocks);
        check_decoder<DecQT2>(Type::QT2, blocks);
    }
}

TEST_CASE("cuda decoders: float element loads equal quant/'s conversions", "[cuda]") {
    std::mt19937 rng(5);
    for (int i = 0; i < 4096; ++i) {
        const uint16_t h = uint16_t(rng());
        const float a = ElemF16::load(reinterpret_cast<const char *>(&h));
        const float b = quant::fp16_to_fp32(h);
        CHECK((std::memcmp(&a, &b, 4) == 0 || (a != a && b != b)));
        const float c = ElemBF16::load(reinterpret_cast<const char *>(&h));
        const float d = quant::bf16_to_fp32(h);
        CHECK(std::memcmp(&c, &d, 4) == 0);
    }
}

TEST_CASE("cuda decoders: encode_q8_0 writes quant/'s Q8_0 bytes (zeros, ties, large values)", "[cuda]") {
    for (int trial = 0; trial < 64; ++trial) {
        std::vector<float> x = gaussian(32, uint32_t(100 + trial), trial % 7 == 0 ? 1000.0f : 1.0f);
        if (trial == 1) std::fill(x.begin(), x.end(), 0.0f);
        if (trial == 2) {
            for (int j = 0; j < 32; ++j) x[size_t(j)] = float(j - 16) * 0.5f;  // many exact .5 ratios
        }
        quant::BlockQ8_0 ours{}, ref{};
        encode_q8_0(x.data(), &ours);
        quant::traits(Type::Q8_0).quantize_row(x.data(), &ref, 32, nullptr);
        INFO("trial " << trial);
        CHECK(std::memcmp(&ours, &ref, sizeof ours) == 0);
    }
}

TEST_CASE("cuda decoders: qt4_sign is the sign table of quant/'s rotation", "[cuda]") {
    // R e_i = H S e_i / 16, and row 0 of H is all ones, so (R e_i)[0] = S_i / 16.
    for (int i = 0; i < 256; ++i) {
        std::vector<float> e(256, 0.0f);
        e[size_t(i)] = 1.0f;
        quant::rotate_256(e.data());
        INFO("i " << i);
        CHECK(qt4_sign(i) == e[0] * 16.0f);
    }
}

TEST_CASE("cuda decoders: key_visible follows the kpos contract", "[cuda]") {
    // Without kpos slot j holds position j.
    CHECK(key_visible(3, 5, nullptr, true, 0));
    CHECK(key_visible(5, 5, nullptr, true, 0));
    CHECK_FALSE(key_visible(6, 5, nullptr, true, 0));
    CHECK(key_visible(6, 5, nullptr, false, 0));
    CHECK_FALSE(key_visible(2, 5, nullptr, true, 3));  // 5 - 2 = 3 is not < 3
    CHECK(key_visible(3, 5, nullptr, true, 3));
    // With kpos: ring order, empty slots (-1), window by position.
    const int32_t kpos[] = {10, 11, -1, 7, 8, 9};
    CHECK(key_visible(0, 10, kpos, true, 0));
    CHECK_FALSE(key_visible(1, 10, kpos, true, 0));
    CHECK_FALSE(key_visible(2, 10, kpos, false, 0));  // empty slot: never visible
    CHECK(key_visible(3, 10, kpos, true, 0));
    CHECK_FALSE(key_visible(3, 10, kpos, true, 3));   // 10 - 7 = 3
    CHECK(key_visible(4, 10, kpos, true, 3));
    CHECK(key_visible(1, 10, kpos, false, 3));        // non-causal: 10 - 11 < 3
}

TEST_CASE("cuda decoders: mat-vec units cover every element once, bit-exact to quant/", "[cuda]") {
    for (int blocks : {1, 2, 5}) {
        for (uint32_t seed : {11u, 12u}) {
            check_units<UnitQT4>(Type::QT4, blocks, seed);
            check_units<UnitQT3>(Type::QT3, blocks, seed);
            check_units<UnitQT2>(Type::QT2, blocks, seed);
            check_units<UnitQ4_K>(Type::Q4_K, blocks, seed);
            check_units<UnitQ4_0>(Type::Q4_0, blocks * 3, seed);
            check_units<UnitQ8_0>(Type::Q8_0, blocks * 3, seed);
        }
    }
}

TEST_CASE("cuda decoders: iq4_reg (register grid) equals quant::kIQ4Values", "[cuda]") {
    for (int q = 0; q < 16; ++q) {
        INFO("q " << q);
        CHECK(iq4_reg(q) == int(quant::kIQ4Values[q]));
        CHECK(iq4_reg(q) == iq4(q));
    }
}

TEST_CASE("cuda decoders: QUANTA_CUDA_MATVEC values (vec, simple, anything else invalid)", "[cuda]") {
    CHECK(parse_matvec_kernel(nullptr) == MatvecKernel::Vec);
    CHECK(parse_matvec_kernel("") == MatvecKernel::Vec);
    CHECK(parse_matvec_kernel("vec") == MatvecKernel::Vec);
    CHECK(parse_matvec_kernel("simple") == MatvecKernel::Simple);
    CHECK(parse_matvec_kernel("Simple") == MatvecKernel::Invalid);
    CHECK(parse_matvec_kernel("0") == MatvecKernel::Invalid);
    CHECK(parse_matvec_kernel("vec ") == MatvecKernel::Invalid);
}

TEST_CASE("cuda decoders: QT4 QT3 QT2 chunk, element and unit decoders on random valid blocks equal quant/", "[cuda]") {
    for (uint64_t seed : {1u, 2u, 3u}) {
        for (float max_scale : {1.0f, 1000.0f}) {
            check_rotated_random<DecQT4, UnitQT4>(Type::QT4, 4, seed, max_scale);
            check_rotated_random<DecQT3, UnitQT3>(Type::QT3, 4, seed, max_scale);
            check_rotated_random<DecQT2, UnitQT2>(Type::QT2, 4, seed, max_scale);
        }
    }
}

TEST_CASE("cuda decoders: the QT3 and QT2 register grids equal quant/'s levels", "[cuda]") {
    for (int q = 0; q < 8; ++q) {
        INFO("QT3 q " << q);
        CHECK(qt3_level(q) == int(quant::kQT3Levels[q]));
    }
    for (int q = 0; q < 4; ++q) {
        INFO("QT2 q " << q);
        CHECK(qt2_level(q) == int(quant::kQT2Levels[q]));
    }
}

TEST_CASE("cuda decoders: exactly the rotated types have rotated decoders", "[cuda]") {
    // matmul.cu registers a type's get_rows (un-rotating or not) by its decoder and rotates mul_mat's
    // activations by the type (quant/'s traits): the two must agree for every block type.
    CHECK(is_rotated_decoder<DecQT4>() == rotated_type(Type::QT4));
    CHECK(is_rotated_decoder<DecQT3>() == rotated_type(Type::QT3));
    CHECK(is_rotated_decoder<DecQT2>() == rotated_type(Type::QT2));
    CHECK(is_rotated_decoder<DecQ4_0>() == rotated_type(Type::Q4_0));
    CHECK(is_rotated_decoder<DecQ4_1>() == rotated_type(Type::Q4_1));
    CHECK(is_rotated_decoder<DecQ5_0>() == rotated_type(Type::Q5_0));
    CHECK(is_rotated_decoder<DecQ5_1>() == rotated_type(Type::Q5_1));
    CHECK(is_rotated_decoder<DecQ8_0>() == rotated_type(Type::Q8_0));
    CHECK(is_rotated_decoder<DecIQ4_NL>() == rotated_type(Type::IQ4_NL));
    CHECK(is_rotated_decoder<DecQ2_K>() == rotated_type(Type::Q2_K));
    CHECK(is_rotated_decoder<DecQ3_K>() == rotated_type(Type::Q3_K));
    CHECK(is_rotated_decoder<DecQ4_K>() == rotated_type(Type::Q4_K));
    CHECK(is_rotated_decoder<DecQ5_K>() == rotated_type(Type::Q5_K));
    CHECK(is_rotated_decoder<DecQ6_K>() == rotated_type(Type::Q6_K));
    CHECK(is_rotated_decoder<DecIQ4_XS>() == rotated_type(Type::IQ4_XS));
    CHECK(rotated_type(Type::QT4));
    CHECK(rotated_type(Type::QT3));
    CHECK(rotated_type(Type::QT2));
    CHECK_FALSE(rotated_type(Type::Q8_KH));  // the activation type itself is not a weight type
}
