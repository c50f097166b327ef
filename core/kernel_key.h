// core/kernel_key.h — the key every backend's kernel table is indexed by: a node's op and the
// types of its destination and first two sources (STYLE.md §3: supports() is a table lookup).
#pragma once

#include <cstdint>

#include "core/graph.h"

namespace quanta::core {

// The source type of a key when the node has no such source.
inline constexpr Type kNone = Type(0xFFFF);

inline uint64_t kernel_key(Op op, Type dst, Type src0, Type src1) {
    return (uint64_t(op) << 48) | (uint64_t(uint32_t(dst) & 0xFFFF) << 32) | (uint64_t(uint32_t(src0) & 0xFFFF) << 16) |
           uint64_t(uint32_t(src1) & 0xFFFF);
}

inline uint64_t kernel_key(const Node & node) {
    return kernel_key(node.op, node.dst.type, node.n_src > 0 ? node.src[0].type : kNone,
                      node.n_src > 1 ? node.src[1].type : kNone);
}

// The op a key was made from.
inline Op kernel_key_op(uint64_t key) { return Op(key >> 48); }

}  // namespace quanta::core
