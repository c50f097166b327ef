// quant/random_blocks.cpp — random blocks for tests and benchmarks (contract in random_blocks.h).
#include "quant/random_blocks.h"

#include <cstddef>
#include <cstring>
#include <random>

#include "quant/fp.h"
#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/qt2.h"
#include "quant/qt3.h"
#include "quant/qt4.h"
#include "quant/status.h"

namespace quanta::quant {

std::vector<int> fp16_scale_offsets(Type type) {
    switch (type) {
        case Type::Q4_0: return {int(offsetof(BlockQ4_0, d))};
        case Type::Q5_0: return {int(offsetof(BlockQ5_0, d))};
        case Type::Q8_0: return {int(offsetof(BlockQ8_0, d))};
        case Type::IQ4_NL: return {int(offsetof(BlockIQ4_NL, d))};
        case Type::Q4_1: return {int(offsetof(BlockQ4_1, d)), int(offsetof(BlockQ4_1, m))};
        case Type::Q5_1: return {int(offsetof(BlockQ5_1, d)), int(offsetof(BlockQ5_1, m))};
        case Type::Q2_K: return {int(offsetof(BlockQ2_K, d)), int(offsetof(BlockQ2_K, dmin))};
        case Type::Q3_K: return {int(offsetof(BlockQ3_K, d))};
        case Type::Q4_K: return {int(offsetof(BlockQ4_K, d)), int(offsetof(BlockQ4_K, dmin))};
        case Type::Q5_K: return {int(offsetof(BlockQ5_K, d)), int(offsetof(BlockQ5_K, dmin))};
        case Type::Q6_K: return {int(offsetof(BlockQ6_K, d))};
        case Type::IQ4_XS: return {int(offsetof(BlockIQ4_XS, d))};
        case Type::QT4: return {int(offsetof(BlockQT4, d))};
        case Type::QT3: return {int(offsetof(BlockQT3, h) + offsetof(QtHeader, d))};
        case Type::QT2: return {int(offsetof(BlockQT2, d))};
        default: return {};
    }
}

void random_blocks(Type type, void * dst, size_t bytes, uint64_t seed, float max_scale) {
    const std::vector<int> offsets = fp16_scale_offsets(type);
    QUANTA_CHECK(!offsets.empty());
    const TypeTraits & t = traits(type);
    uint8_t * out = static_cast<uint8_t *>(dst);
    std::mt19937_64 rng(seed);
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        const uint64_t r = rng();
        std::memcpy(out + i, &r, 8);
    }
    for (; i < bytes; ++i) out[i] = uint8_t(rng());
    for (size_t b = 0; b < bytes / t.block_bytes; ++b) {
        for (int off : offsets) {
            const uint16_t h = fp32_to_fp16(0.001f + max_scale * float(rng() % 1000) / 1000.0f);
            std::memcpy(out + b * t.block_bytes + size_t(off), &h, 2);
        }
    }
}

}  // namespace quanta::quant
