// backends/cuda/ops/repack.cu — the repack kernels (one thread per 16-byte code unit, one per meta
// row, both calling mma_layout.h's gathers, which tests/backends/cuda/host/test_cuda_repack.cpp
// checks on the host) and RepackCache (repack.h). NOT RUN on a GPU yet (no device in the session
// that wrote it).
#include "backends/cuda/ops/repack.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>

#include "backends/cuda/ops/mma_layout.h"

namespace quanta::backends::cuda {

namespace {

bool env_off(const char * name) {
    const char * v = std::getenv(name);
    return v && v[0] == '0' && v[1] == '\0';
}

// Unit (tile, kc, lane) = thread index over [tiles][units_per_tile][32].
template <typename R>
__global__ void k_repack_units(const char * rows, int64_t row_stride, int64_t N, RpMatrix m, char * dst) {
    const int64_t count = m.tiles * m.units_per_tile * 32;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
        const int lane = int(i % 32);
        const int64_t kc = (i / 32) % m.units_per_tile, tile = i / (32 * m.units_per_tile);
        alignas(16) uint8_t out[kRpUnitBytes];
        rp_gather_unit<R>(rows, row_stride, N, tile, kc, lane, out);
        *reinterpret_cast<uint4 *>(dst + m.unit_offset(tile, kc, lane)) = *reinterpret_cast<const uint4 *>(out);
    }
}

// Meta row (tile, mb, r) = thread index over [tiles][blocks_per_row][16].
template <typename R>
__global__ void k_repack_meta(const char * rows, int64_t row_stride, int64_t N, RpMatrix m, char * dst) {
    const int64_t count = m.tiles * m.blocks_per_row * kRpTileRows;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
        const int r = int(i % kRpTileRows);
        const int64_t mb = (i / kRpTileRows) % m.blocks_per_row, tile = i / (kRpTileRows * m.blocks_per_row);
        uint8_t out[R::kMetaBytes];
        rp_gather_meta<R>(rows, row_stride, N, tile, mb, r, out);
        uint8_t * p = reinterpret_cast<uint8_t *>(dst + m.meta_offset(tile, mb, r));
        for (int b = 0; b < R::kMetaBytes; ++b) p[b] = out[b];
    }
}

template <typename R>
size_t matrix_bytes(const BoundTensor & t) {
    return size_t(rp_matrix<R>(t.ne[0], t.ne[1]).bytes);
}

// Every weight batch (i2, i3) of t into dst + (i3 * ne2 + i2) * matrix bytes.
template <typename R>
void launch_repack(const BoundTensor & t, char * dst, cudaStream_t stream) {
    const RpMatrix m = rp_matrix<R>(t.ne[0], t.ne[1]);
    const char * src = dev_ptr(t);
    for (int64_t i3 = 0; i3 < t.ne[3]; ++i3) {
        for (int64_t i2 = 0; i2 < t.ne[2]; ++i2) {
            const char * rows = src + i2 * t.nb[2] + i3 * t.nb[3];
            char * out = dst + (i3 * t.ne[2] + i2) * m.bytes;
            k_repack_units<R><<<grid_for(m.tiles * m.units_per_tile * 32, 256), 256, 0, stream>>>(rows, t.nb[1], t.ne[1], m, out);
            k_repack_meta<R><<<grid_for(m.tiles * m.blocks_per_row * kRpTileRows, 256), 256, 0, stream>>>(rows, t.nb[1], t.ne[1],
                                                                                                          m, out);
        }
    }
}

// The per-type functions, by weight type (the one place that maps a Type to its layout).
struct RepackFns {
    size_t (*bytes)(const BoundTensor &);
    void (*launch)(const BoundTensor &, char *, cudaStream_t);
};

template <typename R>
constexpr RepackFns fns_of() {
    return {matrix_bytes<R>, launch_repack<R>};
}

const RepackFns * repack_fns(Type type) {
    static constexpr RepackFns kQT4 = fns_of<RpQT4>(), kQ4_K = fns_of<RpQ4_K>(), kQ4_0 = fns_of<RpQ4_0>(),
                               kQ8_0 = fns_of<RpQ8_0>();
    if (type == Type::QT4) return &kQT4;
    if (type == Type::Q4_K) return &kQ4_K;
    if (type == Type::Q4_0) return &kQ4_0;
    if (type == Type::Q8_0) return &kQ8_0;
    return nullptr;
}

bool same_view(const BoundTensor & t, Type type, const std::array<int64_t, 4> & ne, const std::array<int64_t, 4> & nb) {
    for (size_t i = 0; i < 4; ++i) {
        if (t.ne[i] != ne[i] || t.nb[i] != nb[i]) return false;
    }
    return t.type == type;
}

}  // namespace

bool mma_enabled() {
    static const bool enabled = !env_off("QUANTA_CUDA_MMA");
    return enabled;
}

bool repack_type(Type type) { return repack_fns(type) != nullptr; }

bool repack_wanted(const BoundNode & n) {
    static const bool enabled = mma_enabled() && !env_off("QUANTA_CUDA_REPACK");
    if (!enabled || n.node->op != core::Op::MulMat || !repack_type(n.src[0].type)) return false;
    const BoundTensor & w = n.src[0];
    const BoundTensor & x = n.src[1];
    return x.ne[1] > kDecodeColumns && rp_k_ok(w.ne[0]) && w.ne[1] <= int64_t(65535) * 128;
}

size_t repacked_bytes(const BoundTensor & t) {
    const RepackFns * f = repack_fns(t.type);
    return f ? f->bytes(t) * size_t(t.ne[2] * t.ne[3]) : 0;
}

RepackCache::~RepackCache() {
    for (auto & kv : entries_) cudaFree(kv.second.copy);
}

const char * RepackCache::find(const BoundTensor & t) const {
    const auto range = entries_.equal_range(reinterpret_cast<uintptr_t>(dev_ptr(t)));
    for (auto it = range.first; it != range.second; ++it) {
        if (same_view(t, it->second.type, it->second.ne, it->second.nb)) return it->second.copy;
    }
    return nullptr;
}

bool RepackCache::make(const BoundTensor & t, cudaStream_t stream) {
    const RepackFns * f = repack_fns(t.type);
    if (!f || full_ || find(t)) return false;
    const size_t bytes = repacked_bytes(t);
    char * copy = nullptr;
    // Leave kRepackReserve free: the copies must not take the memory the driver needs later (lazy
    // module loading at the first launch of a kernel, local memory for spills, graph instantiation).
    size_t free_b = 0, total_b = 0;
    cudaError_t err = cudaMemGetInfo(&free_b, &total_b);
    if (err == cudaSuccess && (free_b < kRepackReserve || free_b - kRepackReserve < bytes)) err = cudaErrorMemoryAllocation;
    if (err == cudaSuccess) err = cudaMalloc(reinterpret_cast<void **>(&copy), bytes);
    if (err != cudaSuccess) {
        cudaGetLastError();
        full_ = true;
        if (!warned_) {
            warned_ = true;
            std::fprintf(stderr,
                         "quanta: cuda: no device memory for a repacked weight copy (%zu MiB, keeping 1 GiB free; %zu MiB already repacked): "
                         "no more copies are made; prompt mul_mat uses the unrepacked tensor-core kernel where they are missing\n",
                         (bytes + (1u << 20) - 1) >> 20, (bytes_ + (1u << 20) - 1) >> 20);
        }
        return false;
    }
    f->launch(t, copy, stream);
    Entry e;
    e.src_bytes = t.extent_bytes();
    e.type = t.type;
    for (size_t i = 0; i < 4; ++i) {
        e.ne[i] = t.ne[i];
        e.nb[i] = t.nb[i];
    }
    e.copy = copy;
    e.bytes = bytes;
    entries_.emplace(reinterpret_cast<uintptr_t>(dev_ptr(t)), e);
    max_src_bytes_ = std::max(max_src_bytes_, e.src_bytes);
    bytes_ += bytes;
    ++made_;
    return true;
}

bool RepackCache::forget(const char * p, size_t bytes, cudaStream_t stream) {
    if (entries_.empty() || bytes == 0) return false;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(p), end = begin + bytes;
    // Candidates start within max_src_bytes_ before `begin` and before `end`.
    auto it = entries_.lower_bound(begin > max_src_bytes_ ? begin - max_src_bytes_ : 0);
    bool synced = false, dropped = false;
    while (it != entries_.end() && it->first < end) {
        if (it->first + it->second.src_bytes > begin) {
            if (!synced) {
                cudaStreamSynchronize(stream);  // a launched kernel may still read the copy
                synced = true;
            }
            cudaFree(it->second.copy);
            bytes_ -= it->second.bytes;
            it = entries_.erase(it);
            dropped = true;
        } else {
            ++it;
        }
    }
    return dropped;
}

void RepackCache::clear(cudaStream_t stream) {
    if (entries_.empty()) return;
    cudaStreamSynchronize(stream);
    for (auto & kv : entries_) cudaFree(kv.second.copy);
    entries_.clear();
    bytes_ = 0;
    max_src_bytes_ = 0;
}

}  // namespace quanta::backends::cuda
