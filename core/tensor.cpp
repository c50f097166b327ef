// core/tensor.cpp — type sizes from quant/types.def and the view arithmetic of Tensor.
#include "core/tensor.h"

#include <cstdio>

namespace quanta::core {

namespace {

struct TypeRow {
    Type type;
    const char * name;
    int64_t block;
    size_t bytes;
};

constexpr TypeRow kRows[] = {
#define QUANT_TYPE(name, id, block, bytes, dot_with, tol) {Type::name, #name, block, bytes},
#include "quant/types.def"
#undef QUANT_TYPE
    {kI32, "I32", 1, 4},
};

const TypeRow * find_row(Type type) {
    for (const TypeRow & r : kRows) {
        if (r.type == type) return &r;
    }
    return nullptr;
}

// Extents and byte sizes stay far below 2^62, so sums of products never overflow int64.
constexpr int64_t kMaxExtent = int64_t(1) << 40;
constexpr int64_t kMaxBytes = int64_t(1) << 50;

std::string dims_str(const Dims & d) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "[%lld, %lld, %lld, %lld]", (long long)d[0], (long long)d[1],
                  (long long)d[2], (long long)d[3]);
    return buf;
}

}  // namespace

Dims::Dims(std::initializer_list<int64_t> list) {
    int i = 0;
    for (int64_t x : list) {
        if (i < kMaxDims) v[size_t(i)] = x;
        ++i;
    }
    // More than four values is a programming error in model code, not untrusted input.
    QUANTA_CHECK(i >= 1 && i <= kMaxDims);
}

bool type_known(Type type) { return find_row(type) != nullptr; }

int64_t type_block_size(Type type) {
    const TypeRow * r = find_row(type);
    QUANTA_CHECK(r != nullptr);
    return r->block;
}

size_t type_block_bytes(Type type) {
    const TypeRow * r = find_row(type);
    QUANTA_CHECK(r != nullptr);
    return r->bytes;
}

std::string_view type_name(Type type) {
    const TypeRow * r = find_row(type);
    if (r) return r->name;
    static thread_local char buf[32];
    std::snprintf(buf, sizeof buf, "type(%u)", unsigned(type));
    return buf;
}

bool type_is_float(Type type) { return type == Type::F32 || type == Type::F16 || type == Type::BF16; }

size_t type_row_bytes(Type type, int64_t n) {
    const int64_t bs = type_block_size(type);
    QUANTA_CHECK(n % bs == 0);
    return size_t(n / bs) * type_block_bytes(type);
}

int Tensor::n_dims() const {
    for (int i = kMaxDims - 1; i > 0; --i) {
        if (ne[size_t(i)] > 1) return i + 1;
    }
    return 1;
}

bool Tensor::rows_contiguous() const { return nb[0] == int64_t(type_block_bytes(type)); }

bool Tensor::is_contiguous() const {
    if (!rows_contiguous()) return false;
    int64_t expect = int64_t(type_row_bytes(type, ne[0]));
    for (int i = 1; i < kMaxDims; ++i) {
        if (ne[size_t(i)] > 1 && nb[size_t(i)] != expect) return false;
        expect *= ne[size_t(i)];
    }
    return true;
}

int64_t Tensor::extent_bytes() const {
    const int64_t bs = type_block_size(type);
    int64_t last = (ne[0] / bs - 1) * nb[0] + int64_t(type_block_bytes(type));
    for (int i = 1; i < kMaxDims; ++i) last += (ne[size_t(i)] - 1) * nb[size_t(i)];
    return last;
}

std::string Tensor::shape_str() const {
    return dims_str(Dims(ne)) + " " + std::string(type_name(type));
}

Tensor packed_layout(Type type, const Dims & ne) {
    Tensor t;
    t.type = type;
    t.ne = ne.v;
    t.nb[0] = int64_t(type_block_bytes(type));
    t.nb[1] = int64_t(type_row_bytes(type, ne[0]));
    t.nb[2] = t.nb[1] * ne[1];
    t.nb[3] = t.nb[2] * ne[2];
    return t;
}

Status check_shape(Type type, const Dims & ne, std::string_view what) {
    if (!type_known(type)) {
        return Status::error("core: " + std::string(what) + ": unknown tensor type id " + std::to_string(unsigned(type)));
    }
    int64_t total = 1;
    for (int i = 0; i < kMaxDims; ++i) {
        if (ne[i] < 1 || ne[i] > kMaxExtent) {
            return Status::error("core: " + std::string(what) + ": extent " + std::to_string(ne[i]) + " of dim " +
                                 std::to_string(i) + " out of range in " + dims_str(ne));
        }
        total *= ne[i];
        if (total > kMaxExtent * 16) {
            return Status::error("core: " + std::string(what) + ": too many elements in " + dims_str(ne));
        }
    }
    const int64_t bs = type_block_size(type);
    if (ne[0] % bs != 0) {
        return Status::error("core: " + std::string(what) + ": dim 0 extent " + std::to_string(ne[0]) +
                             " is not a multiple of the " + std::string(type_name(type)) + " block size " +
                             std::to_string(bs));
    }
    if (total / bs * int64_t(type_block_bytes(type)) > kMaxBytes) {
        return Status::error("core: " + std::string(what) + ": " + dims_str(ne) + " is too large");
    }
    return ok_status();
}

Result<Tensor> view_reshape(const Tensor & t, const Dims & ne) {
    QUANTA_TRY(check_shape(t.type, ne, "reshape"));
    if (!t.is_contiguous()) {
        return Status::error("core: reshape of a non-contiguous tensor " + t.shape_str() + " (copy it first)");
    }
    const int64_t n = ne[0] * ne[1] * ne[2] * ne[3];
    if (n != t.nelements()) {
        return Status::error("core: reshape " + t.shape_str() + " to " + dims_str(ne) + ": element counts differ (" +
                             std::to_string(t.nelements()) + " vs " + std::to_string(n) + ")");
    }
    Tensor out = packed_layout(t.type, ne);
    out.offset = t.offset;
    out.storage = t.storage;
    out.g = t.g;
    return out;
}

Result<Tensor> view_permute(const Tensor & t, std::array<int, kMaxDims> axes) {
    bool seen[kMaxDims] = {false, false, false, false};
    for (int a : axes) {
        if (a < 0 || a >= kMaxDims || seen[a]) {
            return Status::error("core: permute: axes must be a permutation of 0..3");
        }
        seen[a] = true;
    }
    if (type_block_size(t.type) > 1 && axes[0] != 0) {
        return Status::error("core: permute: dim 0 of a block-quantized tensor " + t.shape_str() + " cannot move");
    }
    Tensor out = t;
    for (int i = 0; i < kMaxDims; ++i) {
        out.ne[size_t(axes[size_t(i)])] = t.ne[size_t(i)];
        out.nb[size_t(axes[size_t(i)])] = t.nb[size_t(i)];
    }
    return out;
}

Result<Tensor> view_transpose(const Tensor & t) { return view_permute(t, {1, 0, 2, 3}); }

Result<Tensor> view_slice(const Tensor & t, int dim, int64_t begin, int64_t end) {
    if (dim < 0 || dim >= kMaxDims) return Status::error("core: slice: dim " + std::to_string(dim) + " out of range");
    if (begin < 0 || end > t.ne[size_t(dim)] || begin >= end) {
        return Status::error("core: slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") of dim " +
                             std::to_string(dim) + " of " + t.shape_str() + " is out of range or empty");
    }
    Tensor out = t;
    // dim 0 strides count blocks; element-addressable types have blocks of one.
    const int64_t bs = dim == 0 ? type_block_size(t.type) : 1;
    if (begin % bs != 0 || end % bs != 0) {
        return Status::error("core: slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") of dim 0 of " +
                             t.shape_str() + " is not aligned to the block size " + std::to_string(bs));
    }
    out.ne[size_t(dim)] = end - begin;
    out.offset = t.offset + begin / bs * t.nb[size_t(dim)];
    return out;
}

Result<Tensor> view_strided(const Tensor & t, const Dims & ne, const Dims & nb, int64_t extra_offset,
                            int64_t storage_bytes) {
    QUANTA_TRY(check_shape(t.type, ne, "view"));
    Tensor out = t;
    out.ne = ne.v;
    out.nb = nb.v;
    out.offset = t.offset + extra_offset;
    for (int i = 0; i < kMaxDims; ++i) {
        if (nb[i] < 0 || nb[i] > kMaxBytes) return Status::error("core: view: stride " + std::to_string(nb[i]) + " out of range");
    }
    if (extra_offset < 0 || out.offset < 0 || out.offset + out.extent_bytes() > storage_bytes) {
        return Status::error("core: view " + out.shape_str() + " at offset " + std::to_string(out.offset) +
                             " overruns its storage of " + std::to_string(storage_bytes) + " bytes");
    }
    return out;
}

}  // namespace quanta::core
