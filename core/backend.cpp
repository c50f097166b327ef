// core/backend.cpp — defaults of the optional Backend slots.
#include "core/backend.h"

#include <string>

namespace quanta::core {

Result<BufferPtr> Backend::wrap_host(void * /*data*/, size_t bytes) {
    return Status::error(std::string(name()) + ": zero-copy wrap of " + std::to_string(bytes) +
                         " host bytes is not supported");
}

}  // namespace quanta::core
