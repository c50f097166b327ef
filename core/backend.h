// core/backend.h — the narrow interface every compute backend implements (CPU, CUDA, Vulkan).
//
// Seven virtual functions plus the destructor. The executor (core/executor.h) owns scheduling,
// memory planning, fallback and cross-backend copies; a backend only allocates, moves bytes and
// runs the nodes it is given, in order.
//
// Ordering contract (so GPU backends may be asynchronous):
//   * run() may return before the work finishes; work on one backend executes in submission order
//     (one stream / queue).
//   * upload() is ordered after previously submitted work and returns once `src` has been consumed
//     (the caller may overwrite it immediately).
//   * download() is ordered after previously submitted work and returns when the bytes are in `dst`.
//   * sync() blocks until all submitted work is done and returns the first error of that work.
// Thread safety: one thread drives a backend at a time.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "core/graph.h"

namespace quanta::core {

class Backend;

// A backend allocation. Subclasses add device handles (CUdeviceptr, VkBuffer + memory). Owned by
// its creator through BufferPtr; must not outlive its backend.
class Buffer {
public:
    Buffer(Backend & owner, size_t size, void * host) : owner_(&owner), size_(size), host_(host) {}
    virtual ~Buffer() = default;
    Buffer(const Buffer &) = delete;
    Buffer & operator=(const Buffer &) = delete;

    Backend & backend() const { return *owner_; }
    size_t size() const { return size_; }
    // Host address of byte 0 when the bytes are host-addressable (CPU memory, mapped files,
    // unified memory); nullptr for device-only memory.
    void * host_data() const { return host_; }

private:
    Backend * owner_;
    size_t size_;
    void * host_;
};

using BufferPtr = std::unique_ptr<Buffer>;

// A tensor whose storage has been placed: layout plus the buffer and byte offset of the tensor's
// first byte (the tensor's own view offset included).
struct BoundTensor {
    Type type = Type::F32;
    std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};
    std::array<int64_t, kMaxDims> nb{0, 0, 0, 0};
    Buffer * buffer = nullptr;
    size_t offset = 0;

    // Host pointer to the first byte (CPU-style backends only).
    template <typename T = void>
    T * host() const {
        return reinterpret_cast<T *>(static_cast<char *>(buffer->host_data()) + offset);
    }
    int64_t nelements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    // Bytes from the first byte to one past the last byte the view touches.
    size_t extent_bytes() const;
    int64_t nrows() const { return ne[1] * ne[2] * ne[3]; }
};

// One node ready to run: the graph node (op, params, shapes) with every tensor placed.
struct BoundNode {
    const Node * node = nullptr;
    BoundTensor dst;
    std::array<BoundTensor, kMaxSrc> src{};
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual std::string_view name() const = 0;  // "cpu", "cuda:0", "vulkan:0"

    // Device memory of `bytes` (>= 1), aligned to at least 64 bytes. Fails with a Status naming the
    // backend and the size when the device is out of memory.
    virtual Result<BufferPtr> alloc(size_t bytes) = 0;

    // OPTIONAL: zero-copy use of host memory the caller keeps alive (an mmap'd model file).
    // The default says "not supported"; the caller then allocs and uploads.
    virtual Result<BufferPtr> wrap_host(void * data, size_t bytes);

    virtual Status upload(Buffer & dst, size_t offset, const void * src, size_t bytes) = 0;
    virtual Status download(const Buffer & src, size_t offset, void * dst, size_t bytes) = 0;

    // True when this backend has a kernel for the node's (op, types, params). Must be a table
    // lookup, cheap and without side effects; the executor falls back to the CPU when false.
    virtual bool supports(const Node & node) const = 0;

    // Runs the nodes in order (every one was accepted by supports()). Asynchronous allowed.
    virtual Status run(std::span<const BoundNode> nodes) = 0;

    virtual Status sync() = 0;
};

}  // namespace quanta::core
