// formats/bytes.h — bounds-checked little-endian parsing shared by the three readers.
//
// Every read goes through ByteReader, which checks the remaining length before touching memory
// and reports the file name, the object being read and the byte offset on failure. Arithmetic on
// untrusted sizes uses the checked_* helpers (false on overflow). Nothing here allocates by an
// untrusted size.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "quant/status.h"
#include "quant/types.h"

namespace quanta::formats {

inline bool checked_add(uint64_t a, uint64_t b, uint64_t & out) {
    return !__builtin_add_overflow(a, b, &out);
}
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t & out) {
    return !__builtin_mul_overflow(a, b, &out);
}
inline bool is_pow2(uint64_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}
// Rounds up to a multiple of `align` (a power of two); false on overflow.
inline bool checked_align_up(uint64_t x, uint64_t align, uint64_t & out) {
    if (!checked_add(x, align - 1, out)) return false;
    out &= ~(align - 1);
    return true;
}

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s);

// Renders an untrusted name for an error message: printable ASCII kept, the rest escaped, cut at
// 80 characters, so a hostile name cannot flood or garble a terminal.
std::string printable(std::string_view s);

// Storage facts of a tensor type, straight from quant/types.def (no link-time dependency).
struct TypeSize {
    Type type;
    const char * name;
    uint64_t block_size;   // elements per block
    uint64_t block_bytes;  // bytes per block
};
std::optional<TypeSize> type_size_from_id(uint32_t id);
std::optional<TypeSize> type_size_from_name(std::string_view name);  // exact, as in types.def
const char * type_name(Type type);

// Bytes of a tensor with `n_dims` dims (dim 0 innermost). Fails with `context` when a dim is 0,
// dim 0 is not a multiple of the block size, or the product overflows.
Result<uint64_t> tensor_bytes(const TypeSize & ts, std::span<const uint64_t> dims, const std::string & context);

class ByteReader {
public:
    // `base` is the offset of bytes[0] within the file, used only for messages.
    ByteReader(std::span<const uint8_t> bytes, std::string context, uint64_t base = 0)
        : bytes_(bytes), context_(std::move(context)), base_(base) {}

    uint64_t pos() const { return pos_; }
    uint64_t file_pos() const { return base_ + pos_; }
    uint64_t remaining() const { return bytes_.size() - pos_; }
    const uint8_t * cursor() const { return bytes_.data() + pos_; }
    const std::string & context() const { return context_; }

    // An error naming the context, `what`, and the current file offset.
    Status error(const std::string & what) const;

    Status skip(uint64_t n, const char * what);
    Status read_bytes(uint64_t n, const uint8_t *& out, const char * what);
    template <typename T>
    Status read(T & out, const char * what) {
        const uint8_t * p = nullptr;
        QUANTA_TRY(read_bytes(sizeof(T), p, what));
        std::memcpy(&out, p, sizeof(T));  // little-endian hosts only (checked in bytes.cpp)
        return ok_status();
    }
    // A string stored as <length><bytes>, Len = uint32_t or uint64_t. Checks the length against
    // `max_len` and the remaining bytes, and that it is valid UTF-8 when `utf8` is set.
    template <typename Len>
    Status read_string(std::string_view & out, uint64_t max_len, bool utf8, const char * what) {
        Len len{};
        QUANTA_TRY(read(len, what));
        return read_string_body(uint64_t(len), out, max_len, utf8, what);
    }

private:
    Status read_string_body(uint64_t len, std::string_view & out, uint64_t max_len, bool utf8, const char * what);

    std::span<const uint8_t> bytes_;
    std::string context_;
    uint64_t base_ = 0;
    uint64_t pos_ = 0;
};

}  // namespace quanta::formats
