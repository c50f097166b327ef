#include "convert/type_policy.h"

#include <algorithm>
#include <cctype>

namespace quanta::convert {

namespace {

// v_all: attn_v gets `more` in every layer (not only the more-bits layers).
struct Mix { const char * name; Type base, more, output, embed; bool v_all; };
// ref: llama.cpp llama_tensor_get_type (the _M/_S recipes), simplified to the tensors we carry.
// The QT mixes are chosen by measurement (bench/RESULTS.md, "KL divergence on the real model":
// one class at a time at 4.5 bpw on Gemma 3 270M, KL per million weights): attn_v 0.022 (so more
// bits in every layer), ffn_down 0.0030 (more bits in the more-bits layers), attn_output 0.0020,
// token_embd / tied head 0.0006 (kept at the base type). An untied output head was not measurable
// here (Gemma ties it); it keeps llama.cpp's Q6_K.
constexpr Mix kMixes[] = {
    {"q3_k_m", Type::Q3_K, Type::Q5_K, Type::Q6_K, Type::Q3_K, false},
    {"q4_k_s", Type::Q4_K, Type::Q5_K, Type::Q6_K, Type::Q4_K, false},
    {"q4_k_m", Type::Q4_K, Type::Q6_K, Type::Q6_K, Type::Q4_K, false},
    {"q5_k_m", Type::Q5_K, Type::Q6_K, Type::Q6_K, Type::Q5_K, false},
    {"qt3_m", Type::QT3, Type::QT4, Type::Q6_K, Type::QT3, true},
    {"qt2_m", Type::QT2, Type::QT3, Type::Q6_K, Type::QT2, true},
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

namespace {

// Tensor classes an override may name (the 2-D tensors of core/arch/tensors.cpp).
constexpr const char * kClasses[] = {"token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_output",
                                     "ffn_gate", "ffn_up", "ffn_down"};

Result<TypePolicy> parse_base_policy(std::string_view name);

}  // namespace

std::string tensor_class(std::string_view name) {
    if (name.starts_with("blk.")) {
        const size_t dot = name.find('.', 4);
        name = dot == std::string_view::npos ? name : name.substr(dot + 1);
    }
    if (name.ends_with(".weight")) name.remove_suffix(7);
    return std::string(name);
}

Result<TypePolicy> parse_type_policy(std::string_view name) {
    const size_t comma = name.find(',');
    auto base = parse_base_policy(name.substr(0, comma));
    if (!base.ok() || comma == std::string_view::npos) return base;
    TypePolicy p = std::move(*base);
    if (p.keep) return Status::error("--type '" + std::string(name) + "': 'keep' takes no CLASS=TYPE overrides");
    std::string_view rest = name.substr(comma + 1);
    while (!rest.empty()) {
        const size_t next = rest.find(',');
        const std::string_view item = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
        const size_t eq = item.find('=');
        const std::string cls = lower(item.substr(0, eq));
        bool known = false;
        std::string classes;
        for (const char * c : kClasses) {
            known = known || cls == c;
            classes += std::string(classes.empty() ? "" : ", ") + c;
        }
        if (eq == std::string_view::npos || !known) {
            return Status::error("--type '" + std::string(name) + "': override '" + std::string(item) +
                                 "' is not CLASS=TYPE with CLASS one of: " + classes);
        }
        auto t = quant::type_from_name(item.substr(eq + 1));
        if (!t || quant::traits(*t).activation_only) {
            return Status::error("--type '" + std::string(name) + "': unknown type '" + std::string(item.substr(eq + 1)) +
                                 "' for " + cls + "; choose one of: " + type_policy_choices());
        }
        p.overrides.emplace_back(cls, *t);
    }
    p.name = lower(name);
    return p;
}

namespace {

Result<TypePolicy> parse_base_policy(std::string_view name) {
    TypePolicy p;
    p.name = lower(name);
    if (p.name == "keep") {
        p.keep = true;
        return p;
    }
    for (const Mix & m : kMixes) {
        if (p.name == m.name) {
            p.mix = true;
            p.more_v_all = m.v_all;
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

}  // namespace

Type fit_row(Type want, int64_t ncols) {
    if (ncols % quant::traits(want).block_size == 0) return want;
    Type fallback = Type::F16;
    switch (want) {  // ref: llama.cpp's fallbacks for rows that are not a multiple of 256
        case Type::Q2_K: case Type::Q3_K: case Type::IQ4_XS: fallback = Type::IQ4_NL; break;
        case Type::Q4_K: fallback = Type::Q5_0; break;
        case Type::Q5_K: fallback = Type::Q5_1; break;
        case Type::Q6_K: fallback = Type::Q8_0; break;
        case Type::QT4: return fit_row(Type::IQ4_XS, ncols);  // 512-wide rotation blocks
        case Type::QT3: return fit_row(Type::Q3_K, ncols);
        case Type::QT2: return fit_row(Type::Q2_K, ncols);
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
    } else if (p.mix && spec.name.ends_with("attn_v.weight") && p.more_v_all) {
        want = p.more;
    } else if (p.mix && (spec.name.ends_with("attn_v.weight") || spec.name.ends_with("ffn_down.weight")) &&
               more_bits_layer(spec.layer, n_layer)) {
        want = p.more;
    }
    if (!p.overrides.empty()) {
        const std::string cls = tensor_class(spec.name);
        for (const auto & [c, t] : p.overrides) {
            if (c == cls) want = t;
        }
    }
    return fit_row(want, spec.ne[0]);
}

}  // namespace quanta::convert
