// tests/fuzz/fuzz_common.h — what every reader fuzzer does with a file that opened: touch every
// byte range handed out (so ASan catches a bad view) and call the metadata getters.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "formats/metadata.h"
#include "formats/tensor_view.h"

namespace quanta::fuzz {

// Reads the first and last byte of each tensor; ASan reports any view outside the input.
inline uint64_t touch_tensors(const std::vector<formats::TensorView> & tensors) {
    uint64_t sum = 0;
    for (const auto & t : tensors) {
        if (t.size == 0) continue;
        const auto * p = static_cast<const volatile uint8_t *>(t.data);
        sum += p[0] + p[t.size - 1];
        sum += uint64_t(t.n_elements());
    }
    return sum;
}

// Exercises each getter on each key; errors are expected, crashes are findings.
inline uint64_t touch_metadata(const formats::Metadata & m) {
    uint64_t sum = 0;
    for (const auto & [key, v] : m.entries()) {
        sum += key.size();
        sum += m.get_int(key).ok() + m.get_float(key).ok() + m.get_string(key).ok() + m.get_bool(key).ok();
        if (auto a = m.get_int_array(key); a.ok()) sum += a->size();
        if (auto a = m.get_string_array(key); a.ok())
            for (auto s : *a) sum += s.size();
        if (auto a = m.get_array<float>(key); a.ok()) sum += a->size();
        if (auto a = m.get_array<bool>(key); a.ok()) sum += a->size();
        for (const auto & item : v.items) sum += item.count;
    }
    return sum;
}

}  // namespace quanta::fuzz
