// formats/tensor_view.h — a tensor inside a mapped file, as every reader hands it out.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace quanta::formats {

constexpr uint32_t kMaxDims = 4;

// A zero-copy view of one tensor. `name` and `data` point into the reader's mapping and are valid
// while the reader lives. Shapes are ggml-style: ne[0] is the innermost (contiguous) dim; unused
// trailing dims are 1. `data` is aligned as the format promises (.qnt: the file's alignment,
// >= 64 bytes, relative to a page-aligned mapping; GGUF: general.alignment; safetensors: none).
struct TensorView {
    std::string_view name;
    Type type = Type::F32;
    uint32_t n_dims = 0;
    std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};
    const void * data = nullptr;
    uint64_t offset = 0;    // absolute byte offset of the data in its file
    uint64_t size = 0;      // bytes
    uint64_t checksum = 0;  // xxh3-64 of the bytes (.qnt only; 0 for other formats)
    uint32_t shard = 0;     // which file of a sharded checkpoint (safetensors only)

    int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

// "tensors 'a' and 'b' overlap" for the first two whose byte ranges [offset, offset + size)
// intersect (empty tensors never do), or "" when none do: every reader refuses such a file.
std::string overlap_error(const std::vector<TensorView> & tensors);

}  // namespace quanta::formats
