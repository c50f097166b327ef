// core/tensor.h — a typed, strided view of bytes: the one data concept of the graph.
//
// Conventions used by every shape comment in quanta:
//   * Dim 0 is innermost (as in GGUF and ggml): a weight [n_embd, n_vocab] has n_vocab rows of
//     n_embd elements each. Unused trailing dims are 1.
//   * nb[] are byte strides. For a block-quantized type, dim 0 counts elements but steps in whole
//     blocks: nb[0] is the block's byte size and a view may only start or cut dim 0 at a block
//     boundary.
//   * A Tensor never owns bytes. It names a storage of a Graph (an external buffer: weights mapped
//     from the model file, inputs, the KV cache; or an intermediate the planner places) plus a byte
//     offset into it. Views (slice / reshape / permute / transpose) are new Tensors over the same
//     storage: no node, no copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "quant/status.h"
#include "quant/types.h"

namespace quanta::core {

inline constexpr int kMaxDims = 4;

// 32-bit integer tensors (token ids, positions, row indices) use ggml's I32 id. quant/types.def has
// no row for it (it is not a weight type), so core knows its size itself.
inline constexpr Type kI32 = Type(26);

// Sizes straight from quant/types.def (plus kI32), usable without the quant library's codecs.
bool type_known(Type type);
int64_t type_block_size(Type type);     // elements per block (1 for F32/F16/BF16/I32)
size_t type_block_bytes(Type type);     // bytes per block
std::string_view type_name(Type type);  // "Q4_K", "I32", "type(77)" for unknown ids
bool type_is_float(Type type);          // F32, F16, BF16: element-addressable, convertible
size_t type_row_bytes(Type type, int64_t n);  // n must be a multiple of the block size

// Four extents, dim 0 first. Built from a brace list of 1..4 values: {n_embd, n_tokens}.
struct Dims {
    std::array<int64_t, kMaxDims> v{1, 1, 1, 1};
    Dims() = default;
    Dims(std::initializer_list<int64_t> list);
    Dims(const std::array<int64_t, kMaxDims> & a) : v(a) {}
    int64_t & operator[](int i) { return v[size_t(i)]; }
    int64_t operator[](int i) const { return v[size_t(i)]; }
};

class GraphBuilder;

struct Tensor {
    Type type = Type::F32;
    std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};  // extents, dim 0 innermost
    std::array<int64_t, kMaxDims> nb{0, 0, 0, 0};  // byte strides
    int64_t offset = 0;                             // bytes from the start of the storage
    int32_t storage = -1;                           // the graph's storage id; -1: invalid tensor
    GraphBuilder * g = nullptr;                     // the builder that made it (for operators)

    bool valid() const { return storage >= 0; }
    int64_t nelements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    int64_t nrows() const { return ne[1] * ne[2] * ne[3]; }
    int n_dims() const;                 // highest dim with extent > 1, plus one (at least 1)
    bool rows_contiguous() const;       // dim 0 is packed (nb[0] == block bytes)
    bool is_contiguous() const;         // the whole tensor is packed in dim order
    int64_t extent_bytes() const;       // bytes from `offset` to one past the last byte touched
    std::string shape_str() const;      // "[64, 3, 1, 1] F32"
};

// A packed tensor of this type and shape at offset 0 of no storage yet.
Tensor packed_layout(Type type, const Dims & ne);

// Checks that a shape is usable for `type` (extents >= 1, dim 0 a multiple of the block size, the
// byte size representable). `what` names the object in the message.
Status check_shape(Type type, const Dims & ne, std::string_view what);

// View arithmetic (no storage change). Errors name the view and the values.
Result<Tensor> view_reshape(const Tensor & t, const Dims & ne);
// permute: source dim i goes to position axes[i] (ggml semantics); dim 0 of a quantized tensor
// must stay in place.
Result<Tensor> view_permute(const Tensor & t, std::array<int, kMaxDims> axes);
Result<Tensor> view_transpose(const Tensor & t);  // swaps dims 0 and 1
// [begin, end) of one dim; for dim 0 of a quantized type both ends must be block-aligned.
Result<Tensor> view_slice(const Tensor & t, int dim, int64_t begin, int64_t end);
// Explicit view: new extents and byte strides at an extra byte offset. Checked to stay within
// `storage_bytes` of the storage.
Result<Tensor> view_strided(const Tensor & t, const Dims & ne, const Dims & nb, int64_t extra_offset,
                            int64_t storage_bytes);

}  // namespace quanta::core
