// formats/bytes.cpp — bounds-checked parsing helpers, UTF-8 validation, type sizes.
#include "formats/bytes.h"

#include <bit>

namespace quanta::formats {

static_assert(std::endian::native == std::endian::little, "quanta's file formats are read on little-endian hosts");

bool valid_utf8(std::string_view s) {
    const auto * p = reinterpret_cast<const unsigned char *>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        const unsigned c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else
            return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

std::string printable(std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (out.size() >= 80) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            out += char(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

namespace {

constexpr TypeSize kTypeSizes[] = {
#define QUANT_TYPE(name, id, block, bytes, dot_with, tol) {Type::name, #name, block, bytes},
#include "quant/types.def"
#undef QUANT_TYPE
};

}  // namespace

std::optional<TypeSize> type_size_from_id(uint32_t id) {
    for (const auto & t : kTypeSizes)
        if (uint32_t(t.type) == id) return t;
    return std::nullopt;
}

std::optional<TypeSize> type_size_from_name(std::string_view name) {
    for (const auto & t : kTypeSizes)
        if (name == t.name) return t;
    return std::nullopt;
}

const char * type_name(Type type) {
    for (const auto & t : kTypeSizes)
        if (t.type == type) return t.name;
    return "?";
}

Result<uint64_t> tensor_bytes(const TypeSize & ts, std::span<const uint64_t> dims, const std::string & context) {
    if (dims.empty()) return Status::error(context + ": no dims");
    uint64_t n_rows = 1;
    for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] == 0) return Status::error(context + ": dim " + std::to_string(i) + " is 0");
        if (i > 0 && !checked_mul(n_rows, dims[i], n_rows))
            return Status::error(context + ": element count overflows 64 bits");
    }
    if (dims[0] % ts.block_size != 0)
        return Status::error(context + ": dim 0 (" + std::to_string(dims[0]) + ") is not a multiple of the " + ts.name +
                             " block size " + std::to_string(ts.block_size));
    uint64_t row = 0, total = 0, n_elem = 0;
    if (!checked_mul(dims[0] / ts.block_size, ts.block_bytes, row) || !checked_mul(row, n_rows, total) ||
        !checked_mul(dims[0], n_rows, n_elem) || n_elem > uint64_t(INT64_MAX))
        return Status::error(context + ": byte size overflows 64 bits");
    return total;
}

Status ByteReader::error(const std::string & what) const {
    return Status::error(context_ + ": " + what + " (at byte " + std::to_string(file_pos()) + ")");
}

Status ByteReader::skip(uint64_t n, const char * what) {
    if (n > remaining())
        return error(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
                     std::to_string(remaining()) + " left");
    pos_ += n;
    return ok_status();
}

Status ByteReader::read_bytes(uint64_t n, const uint8_t *& out, const char * what) {
    const uint64_t at = pos_;
    QUANTA_TRY(skip(n, what));
    out = bytes_.data() + at;
    return ok_status();
}

Status ByteReader::read_string_body(uint64_t len, std::string_view & out, uint64_t max_len, bool utf8,
                                    const char * what) {
    if (len > max_len)
        return error(std::string(what) + " length " + std::to_string(len) + " exceeds the limit " +
                     std::to_string(max_len));
    const uint8_t * p = nullptr;
    QUANTA_TRY(read_bytes(len, p, what));
    out = std::string_view(reinterpret_cast<const char *>(p), size_t(len));
    if (utf8 && !valid_utf8(out)) return error(std::string(what) + " '" + printable(out) + "' is not valid UTF-8");
    return ok_status();
}

}  // namespace quanta::formats
