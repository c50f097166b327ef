// tests/quant/test_gguf_parity.cpp — quanta decodes GGUF blocks exactly as gguf.quants does and
// encodes them bit for bit where gguf has an encoder (fixtures from make_quant_fixtures.py).
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "quant/fp.h"
#include "quant/legacy.h"
#include "quant/types.h"
#include "tests/support.h"

using namespace quanta;
using namespace quanta::quant;

namespace {

struct Fixture {
    uint32_t type_id = 0, n = 0, flags = 0;
    std::vector<float> input, decoded;
    std::vector<uint8_t> blocks;
};

bool load(const std::string & path, Fixture & f) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < 16 || std::memcmp(bytes.data(), "QFX1", 4) != 0) return false;
    std::memcpy(&f.type_id, bytes.data() + 4, 4);
    std::memcpy(&f.n, bytes.data() + 8, 4);
    std::memcpy(&f.flags, bytes.data() + 12, 4);
    const auto type = type_from_id(f.type_id);
    if (!type || f.n % traits(*type).block_size != 0) return false;
    const size_t nb = row_bytes(*type, f.n);
    const size_t need = 16 + ((f.flags & 1) ? 4 * size_t(f.n) : 0) + nb + 4 * size_t(f.n);
    if (bytes.size() != need) return false;
    size_t off = 16;
    if (f.flags & 1) {
        f.input.resize(f.n);
        std::memcpy(f.input.data(), bytes.data() + off, 4 * size_t(f.n));
        off += 4 * size_t(f.n);
    }
    f.blocks.assign(bytes.begin() + std::ptrdiff_t(off), bytes.begin() + std::ptrdiff_t(off + nb));
    off += nb;
    f.decoded.resize(f.n);
    std::memcpy(f.decoded.data(), bytes.data() + off, 4 * size_t(f.n));
    return true;
}

bool same_bits(float a, float b) { return f32_bits(a) == f32_bits(b); }

// ggml's round-to-nearest encoder for the types gguf can encode.
void gguf_encoder(Type t, const float * x, void * dst, int64_t n) {
    switch (t) {
        case Type::Q4_0: quantize_row_q4_0_rtn(x, dst, n); return;
        case Type::Q4_1: quantize_row_q4_1_rtn(x, dst, n); return;
        case Type::Q5_0: quantize_row_q5_0_rtn(x, dst, n); return;
        case Type::Q5_1: quantize_row_q5_1_rtn(x, dst, n); return;
        default: traits(t).quantize_row(x, dst, n, nullptr); return;  // F16, BF16, Q8_0: RTN already
    }
}

}  // namespace

TEST_CASE("GGUF blocks decode bit-exactly and encode bit-exactly where gguf encodes", "[quant][gguf]") {
    const char * names[] = {"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"};
    for (const char * name : names) {
        INFO(name);
        Fixture f;
        const std::string path = source_path(std::string("tests/fixtures/quant/") + name + ".bin");
        REQUIRE(load(path, f));
        const Type t = *type_from_id(f.type_id);
        REQUIRE(std::string(traits(t).name) == name);

        std::vector<float> y(f.n);
        traits(t).dequantize_row(f.blocks.data(), y.data(), f.n);
        int mismatches = 0;
        for (uint32_t i = 0; i < f.n; ++i) mismatches += same_bits(y[i], f.decoded[i]) ? 0 : 1;
        CHECK(mismatches == 0);

        if (f.flags & 1) {
            std::vector<uint8_t> enc(f.blocks.size());
            gguf_encoder(t, f.input.data(), enc.data(), f.n);
            size_t diff = 0;
            for (size_t i = 0; i < enc.size(); ++i) diff += enc[i] != f.blocks[i] ? 1 : 0;
            INFO("encoded bytes differing from gguf: " << diff << " of " << enc.size());
            CHECK(diff == 0);
        }
    }
}
