#include "core/model/decoder.h"

namespace quanta::model {

using core::Tensor;

namespace {

core::RopeParams rope_params(const arch::HParams & hp, int64_t il) {
    const arch::Rope & r = hp.rope_for(il);
    core::RopeParams p;
    p.n_rot = int32_t(hp.n_rot);
    p.neox = hp.rope_pairing == arch::RopePairing::Neox;
    p.base = r.base;
    p.factor = r.factor;
    p.low_freq_factor = r.low_freq_factor;
    p.high_freq_factor = r.high_freq_factor;
    p.original_context = int32_t(r.original_ctx);
    p.scaling = r.scaling;
    return p;
}

// Builds one graph; weights become externals named as in the tensor table.
class Builder {
public:
    Builder(const Model & m, const DecoderShape & s, DecoderGraph & out) : m_(m), hp_(m.hparams()), s_(s), out_(out) {
        mm_.act_bits = s.act_bits;
    }

    Tensor w(const std::string & name) {
        auto it = out_.weights.find(name);
        if (it != out_.weights.end()) return it->second;
        const Weight * wt = m_.find(name);
        QUANTA_CHECK(wt != nullptr);
        core::Dims ne;
        for (size_t d = 0; d < wt->spec->ne.size(); ++d) ne.v[d] = wt->spec->ne[d];
        Tensor t = g_.weight(name, wt->type, ne);
        out_.weights.emplace(name, t);
        return t;
    }
    bool has(const std::string & name) const { return m_.has(name); }
    std::string blk(int64_t il, const char * what) const { return "blk." + std::to_string(il) + "." + what; }

    Tensor norm(Tensor x, const std::string & name) { return g_.rms_norm(x, w(name), hp_.norm_eps); }
    Tensor linear(Tensor x, int64_t il, const char * weight, const char * bias) {
        Tensor y = g_.mul_mat(w(blk(il, weight)), x, mm_);
        return has(blk(il, bias)) ? y + w(blk(il, bias)) : y;
    }

    // ref: transformers LlamaAttention / Gemma2Attention / Qwen3Attention forward.
    Tensor attention(Tensor x, int64_t il) {
        const int64_t n = s_.n_tokens, hd = hp_.head_dim;
        Tensor q = g_.reshape(linear(x, il, "attn_q.weight", "attn_q.bias"), {hd, hp_.n_head, n});
        Tensor k = g_.reshape(linear(x, il, "attn_k.weight", "attn_k.bias"), {hd, hp_.n_head_kv, n});
        Tensor v = g_.reshape(linear(x, il, "attn_v.weight", "attn_v.bias"), {hd, hp_.n_head_kv, n});
        if (has(blk(il, "attn_q_norm.weight"))) {  // qk-norm: per head, before rope (Qwen 3, Gemma 3)
            q = norm(q, blk(il, "attn_q_norm.weight"));
            k = norm(k, blk(il, "attn_k_norm.weight"));
        }
        const core::RopeParams rp = rope_params(hp_, il);
        q = g_.rope(q, out_.pos, rp);
        k = g_.rope(k, out_.pos, rp);

        // Append this chunk's keys and values (global layers: at their positions; ring layers: at
        // the slots the session chose, whose positions swa_kpos lists); attention then reads the cache.
        const int64_t kv_row = hd * hp_.n_head_kv;
        const bool ring = uses_ring(m_, s_, il);
        const int64_t n_slots = ring ? s_.n_swa : s_.n_ctx;
        const Tensor ids = ring ? out_.swa_slots : out_.pos;
        Tensor kc = g_.set_rows(out_.k_cache[size_t(il)], g_.reshape(k, {kv_row, n}), ids);
        Tensor vc = g_.set_rows(out_.v_cache[size_t(il)], g_.reshape(v, {kv_row, n}), ids);
        core::AttentionParams ap;
        ap.scale = hp_.query_scale;
        ap.softcap = hp_.attn_softcap;
        ap.window = hp_.is_sliding(il) ? int32_t(hp_.sliding_window) : 0;
        Tensor a = g_.attention(q, g_.reshape(kc, {hd, hp_.n_head_kv, n_slots}),
                                g_.reshape(vc, {hd, hp_.n_head_kv, n_slots}), out_.pos, ap,
                                ring ? out_.swa_kpos : Tensor{});
        return g_.mul_mat(w(blk(il, "attn_output.weight")), g_.reshape(a, {hd * hp_.n_head, n}), mm_);
    }

    Tensor ffn(Tensor x, int64_t il) {
        Tensor gate = g_.mul_mat(w(blk(il, "ffn_gate.weight")), x, mm_);
        Tensor up = g_.mul_mat(w(blk(il, "ffn_up.weight")), x, mm_);
        return g_.mul_mat(w(blk(il, "ffn_down.weight")), g_.glu(gate, up, hp_.activation), mm_);
    }

    // Pre-norm residual block; Gemma 2/3 also norm each branch's output (post-norms).
    Tensor block(Tensor x, int64_t il) {
        g_.set_layer(int(il));
        Tensor a = attention(norm(x, blk(il, "attn_norm.weight")), il);
        if (has(blk(il, "post_attention_norm.weight"))) a = norm(a, blk(il, "post_attention_norm.weight"));
        Tensor h = x + a;
        Tensor f = ffn(norm(h, blk(il, "ffn_norm.weight")), il);
        if (has(blk(il, "post_ffw_norm.weight"))) f = norm(f, blk(il, "post_ffw_norm.weight"));
        return h + f;
    }

    Status build() {
        const int64_t n = s_.n_tokens;
        out_.tokens = g_.input("tokens", core::kI32, {n});
        out_.pos = g_.input("pos", core::kI32, {n});
        bool any_ring = false;
        for (int64_t il = 0; il < hp_.n_layer; ++il) {
            const std::string i = std::to_string(il);
            const int64_t n_slots = uses_ring(m_, s_, il) ? s_.n_swa : s_.n_ctx;
            any_ring = any_ring || uses_ring(m_, s_, il);
            out_.k_cache.push_back(g_.input("k_cache." + i, s_.kv_type, {hp_.head_dim * hp_.n_head_kv, n_slots}));
            out_.v_cache.push_back(g_.input("v_cache." + i, s_.kv_type, {hp_.head_dim * hp_.n_head_kv, n_slots}));
        }
        if (any_ring) {
            out_.swa_slots = g_.input("swa_slots", core::kI32, {n});
            out_.swa_kpos = g_.input("swa_kpos", core::kI32, {s_.n_swa});
        }

        g_.set_layer(core::kNoLayer);
        Tensor x = g_.get_rows(w("token_embd.weight"), out_.tokens);
        if (hp_.embd_scale != 1.0f) x = g_.scale(x, hp_.embd_scale);  // ref: Gemma, embeds * sqrt(n_embd)
        for (int64_t il = 0; il < hp_.n_layer; ++il) x = block(x, il);

        g_.set_layer(core::kNoLayer);
        if (!s_.all_logits && n > 1) x = g_.slice(x, 1, n - 1, n);
        x = norm(x, "output_norm.weight");
        const std::string head = m_.has("output.weight") ? "output.weight" : "token_embd.weight";
        Tensor logits = g_.mul_mat(w(head), x, mm_);
        if (hp_.final_softcap > 0.0f) logits = g_.soft_cap(logits, hp_.final_softcap);
        g_.mark_output(logits);
        out_.logits = logits;

        auto graph = g_.build();
        if (!graph.ok()) return graph.status();
        out_.graph = std::move(graph.value());
        return ok_status();
    }

private:
    const Model & m_;
    const arch::HParams & hp_;
    const DecoderShape & s_;
    DecoderGraph & out_;
    core::MulMatParams mm_;  // every weight mul_mat: the session's activation precision
    core::GraphBuilder g_;
};

}  // namespace

bool uses_ring(const Model & model, const DecoderShape & shape, int64_t il) {
    const arch::HParams & hp = model.hparams();
    return shape.n_swa > 0 && hp.sliding_window > 0 && hp.is_sliding(il);
}

Result<ShiftGraph> build_shift(const Model & model, const DecoderShape & shape, int64_t n_move_global,
                               int64_t n_move_swa) {
    const arch::HParams & hp = model.hparams();
    const int64_t hd = hp.head_dim, kv_row = hd * hp.n_head_kv;
    core::GraphBuilder g;
    ShiftGraph out;
    if (n_move_global > 0) {
        out.src_global = g.input("shift.src", core::kI32, {n_move_global});
        out.dst_global = g.input("shift.dst", core::kI32, {n_move_global});
        out.delta_global = g.input("shift.delta", core::kI32, {n_move_global});
    }
    if (n_move_swa > 0) {
        out.src_swa = g.input("shift.src_swa", core::kI32, {n_move_swa});
        out.dst_swa = g.input("shift.dst_swa", core::kI32, {n_move_swa});
        out.delta_swa = g.input("shift.delta_swa", core::kI32, {n_move_swa});
    }
    out.k_cache.resize(size_t(hp.n_layer));
    out.v_cache.resize(size_t(hp.n_layer));
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const bool ring = uses_ring(model, shape, il);
        const int64_t n = ring ? n_move_swa : n_move_global;
        if (n == 0) continue;  // nothing of this layer moves
        const std::string i = std::to_string(il);
        const int64_t n_slots = ring ? shape.n_swa : shape.n_ctx;
        const Tensor src = ring ? out.src_swa : out.src_global;
        const Tensor dst = ring ? out.dst_swa : out.dst_global;
        const Tensor delta = ring ? out.delta_swa : out.delta_global;
        Tensor kc = g.input("k_cache." + i, shape.kv_type, {kv_row, n_slots});
        Tensor vc = g.input("v_cache." + i, shape.kv_type, {kv_row, n_slots});
        out.k_cache[size_t(il)] = kc;
        out.v_cache[size_t(il)] = vc;
        g.set_layer(int(il));
        // The whole gather is materialized before the scatter, so source and destination rows may overlap.
        Tensor k = g.rope(g.reshape(g.get_rows(kc, src), {hd, hp.n_head_kv, n}), delta, rope_params(hp, il));
        g.set_rows(kc, g.reshape(k, {kv_row, n}), dst);
        g.set_rows(vc, g.get_rows(vc, src), dst);
    }
    auto graph = g.build();
    if (!graph.ok()) return graph.status().with_context("decoder: context-shift graph");
    out.graph = std::move(graph.value());
    return out;
}

Result<DecoderGraph> build_decoder(const Model & model, const DecoderShape & shape) {
    if (shape.n_tokens < 1 || shape.n_ctx < shape.n_tokens) {
        return Status::error("decoder: n_tokens " + std::to_string(shape.n_tokens) + " must be in 1..n_ctx (" +
                             std::to_string(shape.n_ctx) + ")");
    }
    DecoderGraph out;
    Builder b(model, shape, out);
    QUANTA_TRY(b.build());
    return out;
}

}  // namespace quanta::model
