// formats/metadata.cpp — parsing and typed access of GGUF-style key/value metadata.
#include "formats/metadata.h"

#include <cstring>

namespace quanta::formats {

const char * value_type_name(ValueType t) {
    switch (t) {
        case ValueType::U8:
            return "u8";
        case ValueType::I8:
            return "i8";
        case ValueType::U16:
            return "u16";
        case ValueType::I16:
            return "i16";
        case ValueType::U32:
            return "u32";
        case ValueType::I32:
            return "i32";
        case ValueType::F32:
            return "f32";
        case ValueType::Bool:
            return "bool";
        case ValueType::String:
            return "string";
        case ValueType::Array:
            return "array";
        case ValueType::U64:
            return "u64";
        case ValueType::I64:
            return "i64";
        case ValueType::F64:
            return "f64";
    }
    return "unknown";
}

size_t value_type_size(ValueType t) {
    switch (t) {
        case ValueType::U8:
        case ValueType::I8:
        case ValueType::Bool:
            return 1;
        case ValueType::U16:
        case ValueType::I16:
            return 2;
        case ValueType::U32:
        case ValueType::I32:
        case ValueType::F32:
            return 4;
        case ValueType::U64:
        case ValueType::I64:
        case ValueType::F64:
            return 8;
        case ValueType::String:
        case ValueType::Array:
            return 0;
    }
    return 0;
}

bool is_integer_type(ValueType t) {
    switch (t) {
        case ValueType::U8:
        case ValueType::I8:
        case ValueType::U16:
        case ValueType::I16:
        case ValueType::U32:
        case ValueType::I32:
        case ValueType::U64:
        case ValueType::I64:
            return true;
        default:
            return false;
    }
}

namespace {

bool known_type(uint32_t t) {
    return t <= uint32_t(ValueType::F64);
}

int64_t decode_int(ValueType t, uint64_t bits) {
    switch (t) {
        case ValueType::I8:
            return int8_t(uint8_t(bits));
        case ValueType::I16:
            return int16_t(uint16_t(bits));
        case ValueType::I32:
            return int32_t(uint32_t(bits));
        case ValueType::I64:
            return int64_t(bits);
        default:
            return int64_t(bits);
    }
}

double decode_double(ValueType t, uint64_t bits) {
    if (t == ValueType::F32) {
        float f;
        const uint32_t b = uint32_t(bits);
        std::memcpy(&f, &b, 4);
        return f;
    }
    if (t == ValueType::F64) {
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
    }
    if (t == ValueType::U64) return double(bits);
    return double(decode_int(t, bits));
}

uint64_t load_bits(const uint8_t * p, size_t size) {
    uint64_t bits = 0;
    std::memcpy(&bits, p, size);  // little-endian host: low bytes first
    return bits;
}

}  // namespace

int64_t Value::as_int() const {
    return decode_int(type, scalar);
}
uint64_t Value::as_uint() const {
    return scalar;
}
double Value::as_double() const {
    return decode_double(type, scalar);
}
double Value::array_double(uint64_t i) const {
    const size_t s = value_type_size(elem_type);
    return decode_double(elem_type, load_bits(raw + i * s, s));
}
int64_t Value::array_int(uint64_t i) const {
    const size_t s = value_type_size(elem_type);
    return decode_int(elem_type, load_bits(raw + i * s, s));
}

Status parse_value(ByteReader & r, uint32_t type, Value & out, const ValueLimits & limits, int depth) {
    if (!known_type(type)) return r.error("unknown value type " + std::to_string(type));
    out.type = ValueType(type);
    if (out.type == ValueType::String)
        return r.read_string<uint64_t>(out.str, limits.max_string_bytes, false, "string value");
    if (out.type != ValueType::Array) {
        const size_t size = value_type_size(out.type);
        const uint8_t * p = nullptr;
        QUANTA_TRY(r.read_bytes(size, p, "scalar value"));
        out.scalar = load_bits(p, size);
        if (out.type == ValueType::Bool && out.scalar > 1)
            return r.error("bool value " + std::to_string(out.scalar) + " is not 0 or 1");
        return ok_status();
    }
    uint32_t elem = 0;
    QUANTA_TRY(r.read(elem, "array element type"));
    QUANTA_TRY(r.read(out.count, "array count"));
    if (!known_type(elem)) return r.error("array of unknown value type " + std::to_string(elem));
    out.elem_type = ValueType(elem);
    if (out.count > limits.max_array_count)
        return r.error("array count " + std::to_string(out.count) + " exceeds the limit " +
                       std::to_string(limits.max_array_count));
    if (out.elem_type == ValueType::String) {
        // Each string takes at least its 8-byte length: check before reserving.
        if (out.count > r.remaining() / 8)
            return r.error("array of " + std::to_string(out.count) + " strings cannot fit in the " +
                           std::to_string(r.remaining()) + " bytes left");
        out.strings.reserve(size_t(out.count));
        // A tight loop without a Status per element: vocabularies hold 100k+ strings and this loop
        // is most of the time spent opening a model.
        const uint8_t * p = r.cursor();
        uint64_t left = r.remaining();
        for (uint64_t i = 0; i < out.count; ++i) {
            uint64_t len = 0;
            if (left < 8) break;
            std::memcpy(&len, p, 8);
            if (len > limits.max_string_bytes || len > left - 8) break;
            out.strings.emplace_back(reinterpret_cast<const char *>(p + 8), size_t(len));
            p += 8 + len;
            left -= 8 + len;
        }
        QUANTA_TRY(r.skip(r.remaining() - left, "array strings"));
        if (out.strings.size() == out.count) return ok_status();
        // Stopped early: re-read the failing element through the checked path for its message.
        std::string_view s;
        QUANTA_TRY(r.read_string<uint64_t>(s, limits.max_string_bytes, false, "array string"));
        return r.error("array string " + std::to_string(out.strings.size()) + " is malformed");
    }
    if (out.elem_type == ValueType::Array) {
        if (depth + 1 > limits.max_depth)
            return r.error("arrays nested deeper than " + std::to_string(limits.max_depth));
        if (out.count > r.remaining() / 12)
            return r.error("array of " + std::to_string(out.count) + " arrays cannot fit in the " +
                           std::to_string(r.remaining()) + " bytes left");
        out.items.resize(size_t(out.count));
        for (auto & item : out.items) QUANTA_TRY(parse_value(r, uint32_t(ValueType::Array), item, limits, depth + 1));
        return ok_status();
    }
    uint64_t bytes = 0;
    if (!checked_mul(out.count, value_type_size(out.elem_type), bytes) || bytes > r.remaining())
        return r.error("array of " + std::to_string(out.count) + " " + value_type_name(out.elem_type) +
                       " cannot fit in the " + std::to_string(r.remaining()) + " bytes left");
    out.raw = r.cursor();
    return r.skip(bytes, "array data");
}

Status Metadata::add(std::string_view key, Value value) {
    if (index_.count(key) != 0) return Status::error(context_ + ": duplicate metadata key '" + printable(key) + "'");
    index_.emplace(key, entries_.size());
    entries_.emplace_back(key, std::move(value));
    return ok_status();
}

template <typename KeyLen>
Status parse_metadata_entries(ByteReader & r, uint64_t count, uint64_t max_key_bytes, const ValueLimits & limits,
                              Metadata & out) {
    for (uint64_t i = 0; i < count; ++i) {
        std::string_view key;
        QUANTA_TRY(r.read_string<KeyLen>(key, max_key_bytes, true, "metadata key"));
        if (key.empty()) return r.error("metadata entry " + std::to_string(i) + " has an empty key");
        uint32_t type = 0;
        QUANTA_TRY(r.read(type, "metadata value type"));
        Value value;
        Status st = parse_value(r, type, value, limits);
        if (!st.ok()) return Status::error(st.message() + " in metadata '" + printable(key) + "'");
        QUANTA_TRY(out.add(key, std::move(value)));
    }
    return ok_status();
}
template Status parse_metadata_entries<uint32_t>(ByteReader &, uint64_t, uint64_t, const ValueLimits &, Metadata &);
template Status parse_metadata_entries<uint64_t>(ByteReader &, uint64_t, uint64_t, const ValueLimits &, Metadata &);

const Value * Metadata::find(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
}

Result<const Value *> Metadata::get(std::string_view key, ValueType want) const {
    const Value * v = find(key);
    if (v == nullptr) return Status::error(context_ + ": metadata key '" + std::string(key) + "' not found");
    if (v->type != want)
        return Status::error(context_ + ": metadata key '" + std::string(key) + "' is " + value_type_name(v->type) +
                             ", expected " + value_type_name(want));
    return v;
}

#define QUANTA_EXACT_GETTER(name, T, VT)                         \
    Result<T> Metadata::get_##name(std::string_view key) const { \
        auto v = get(key, ValueType::VT);                        \
        if (!v.ok()) return v.status();                          \
        T out;                                                   \
        std::memcpy(&out, &(*v)->scalar, sizeof(T));             \
        return out;                                              \
    }
QUANTA_METADATA_NUMERIC_TYPES(QUANTA_EXACT_GETTER)
#undef QUANTA_EXACT_GETTER

Result<bool> Metadata::get_bool(std::string_view key) const {
    auto v = get(key, ValueType::Bool);
    if (!v.ok()) return v.status();
    return (*v)->scalar != 0;
}

Result<std::string_view> Metadata::get_string(std::string_view key) const {
    auto v = get(key, ValueType::String);
    if (!v.ok()) return v.status();
    return (*v)->str;
}

Result<int64_t> Metadata::get_int(std::string_view key) const {
    const Value * v = find(key);
    if (v == nullptr) return Status::error(context_ + ": metadata key '" + std::string(key) + "' not found");
    if (!is_integer_type(v->type))
        return Status::error(context_ + ": metadata key '" + std::string(key) + "' is " + value_type_name(v->type) +
                             ", expected an integer");
    if (v->type == ValueType::U64 && v->scalar > uint64_t(INT64_MAX))
        return Status::error(context_ + ": metadata key '" + std::string(key) + "' value " + std::to_string(v->scalar) +
                             " does not fit int64");
    return v->as_int();
}

Result<double> Metadata::get_float(std::string_view key) const {
    const Value * v = find(key);
    if (v == nullptr) return Status::error(context_ + ": metadata key '" + std::string(key) + "' not found");
    if (v->type != ValueType::F32 && v->type != ValueType::F64 && !is_integer_type(v->type))
        return Status::error(context_ + ": metadata key '" + std::string(key) + "' is " + value_type_name(v->type) +
                             ", expected a number");
    return v->as_double();
}

Result<const Value *> Metadata::get_array_of(std::string_view key, ValueType elem) const {
    auto v = get(key, ValueType::Array);
    if (!v.ok()) return v.status();
    if ((*v)->elem_type != elem)
        return Status::error(context_ + ": metadata key '" + std::string(key) + "' is an array of " +
                             value_type_name((*v)->elem_type) + ", expected " + value_type_name(elem));
    return *v;
}

template <typename T>
static constexpr ValueType value_type_of() {
    if constexpr (std::is_same_v<T, uint8_t>)
        return ValueType::U8;
    else if constexpr (std::is_same_v<T, int8_t>)
        return ValueType::I8;
    else if constexpr (std::is_same_v<T, uint16_t>)
        return ValueType::U16;
    else if constexpr (std::is_same_v<T, int16_t>)
        return ValueType::I16;
    else if constexpr (std::is_same_v<T, uint32_t>)
        return ValueType::U32;
    else if constexpr (std::is_same_v<T, int32_t>)
        return ValueType::I32;
    else if constexpr (std::is_same_v<T, uint64_t>)
        return ValueType::U64;
    else if constexpr (std::is_same_v<T, int64_t>)
        return ValueType::I64;
    else if constexpr (std::is_same_v<T, float>)
        return ValueType::F32;
    else if constexpr (std::is_same_v<T, double>)
        return ValueType::F64;
    else
        return ValueType::Bool;
}

template <typename T>
Result<std::vector<T>> Metadata::get_array(std::string_view key) const {
    auto v = get_array_of(key, value_type_of<T>());
    if (!v.ok()) return v.status();
    std::vector<T> out(size_t((*v)->count));
    if constexpr (std::is_same_v<T, bool>) {
        for (size_t i = 0; i < out.size(); ++i) out[i] = (*v)->raw[i] != 0;
    } else if (!out.empty()) {
        std::memcpy(out.data(), (*v)->raw, out.size() * sizeof(T));
    }
    return out;
}

template Result<std::vector<uint8_t>> Metadata::get_array<uint8_t>(std::string_view) const;
template Result<std::vector<int8_t>> Metadata::get_array<int8_t>(std::string_view) const;
template Result<std::vector<uint16_t>> Metadata::get_array<uint16_t>(std::string_view) const;
template Result<std::vector<int16_t>> Metadata::get_array<int16_t>(std::string_view) const;
template Result<std::vector<uint32_t>> Metadata::get_array<uint32_t>(std::string_view) const;
template Result<std::vector<int32_t>> Metadata::get_array<int32_t>(std::string_view) const;
template Result<std::vector<uint64_t>> Metadata::get_array<uint64_t>(std::string_view) const;
template Result<std::vector<int64_t>> Metadata::get_array<int64_t>(std::string_view) const;
template Result<std::vector<float>> Metadata::get_array<float>(std::string_view) const;
template Result<std::vector<double>> Metadata::get_array<double>(std::string_view) const;
template Result<std::vector<bool>> Metadata::get_array<bool>(std::string_view) const;

Result<std::vector<int64_t>> Metadata::get_int_array(std::string_view key) const {
    auto v = get(key, ValueType::Array);
    if (!v.ok()) return v.status();
    const Value & a = **v;
    if (!is_integer_type(a.elem_type))
        return Status::error(context_ + ": metadata key '" + std::string(key) + "' is an array of " +
                             value_type_name(a.elem_type) + ", expected integers");
    std::vector<int64_t> out(size_t(a.count));
    for (size_t i = 0; i < out.size(); ++i) {
        if (a.elem_type == ValueType::U64 && uint64_t(a.array_int(i)) > uint64_t(INT64_MAX))
            return Status::error(context_ + ": metadata key '" + std::string(key) + "' element " + std::to_string(i) +
                                 " does not fit int64");
        out[i] = a.array_int(i);
    }
    return out;
}

Result<std::vector<std::string_view>> Metadata::get_string_array(std::string_view key) const {
    auto v = get_array_of(key, ValueType::String);
    if (!v.ok()) return v.status();
    return (*v)->strings;
}

Result<uint64_t> Metadata::get_array_size(std::string_view key) const {
    auto v = get(key, ValueType::Array);
    if (!v.ok()) return v.status();
    return (*v)->count;
}

}  // namespace quanta::formats
