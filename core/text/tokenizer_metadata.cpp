// core/text/tokenizer_metadata.cpp — TokenizerData from a file's typed metadata (GGUF or .qnt).
//
// Copies the tokenizer.* keys of a formats::Metadata into FlatMetadata (strings, f32, i32) and
// hands them to tokenizer_from_flat. Integer widths differ between writers (GGUF ids are u32,
// flags bool), so any integer or bool scalar/array becomes i32 when it fits; other types are
// refused with the key named.
#include "core/text/tokenizer_metadata.h"

#include <limits>

namespace quanta::text {

Result<FlatMetadata> flat_from_metadata(const formats::Metadata & md) {
    using formats::ValueType;
    FlatMetadata flat;
    const auto fits = [](int64_t v) { return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(); };
    for (const auto & [key, v] : md.entries()) {
        if (key.rfind("tokenizer.", 0) != 0) continue;
        const std::string k(key);
        if (v.type == ValueType::String) {
            flat.strings[k] = {std::string(v.str)};
        } else if (v.type == ValueType::F32 || v.type == ValueType::F64) {
            flat.f32[k] = {static_cast<float>(v.as_double())};
        } else if (formats::is_integer_type(v.type) || v.type == ValueType::Bool) {
            const int64_t x = v.as_int();
            if (!fits(x)) return Status::error("tokenizer metadata: '" + k + "' value " + std::to_string(x) + " does not fit i32");
            flat.i32[k] = {static_cast<int32_t>(x)};
        } else if (v.type == ValueType::Array) {
            if (v.elem_type == ValueType::String) {
                auto & out = flat.strings[k];
                out.reserve(v.strings.size());
                for (auto s : v.strings) out.emplace_back(s);
            } else if (v.elem_type == ValueType::F32 || v.elem_type == ValueType::F64) {
                auto & out = flat.f32[k];
                out.resize(v.count);
                for (uint64_t i = 0; i < v.count; ++i) out[i] = static_cast<float>(v.array_double(i));
            } else if (formats::is_integer_type(v.elem_type) || v.elem_type == ValueType::Bool) {
                auto & out = flat.i32[k];
                out.resize(v.count);
                for (uint64_t i = 0; i < v.count; ++i) {
                    const int64_t x = v.array_int(i);
                    if (!fits(x)) return Status::error("tokenizer metadata: '" + k + "'[" + std::to_string(i) + "] = " + std::to_string(x) + " does not fit i32");
                    out[i] = static_cast<int32_t>(x);
                }
            } else {
                return Status::error("tokenizer metadata: '" + k + "' is an array of " + formats::value_type_name(v.elem_type));
            }
        } else {
            return Status::error("tokenizer metadata: '" + k + "' has type " + formats::value_type_name(v.type));
        }
    }
    return flat;
}

Result<TokenizerData> tokenizer_from_metadata(const formats::Metadata & md) {
    auto flat = flat_from_metadata(md);
    if (!flat.ok()) return flat.status();
    std::string arch;
    if (md.has("general.architecture")) {
        auto a = md.get_string("general.architecture");
        if (!a.ok()) return a.status();
        arch = std::string(*a);
    }
    return tokenizer_from_flat(*flat, arch);
}

}  // namespace quanta::text
