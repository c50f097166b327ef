// core/backend.cpp — defaults of the optional Backend slots; BoundTensor helpers.
#include "core/backend.h"

#include <string>

namespace quanta::core {

Result<BufferPtr> Backend::wrap_host(void * /*data*/, size_t bytes) {
    return Status::error(std::string(name()) + ": zero-copy wrap of " + std::to_string(bytes) +
                         " host bytes is not supported");
}

size_t BoundTensor::extent_bytes() const {
    const int64_t blk = type_block_size(type);
    size_t last = 0;
    for (int i = 0; i < kMaxDims; ++i) {
        const int64_t n = i == 0 ? ne[0] / blk : ne[size_t(i)];
        if (n > 1) last += size_t(n - 1) * size_t(nb[size_t(i)]);
    }
    return last + type_block_bytes(type);
}

}  // namespace quanta::core
