// formats/tensor_view.cpp — checks on a reader's tensor directory.
#include "formats/tensor_view.h"

#include <algorithm>

#include "formats/bytes.h"

namespace quanta::formats {

std::string overlap_error(const std::vector<TensorView> & tensors) {
    // Sorted by offset, only neighbours can be the first overlap. An empty tensor (safetensors
    // allows shape [0]) covers no bytes and overlaps nothing.
    std::vector<size_t> order;
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (tensors[i].size > 0) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
    for (size_t i = 1; i < order.size(); ++i) {
        const TensorView & a = tensors[order[i - 1]];
        const TensorView & b = tensors[order[i]];
        if (a.offset + a.size > b.offset) return "tensors '" + printable(a.name) + "' and '" + printable(b.name) + "' overlap";
    }
    return {};
}

}  // namespace quanta::formats
