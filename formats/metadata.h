// formats/metadata.h — typed key/value metadata, shared by the .qnt and GGUF readers.
//
// Values are views: strings and arrays point into the file's mapping, so a Metadata is only valid
// while the reader that produced it is alive. Value types use GGUF's numbering (both formats store
// them the same way; see docs/format.md). Getters check the key exists and the stored type matches,
// and say which key and which types otherwise.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "formats/bytes.h"
#include "quant/status.h"

namespace quanta::formats {

enum class ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
// The fixed-width numeric types as X(name, C++ type, ValueType), expanded into the typed Metadata
// getters and QntWriter adders (bool and string are written out apart).
#define QUANTA_METADATA_NUMERIC_TYPES(X) \
    X(u8, uint8_t, U8)                   \
    X(i8, int8_t, I8)                    \
    X(u16, uint16_t, U16)                \
    X(i16, int16_t, I16)                 \
    X(u32, uint32_t, U32)                \
    X(i32, int32_t, I32)                 \
    X(u64, uint64_t, U64)                \
    X(i64, int64_t, I64)                 \
    X(f32, float, F32)                   \
    X(f64, double, F64)

const char * value_type_name(ValueType t);
// Bytes of one element of a scalar type (0 for String and Array).
size_t value_type_size(ValueType t);
bool is_integer_type(ValueType t);

struct Value {
    ValueType type = ValueType::U8;
    uint64_t scalar = 0;   // scalar bits, little-endian, zero-extended (ints, floats, bool)
    std::string_view str;  // type String: raw bytes (usually UTF-8; not validated)
    // type Array:
    ValueType elem_type = ValueType::U8;
    uint64_t count = 0;
    const uint8_t * raw = nullptr;          // scalar elements, packed little-endian, maybe unaligned
    std::vector<std::string_view> strings;  // elem_type String
    std::vector<Value> items;               // elem_type Array (GGUF only)

    // Scalar accessors; the caller checks `type` first (these only reinterpret the bits).
    int64_t as_int() const;    // any integer type or bool, sign-extended where signed
    uint64_t as_uint() const;  // any unsigned integer type or bool
    double as_double() const;  // any scalar type
    // Element i of a scalar array as double / int64 (bounds and type checked by the caller).
    double array_double(uint64_t i) const;
    int64_t array_int(uint64_t i) const;
};

// Limits on parsing that stop hostile files (counts are also bounded by the bytes left).
struct ValueLimits {
    uint64_t max_string_bytes = uint64_t(1) << 30;
    uint64_t max_array_count = uint64_t(1) << 32;
    int max_depth = 0;  // nesting of arrays inside arrays (0: none, as in .qnt)
};

// Parses one value of `type` encoded as in GGUF/.qnt: scalars little-endian; String = u64 length +
// bytes; Array = u32 element type, u64 count, elements. Allocation is bounded by the bytes left.
Status parse_value(ByteReader & r, uint32_t type, Value & out, const ValueLimits & limits, int depth = 0);

class Metadata {
public:
    // `context` prefixes errors, e.g. "qnt 'model.qnt'".
    explicit Metadata(std::string context = "metadata") : context_(std::move(context)) {}

    // Fails on a duplicate key. `key` must outlive this object (it points into the mapping).
    Status add(std::string_view key, Value value);

    size_t size() const { return entries_.size(); }
    const std::vector<std::pair<std::string_view, Value>> & entries() const { return entries_; }
    const Value * find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Exact-type getters.
    Result<uint8_t> get_u8(std::string_view key) const;
    Result<int8_t> get_i8(std::string_view key) const;
    Result<uint16_t> get_u16(std::string_view key) const;
    Result<int16_t> get_i16(std::string_view key) const;
    Result<uint32_t> get_u32(std::string_view key) const;
    Result<int32_t> get_i32(std::string_view key) const;
    Result<uint64_t> get_u64(std::string_view key) const;
    Result<int64_t> get_i64(std::string_view key) const;
    Result<float> get_f32(std::string_view key) const;
    Result<double> get_f64(std::string_view key) const;
    Result<bool> get_bool(std::string_view key) const;
    Result<std::string_view> get_string(std::string_view key) const;

    // Lenient getters for hyperparameters, whose integer width differs between writers:
    // get_int accepts any integer type whose value fits int64; get_float accepts f32, f64 and integers.
    Result<int64_t> get_int(std::string_view key) const;
    Result<double> get_float(std::string_view key) const;

    // Arrays. get_array<T> needs the exact element type (T one of uint8_t ... double, bool);
    // get_int_array accepts any integer element type; get_string_array needs String elements.
    template <typename T>
    Result<std::vector<T>> get_array(std::string_view key) const;
    Result<std::vector<int64_t>> get_int_array(std::string_view key) const;
    Result<std::vector<std::string_view>> get_string_array(std::string_view key) const;
    // The element count of an array value.
    Result<uint64_t> get_array_size(std::string_view key) const;

private:
    Result<const Value *> get(std::string_view key, ValueType want) const;
    Result<const Value *> get_array_of(std::string_view key, ValueType elem) const;

    std::string context_;
    std::vector<std::pair<std::string_view, Value>> entries_;
    std::unordered_map<std::string_view, size_t> index_;
};

// Reads `count` metadata entries, each <key: KeyLen length + UTF-8 bytes><u32 value type><value>,
// into `out`. KeyLen is uint32_t in .qnt and uint64_t in GGUF; keys longer than `max_key_bytes`
// are rejected. Errors name the entry index (empty key) or the key (bad value).
template <typename KeyLen>
Status parse_metadata_entries(ByteReader & r, uint64_t count, uint64_t max_key_bytes, const ValueLimits & limits,
                              Metadata & out);
extern template Status parse_metadata_entries<uint32_t>(ByteReader &, uint64_t, uint64_t, const ValueLimits &,
                                                        Metadata &);
extern template Status parse_metadata_entries<uint64_t>(ByteReader &, uint64_t, uint64_t, const ValueLimits &,
                                                        Metadata &);

}  // namespace quanta::formats
