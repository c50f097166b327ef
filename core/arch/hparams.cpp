#include "core/arch/hparams.h"

#include <cmath>

namespace quanta::arch {

namespace {

struct ArchName { Arch arch; const char * name; };
constexpr ArchName kArchNames[] = {
    {Arch::Llama, "llama"}, {Arch::Mistral, "mistral"}, {Arch::Qwen2, "qwen2"}, {Arch::Qwen3, "qwen3"},
    {Arch::Gemma, "gemma"}, {Arch::Gemma2, "gemma2"}, {Arch::Gemma3, "gemma3"},
};

template <typename E, size_t N>
Result<E> enum_from(std::string_view key, std::string_view s, const std::pair<E, const char *> (&table)[N]) {
    std::string options;
    for (const auto & [e, name] : table) {
        if (s == name) return e;
        options += (options.empty() ? "" : ", ") + std::string(name);
    }
    return Status::error("hparams: '" + std::string(key) + "' is '" + std::string(s) + "'; expected one of " + options);
}

constexpr std::pair<Activation, const char *> kActivations[] = {
    {Activation::Silu, "silu"}, {Activation::GeluTanh, "gelu_tanh"}, {Activation::GeluErf, "gelu"}};
constexpr std::pair<RopeScaling, const char *> kScalings[] = {
    {RopeScaling::None, "none"}, {RopeScaling::Linear, "linear"}, {RopeScaling::Llama3, "llama3"}};
constexpr std::pair<RopePairing, const char *> kPairings[] = {
    {RopePairing::Neox, "neox"}, {RopePairing::Adjacent, "adjacent"}};

template <typename E, size_t N>
const char * name_of(E e, const std::pair<E, const char *> (&table)[N]) {
    for (const auto & [v, name] : table) if (v == e) return name;
    return "?";
}

Status write_rope(formats::QntWriter & w, const std::string & prefix, const Rope & r) {
    QUANTA_TRY(w.add_f32(prefix + ".base", r.base));
    QUANTA_TRY(w.add_string(prefix + ".scaling", name_of(r.scaling, kScalings)));
    QUANTA_TRY(w.add_f32(prefix + ".factor", r.factor));
    QUANTA_TRY(w.add_f32(prefix + ".low_freq_factor", r.low_freq_factor));
    QUANTA_TRY(w.add_f32(prefix + ".high_freq_factor", r.high_freq_factor));
    return w.add_i64(prefix + ".original_ctx", r.original_ctx);
}

// Reads keys one after another and keeps the first error, so read_hparams stays a flat list.
class KeyReader {
public:
    explicit KeyReader(const formats::Metadata & md) : md_(md) {}
    int64_t i(const std::string & key) { return take(md_.get_int(key), int64_t(0)); }
    float f(const std::string & key) { return float(take(md_.get_float(key), 0.0)); }
    std::string s(const std::string & key) {
        auto v = md_.get_string(key);
        return v.ok() ? std::string(*v) : (keep(v.status()), std::string());
    }
    Rope rope(const std::string & prefix) {
        Rope r;
        r.base = f(prefix + ".base");
        std::string scaling = s(prefix + ".scaling");
        if (status_.ok()) r.scaling = take(enum_from(prefix + ".scaling", scaling, kScalings), RopeScaling::None);
        r.factor = f(prefix + ".factor");
        r.low_freq_factor = f(prefix + ".low_freq_factor");
        r.high_freq_factor = f(prefix + ".high_freq_factor");
        r.original_ctx = i(prefix + ".original_ctx");
        return r;
    }
    template <typename T>
    T take(Result<T> v, T fallback) {
        if (v.ok()) return *v;
        keep(v.status());
        return fallback;
    }
    void keep(const Status & s) { if (status_.ok()) status_ = s; }
    const Status & status() const { return status_; }

private:
    const formats::Metadata & md_;
    Status status_;
};

}  // namespace

std::string_view arch_name(Arch a) {
    for (const auto & n : kArchNames) if (n.arch == a) return n.name;
    return "?";
}

std::string supported_arch_names() {
    std::string out;
    for (const auto & n : kArchNames) out += (out.empty() ? "" : ", ") + std::string(n.name);
    return out;
}

Result<Arch> arch_from_name(std::string_view name) {
    for (const auto & n : kArchNames) if (name == n.name) return n.arch;
    return Status::error("unknown architecture '" + std::string(name) + "'; supported: " + supported_arch_names());
}

std::string_view activation_name(Activation a) { return name_of(a, kActivations); }
std::string_view rope_scaling_name(RopeScaling s) { return name_of(s, kScalings); }

Status HParams::validate() const {
    auto bad = [](const std::string & what) { return Status::error("hparams: " + what); };
    if (n_vocab <= 0 || n_embd <= 0 || n_layer <= 0 || n_head <= 0 || n_head_kv <= 0 || head_dim <= 0 || n_ff <= 0) {
        return bad("sizes must be positive (n_vocab " + std::to_string(n_vocab) + ", n_embd " + std::to_string(n_embd) +
                   ", n_layer " + std::to_string(n_layer) + ", n_head " + std::to_string(n_head) + ", n_head_kv " +
                   std::to_string(n_head_kv) + ", head_dim " + std::to_string(head_dim) + ", n_ff " +
                   std::to_string(n_ff) + ")");
    }
    // Bounds that keep products far from overflow and reject absurd files early.
    if (n_vocab > (int64_t(1) << 24) || n_embd > (int64_t(1) << 20) || n_layer > 4096 || n_head > 4096 ||
        head_dim > 4096 || n_ff > (int64_t(1) << 22)) {
        return bad("a size is beyond any supported model");
    }
    if (n_head % n_head_kv != 0) {
        return bad("n_head " + std::to_string(n_head) + " is not a multiple of n_head_kv " + std::to_string(n_head_kv));
    }
    if (n_rot <= 0 || n_rot > head_dim || n_rot % 2 != 0) {
        return bad("n_rot " + std::to_string(n_rot) + " must be even and within head_dim " + std::to_string(head_dim));
    }
    if (!layer_sliding.empty() && int64_t(layer_sliding.size()) != n_layer) {
        return bad("layer_sliding has " + std::to_string(layer_sliding.size()) + " entries for " +
                   std::to_string(n_layer) + " layers");
    }
    if (!layer_sliding.empty() && sliding_window <= 0) return bad("sliding layers but no sliding_window");
    if (!(norm_eps > 0.0f) || !(query_scale > 0.0f) || !(embd_scale > 0.0f) || attn_softcap < 0.0f ||
        final_softcap < 0.0f || !std::isfinite(attn_softcap) || !std::isfinite(final_softcap)) {
        return bad("norm_eps, query_scale and embd_scale must be positive; soft-caps non-negative");
    }
    for (const Rope * r : {&rope, &rope_local}) {
        if (!(r->base > 0.0f) || !(r->factor > 0.0f)) return bad("rope base and factor must be positive");
        if (r->scaling == RopeScaling::Llama3 && (r->original_ctx <= 0 || !(r->high_freq_factor > r->low_freq_factor))) {
            return bad("llama3 rope scaling needs original_ctx > 0 and high_freq_factor > low_freq_factor");
        }
    }
    return ok_status();
}

Status write_hparams(formats::QntWriter & w, const HParams & hp) {
    QUANTA_TRY(hp.validate());
    QUANTA_TRY(w.add_string("general.architecture", arch_name(hp.arch)));
    QUANTA_TRY(w.add_i64("model.n_vocab", hp.n_vocab));
    QUANTA_TRY(w.add_i64("model.n_embd", hp.n_embd));
    QUANTA_TRY(w.add_i64("model.n_layer", hp.n_layer));
    QUANTA_TRY(w.add_i64("model.n_head", hp.n_head));
    QUANTA_TRY(w.add_i64("model.n_head_kv", hp.n_head_kv));
    QUANTA_TRY(w.add_i64("model.head_dim", hp.head_dim));
    QUANTA_TRY(w.add_i64("model.n_ff", hp.n_ff));
    QUANTA_TRY(w.add_i64("model.n_ctx_train", hp.n_ctx_train));
    QUANTA_TRY(w.add_f32("model.norm_eps", hp.norm_eps));
    QUANTA_TRY(w.add_f32("model.norm_offset", hp.norm_offset));
    QUANTA_TRY(w.add_string("model.activation", activation_name(hp.activation)));
    QUANTA_TRY(w.add_f32("model.embd_scale", hp.embd_scale));
    QUANTA_TRY(w.add_f32("model.query_scale", hp.query_scale));
    QUANTA_TRY(w.add_f32("model.attn_softcap", hp.attn_softcap));
    QUANTA_TRY(w.add_f32("model.final_softcap", hp.final_softcap));
    QUANTA_TRY(w.add_i64("model.sliding_window", hp.sliding_window));
    QUANTA_TRY(w.add_array("model.layer_sliding", std::span<const uint8_t>(hp.layer_sliding)));
    QUANTA_TRY(w.add_i64("model.n_rot", hp.n_rot));
    QUANTA_TRY(w.add_string("model.rope_pairing", name_of(hp.rope_pairing, kPairings)));
    QUANTA_TRY(write_rope(w, "model.rope", hp.rope));
    return write_rope(w, "model.rope_local", hp.rope_local);
}

Result<HParams> read_hparams(const formats::Metadata & md) {
    KeyReader k(md);
    HParams hp;
    std::string arch = k.s("general.architecture");
    if (!k.status().ok()) return k.status();
    auto a = arch_from_name(arch);
    if (!a.ok()) return a.status();
    hp.arch = *a;
    hp.n_vocab = k.i("model.n_vocab");
    hp.n_embd = k.i("model.n_embd");
    hp.n_layer = k.i("model.n_layer");
    hp.n_head = k.i("model.n_head");
    hp.n_head_kv = k.i("model.n_head_kv");
    hp.head_dim = k.i("model.head_dim");
    hp.n_ff = k.i("model.n_ff");
    hp.n_ctx_train = k.i("model.n_ctx_train");
    hp.norm_eps = k.f("model.norm_eps");
    hp.norm_offset = k.f("model.norm_offset");
    std::string act = k.s("model.activation");
    if (k.status().ok()) hp.activation = k.take(enum_from("model.activation", act, kActivations), Activation::Silu);
    hp.embd_scale = k.f("model.embd_scale");
    hp.query_scale = k.f("model.query_scale");
    hp.attn_softcap = k.f("model.attn_softcap");
    hp.final_softcap = k.f("model.final_softcap");
    hp.sliding_window = k.i("model.sliding_window");
    auto sliding = md.get_int_array("model.layer_sliding");
    if (sliding.ok()) {
        for (int64_t v : *sliding) hp.layer_sliding.push_back(v != 0);
    } else {
        k.keep(sliding.status());
    }
    hp.n_rot = k.i("model.n_rot");
    std::string pairing = k.s("model.rope_pairing");
    if (k.status().ok()) hp.rope_pairing = k.take(enum_from("model.rope_pairing", pairing, kPairings), RopePairing::Neox);
    hp.rope = k.rope("model.rope");
    hp.rope_local = k.rope("model.rope_local");
    if (!k.status().ok()) return k.status();
    QUANTA_TRY(hp.validate());
    return hp;
}

}  // namespace quanta::arch
