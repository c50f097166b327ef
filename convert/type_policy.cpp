#include "convert/type_policy.h"

#include <algorithm>
#include <cctype>

namespace quanta::convert {

namespace {

struct Mix { const char * name; Type base, more, output, embed; };
// ref: llama.cpp llama_tensor_get_type (the _M/_S recipes), simplified to the tensors we carry.
constexpr Mix kMixes[] = {
    {"q3_k_m", Type::Q3_K, Type::Q5_K, Type::Q6_K, Type::Q3_K},
    {"q4_k_s", Type::Q4_K, Type::Q5_K, Type::Q6_K, Type::Q4_K},
    {"q4_k_m", Type::Q4_K, Type::Q6_K, Type::Q6_K, Type::Q4_K},
    {"q5_k_m", Type::Q5_K, Type::Q6_K, Type::Q6_K, Type::Q5_K},
};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

// ref: llama.cpp use_more_bits: the first and last eighth of the layers, and every third between.
bool more_bits_layer(int64_t il, int64_t n_layer) {
    return il < n_layer / 8 || il >= 7 * n_layer / 8 || (il - n_layer / 8) % 3 == 2;
}

}  // namespace

std::string type_policy_choices() {
    std::string out = "keep (GGUF only)";
    for (const quant::TypeTraits & t : quant::all_types()) {
        if (!t.activation_only) out += ", " + lower(t.name);
    }
    for (const Mix & m : kMixes) out += ", " + std::string(m.name);
    return out;
}

Result<TypePolicy> parse_type_policy(std::string_view name) {
    TypePolicy p;
    p.name = lower(name);
    if (p.name == "keep") {
        p.keep = true;
        return p;
    }
    for (const Mix & m : kMixes) {
        if (p.name == m.name) {
            p.mix = true;
            p.base = m.base;
            p.more = m.more;
            p.output = m.output;
            p.embed = m.embed;
            return p;
        }
    }
    auto t = quant::type_from_name(name);
    if (!t || quant::traits(*t).activation_only) {
        return Status::error("unknown --type '" + std::string(name) + "'; choose one of: " + type_policy_choices());
    }
    p.base = p.more = p.output = p.embed = *t;
    return p;
}

Type fit_row(Type want, int64_t ncols) {
    if (ncols % quant::traits(want).block_size == 0) return want;
    Type fallback = Type::F16;
    switch (want) {  // ref: llama.cpp's fallbacks for rows that are not a multiple of 256
        case Type::Q2_K: case Type::Q3_K: case Type::IQ4_XS: fallback = Type::IQ4_NL; break;
        case Type::Q4_K: fallback = Type::Q5_0; break;
        case Type::Q5_K: fallback = Type::Q5_1; break;
        case Type::Q6_K: fallback = Type::Q8_0; break;
        case Type::QT4: return fit_row(Type::IQ4_XS, ncols);  // 512-wide rotation blocks
        default: break;
    }
    return ncols % quant::traits(fallback).block_size == 0 ? fallback : Type::F16;
}

Type choose_type(const TypePolicy & p, const arch::TensorSpec & spec, int64_t n_layer) {
    if (spec.ne.size() < 2) return Type::F32;  // norms and biases: tiny, and precision matters
    Type want = p.base;
    if (spec.name == "output.weight") {
        want = p.output;
    } else if (spec.name == "token_embd.weight") {
        want = p.embed;
    } else if (p.mix && (spec.name.ends_with("attn_v.weight") || spec.name.ends_with("ffn_down.weight")) &&
               more_bits_layer(spec.layer, n_layer)) {
        want = p.more;
    }
    return fit_row(want, spec.ne[0]);
}

}  // namespace quanta::convert
