#include "core/model/session.h"

#include <algorithm>
#include <cstring>

namespace quanta::model {

struct Session::Planned {
    DecoderGraph graph;
    std::unique_ptr<core::Executor> executor;
};

Session::Session(const Model & model, core::Backend & cpu, const SessionOptions & options, core::Backend * gpu,
                 int n_gpu)
    : model_(model), cpu_(cpu), gpu_(gpu), n_gpu_layers_(n_gpu), options_(options) {}

Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::create(const Model & model, core::Backend & cpu,
                                                 const SessionOptions & options, core::Backend * gpu,
                                                 int n_gpu_layers) {
    if (options.n_ctx < 1 || options.n_ubatch < 1) {
        return Status::error("session: n_ctx and n_ubatch must be at least 1");
    }
    if (options.kv_type != Type::F32 && options.kv_type != Type::F16 && options.kv_type != Type::Q8_0) {
        return Status::error(std::string("session: KV cache type ") + quant::traits(options.kv_type).name +
                             " is not supported (f32, f16, q8_0)");
    }
    if (options.n_keep < 0 || options.n_keep >= options.n_ctx) {
        return Status::error("session: n_keep " + std::to_string(options.n_keep) + " must be in [0, n_ctx " +
                             std::to_string(options.n_ctx) + ")");
    }
    if (options.activation_bits != 8 && options.activation_bits != 16) {
        return Status::error("session: activation bits " + std::to_string(options.activation_bits) +
                             " must be 8 (fast) or 16 (transformers-level accuracy)");
    }
    if (options.kv_type == Type::Q8_0 && model.hparams().head_dim % 32 != 0) {
        return Status::error("session: a q8_0 KV cache needs head_dim (" + std::to_string(model.hparams().head_dim) +
                             ") to be a multiple of 32 (its block size); use --cache-type f16");
    }
    std::unique_ptr<Session> s(new Session(model, cpu, options, gpu, n_gpu_layers));
    QUANTA_TRY(s->init());
    return s;
}

Status Session::init() {
    const formats::QntReader & file = model_.file();
    const formats::TensorView & any = file.tensors().front();
    // The mapping starts `offset` bytes before any tensor's data: wrap the whole file once.
    auto * base = const_cast<uint8_t *>(static_cast<const uint8_t *>(any.data) - any.offset);
    auto wrapped = cpu_.wrap_host(base, size_t(file.file_size()));
    if (!wrapped.ok()) return wrapped.status();
    file_buffer_ = std::move(wrapped.value());

    // Weights outside the mapping (norm scales with the offset added) are wrapped once, here.
    const uint8_t * base_ptr = static_cast<const uint8_t *>(file_buffer_->host_data());
    const uint8_t * end_ptr = base_ptr + file_buffer_->size();
    for (const arch::TensorSpec & spec : model_.specs()) {
        const Weight * w = model_.find(spec.name);
        if (!w) continue;
        const auto * data = static_cast<const uint8_t *>(w->data);
        if (data >= base_ptr && data + w->bytes <= end_ptr) continue;
        auto buf = cpu_.wrap_host(const_cast<uint8_t *>(data), w->bytes);
        if (!buf.ok()) return buf.status();
        owned_weights_.emplace(spec.name, std::move(buf.value()));
    }

    n_swa_ = ring_slots(model_.hparams(), options_);
    if (n_swa_ > 0) swa_kpos_.assign(size_t(n_swa_), -1);
    // The KV cache is allocated by the first plan, on the backend whose nodes use each layer's
    // cache (alloc_kv); plan the decode step now so the cache exists from the start.
    return planned(1, false).status();
}

core::ExecutorOptions Session::executor_options() const {
    core::ExecutorOptions eo;
    eo.cpu = &cpu_;
    eo.gpu = gpu_;
    eo.n_gpu_layers = n_gpu_layers_;
    // Every layer on the GPU: the embedding and the output head go there too.
    eo.gpu_outside_layers = gpu_ && n_gpu_layers_ >= model_.hparams().n_layer;
    return eo;
}

int64_t Session::ring_slots(const arch::HParams & hp, const SessionOptions & options) {
    // A ring only where it is smaller than the context.
    bool any_sliding = false;
    for (int64_t il = 0; il < hp.n_layer; ++il) any_sliding = any_sliding || hp.is_sliding(il);
    const int64_t ring = options.n_keep + hp.sliding_window + options.n_ubatch - 1;
    return any_sliding && hp.sliding_window > 0 && ring < options.n_ctx ? ring : 0;
}

Status Session::alloc_kv(const DecoderGraph & graph, const core::Executor & ex) {
    const arch::HParams & hp = model_.hparams();
    const size_t row = quant::row_bytes(options_.kv_type, hp.head_dim * hp.n_head_kv);
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        for (int kv = 0; kv < 2; ++kv) {
            const core::Tensor & t = (kv == 0 ? graph.k_cache : graph.v_cache)[size_t(il)];
            core::Backend & b = gpu_ && ex.preferred_backend(t) == 1 ? *gpu_ : cpu_;
            auto buf = b.alloc(row * size_t(cache_slots(il)));
            if (!buf.ok()) return buf.status().with_context("session: KV cache of " + std::to_string(cache_slots(il)) + " positions");
            kv_.push_back(std::move(buf.value()));
        }
    }
    return ok_status();
}

const core::ExecutorStats * Session::last_stats() const { return last_ ? &last_->executor->stats() : nullptr; }

DecoderShape Session::shape(int64_t n_tokens, bool all_logits) const {
    DecoderShape s;
    s.n_tokens = n_tokens;
    s.n_ctx = options_.n_ctx;
    s.n_swa = n_swa_;
    s.kv_type = options_.kv_type;
    s.all_logits = all_logits;
    s.act_bits = int32_t(options_.activation_bits);
    return s;
}

int64_t Session::cache_slots(int64_t il) const { return uses_ring(model_, shape(1, false), il) ? n_swa_ : options_.n_ctx; }

size_t Session::cache_bytes(int64_t il) const { return kv_[size_t(2 * il)]->size() + kv_[size_t(2 * il + 1)]->size(); }

Result<std::vector<float>> Session::cache_rows(int64_t il, bool value, int64_t p0, int64_t p1) const {
    const arch::HParams & hp = model_.hparams();
    if (il < 0 || il >= hp.n_layer || p0 < 0 || p1 > n_past_ || p0 > p1) {
        return Status::error("session: cache_rows: layer " + std::to_string(il) + " positions [" + std::to_string(p0) +
                             ", " + std::to_string(p1) + ") are outside the cache (" + std::to_string(n_past_) + " positions)");
    }
    const bool ring = uses_ring(model_, shape(1, false), il);
    const int64_t width = hp.head_dim * hp.n_head_kv;
    const size_t row = quant::row_bytes(options_.kv_type, width);
    const core::Buffer & buf = *kv_[size_t(2 * il + (value ? 1 : 0))];
    std::vector<float> out(size_t((p1 - p0) * width));
    std::vector<uint8_t> bytes(row);
    for (int64_t p = p0; p < p1; ++p) {
        const int64_t slot = ring ? ring_slot(p) : p;
        if (ring && swa_kpos_[size_t(slot)] != p) {
            return Status::error("session: cache_rows: position " + std::to_string(p) + " has left layer " +
                                 std::to_string(il) + "'s sliding-window ring");
        }
        QUANTA_TRY(buf.backend().download(buf, size_t(slot) * row, bytes.data(), row));
        quant::traits(options_.kv_type).dequantize_row(bytes.data(), out.data() + (p - p0) * width, width);
    }
    return out;
}

int64_t Session::ring_slot(int64_t pos) const {
    const int64_t keep = options_.n_keep;
    return pos < keep ? pos : keep + (pos - keep) % (n_swa_ - keep);
}

Result<Session::Planned *> Session::planned(int64_t n_tokens, bool all_logits) {
    auto key = std::make_pair(n_tokens, all_logits);
    if (auto it = plans_.find(key); it != plans_.end()) return it->second.get();

    auto graph = build_decoder(model_, shape(n_tokens, all_logits));
    if (!graph.ok()) return graph.status();
    auto p = std::make_unique<Planned>();
    p->graph = std::move(graph.value());

    core::ExecutorOptions eo = executor_options();
    eo.observer = options_.observer;
    auto ex = core::Executor::create(p->graph.graph, eo);
    if (!ex.ok()) return ex.status();
    p->executor = std::move(ex.value());

    // Weights: in the mapped file (zero-copy) or in the model's own memory (offset norms); a weight
    // whose nodes run on the GPU is uploaded there once and shared by every plan.
    const uint8_t * base = static_cast<const uint8_t *>(file_buffer_->host_data());
    for (const auto & [name, t] : p->graph.weights) {
        if (gpu_ && p->executor->preferred_backend(t) == 1) {
            auto it = gpu_weights_.find(name);
            if (it == gpu_weights_.end()) {
                auto owned = owned_weights_.find(name);
                const Weight * w = model_.find(name);
                const void * data = owned != owned_weights_.end() ? owned->second->host_data() : w->data;
                auto buf = gpu_->alloc(w->bytes);
                if (!buf.ok()) return buf.status().with_context("session: weight '" + name + "' on " + std::string(gpu_->name()));
                QUANTA_TRY(gpu_->upload(*buf.value(), 0, data, w->bytes));
                it = gpu_weights_.emplace(name, std::move(buf.value())).first;
            }
            QUANTA_TRY(p->executor->bind(t, *it->second, 0));
        } else if (auto owned = owned_weights_.find(name); owned != owned_weights_.end()) {
            QUANTA_TRY(p->executor->bind(t, *owned->second, 0));
        } else {
            const auto * data = static_cast<const uint8_t *>(model_.find(name)->data);
            QUANTA_TRY(p->executor->bind(t, *file_buffer_, size_t(data - base)));
        }
    }
    if (kv_.empty()) QUANTA_TRY(alloc_kv(p->graph, *p->executor));
    for (size_t il = 0; il < p->graph.k_cache.size(); ++il) {
        QUANTA_TRY(p->executor->bind(p->graph.k_cache[il], *kv_[2 * il], 0));
        QUANTA_TRY(p->executor->bind(p->graph.v_cache[il], *kv_[2 * il + 1], 0));
    }
    QUANTA_TRY(p->executor->bind_new(p->graph.tokens, cpu_));
    QUANTA_TRY(p->executor->bind_new(p->graph.pos, cpu_));
    if (p->graph.swa_kpos.valid()) {
        QUANTA_TRY(p->executor->bind_new(p->graph.swa_slots, cpu_));
        QUANTA_TRY(p->executor->bind_new(p->graph.swa_kpos, cpu_));
    }
    QUANTA_TRY(p->executor->prepare());
    if (plans_.size() >= kMaxPlans) {
        for (auto it = plans_.begin(); it != plans_.end(); ++it) {
            if (it->first.first != 1 && it->first.first != options_.n_ubatch) {
                plans_.erase(it);
                break;
            }
        }
    }
    Planned * out = p.get();
    plans_.emplace(key, std::move(p));
    return out;
}

Result<std::vector<float>> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
    const int64_t n_vocab = model_.hparams().n_vocab;
    if (tokens.empty()) return Status::error("session: no tokens to evaluate");
    if (!options_.context_shift && n_past_ + int64_t(tokens.size()) > options_.n_ctx) {
        return Status::error("session: context is full: " + std::to_string(n_past_) + " + " +
                             std::to_string(tokens.size()) + " tokens exceed n_ctx " + std::to_string(options_.n_ctx) +
                             " (raise -c / --ctx-size, use --context-shift, or start a new conversation)");
    }
    for (int32_t t : tokens) {
        if (t < 0 || t >= n_vocab) {
            return Status::error("session: token id " + std::to_string(t) + " is outside the vocabulary (" +
                                 std::to_string(n_vocab) + ")");
        }
    }
    return eval_chunks(tokens, all_logits);
}

Result<std::vector<float>> Session::eval_chunks(std::span<const int32_t> tokens, bool all_logits) {
    const int64_t n_vocab = model_.hparams().n_vocab;
    std::vector<float> logits;
    std::vector<int32_t> pos, slots;
    for (size_t start = 0; start < tokens.size();) {
        const int64_t n = std::min<int64_t>(options_.n_ubatch, int64_t(tokens.size() - start));
        while (options_.context_shift && n_past_ + n > options_.n_ctx && n_past_ - options_.n_keep >= 2) {
            QUANTA_TRY(context_shift());
        }
        if (n_past_ + n > options_.n_ctx) {
            return Status::error("session: context is full even after a context shift: " + std::to_string(n_past_) +
                                 " + " + std::to_string(n) + " tokens exceed n_ctx " + std::to_string(options_.n_ctx) +
                                 " (raise -c / --ctx-size or lower --keep / -ub)");
        }
        auto p = planned(n, all_logits);
        if (!p.ok()) return p.status();
        last_ = *p;
        core::Executor & ex = *(*p)->executor;
        pos.resize(size_t(n));
        for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = int32_t(n_past_ + i);
        QUANTA_TRY(ex.write((*p)->graph.tokens, tokens.data() + start, size_t(n) * sizeof(int32_t)));
        QUANTA_TRY(ex.write((*p)->graph.pos, pos.data(), pos.size() * sizeof(int32_t)));
        if ((*p)->graph.swa_kpos.valid()) {
            // The chunk's keys go to their ring slots before attention reads the ring.
            slots.resize(size_t(n));
            for (int64_t i = 0; i < n; ++i) {
                slots[size_t(i)] = int32_t(ring_slot(pos[size_t(i)]));
                swa_kpos_[size_t(slots[size_t(i)])] = pos[size_t(i)];
            }
            QUANTA_TRY(ex.write((*p)->graph.swa_slots, slots.data(), slots.size() * sizeof(int32_t)));
            QUANTA_TRY(ex.write((*p)->graph.swa_kpos, swa_kpos_.data(), swa_kpos_.size() * sizeof(int32_t)));
        }
        QUANTA_TRY(ex.run());
        const int64_t rows = all_logits ? n : 1;
        const bool last_chunk = start + size_t(n) == tokens.size();
        if (all_logits || last_chunk) {
            const size_t at = all_logits ? logits.size() : 0;
            logits.resize(at + size_t(rows * n_vocab));
            QUANTA_TRY(ex.read((*p)->graph.logits, logits.data() + at, size_t(rows * n_vocab) * sizeof(float)));
        }
        tokens_.insert(tokens_.end(), tokens.begin() + std::ptrdiff_t(start), tokens.begin() + std::ptrdiff_t(start + size_t(n)));
        n_past_ += n;
        start += size_t(n);
    }
    return logits;
}

void Session::clear() {
    n_past_ = 0;
    tokens_.clear();
    std::fill(swa_kpos_.begin(), swa_kpos_.end(), -1);
}

Status Session::truncate(int64_t n) {
    if (n < 0 || n > n_past_) {
        return Status::error("session: cannot truncate to " + std::to_string(n) + " of " + std::to_string(n_past_) + " positions");
    }
    if (n_swa_ > 0) {
        // The next query (position n) needs the window before it; the ring may have overwritten it.
        const int64_t window = model_.hparams().sliding_window;
        bool intact = true;
        for (int64_t q = std::max(options_.n_keep, n - window + 1); q < n; ++q) {
            intact = intact && swa_kpos_[size_t(ring_slot(q))] == q;
        }
        for (int32_t & kp : swa_kpos_) {
            if (kp >= n) kp = -1;
        }
        if (!intact) {
            const std::vector<int32_t> kept(tokens_.begin(), tokens_.begin() + std::ptrdiff_t(n));
            clear();
            if (!kept.empty()) QUANTA_TRY(eval_chunks(kept, false).status());
            return ok_status();
        }
    }
    n_past_ = n;
    tokens_.resize(size_t(n));
    return ok_status();
}

Status Session::context_shift() {
    const int64_t keep = options_.n_keep;
    if (n_past_ - keep < 2) {
        return Status::error("session: context shift needs at least 2 positions after the " + std::to_string(keep) +
                             " kept ones (n_past " + std::to_string(n_past_) + ")");
    }
    const int64_t d = (n_past_ - keep) / 2;
    const arch::HParams & hp = model_.hparams();
    const DecoderShape sh = shape(1, false);
    bool has_global = false, has_ring = false;
    for (int64_t il = 0; il < hp.n_layer; ++il) (uses_ring(model_, sh, il) ? has_ring : has_global) = true;

    // Global layers: positions [keep + d, n_past) move down by d rows.
    std::vector<int32_t> gsrc, gdst;
    for (int64_t p = keep + d; p < n_past_ && has_global; ++p) {
        gsrc.push_back(int32_t(p));
        gdst.push_back(int32_t(p - d));
    }
    // Ring layers: pinned slots stay; ring entries at positions >= keep + d move to their new
    // position's slot; entries in [keep, keep + d) are dropped.
    std::vector<int32_t> ssrc, sdst, new_kpos(swa_kpos_.size(), -1);
    for (size_t slot = 0; slot < swa_kpos_.size() && has_ring; ++slot) {
        const int64_t kp = swa_kpos_[slot];
        if (kp >= 0 && kp < keep) new_kpos[slot] = int32_t(kp);
        if (kp < keep + d) continue;
        const int64_t to = ring_slot(kp - d);
        ssrc.push_back(int32_t(slot));
        sdst.push_back(int32_t(to));
        new_kpos[size_t(to)] = int32_t(kp - d);
    }

    auto graph = build_shift(model_, sh, int64_t(gsrc.size()), int64_t(ssrc.size()));
    if (!graph.ok()) return graph.status();
    ShiftGraph & g = graph.value();
    // No observer: moving cache rows is not model computation (imatrix watches weights only).
    auto ex = core::Executor::create(g.graph, executor_options());
    if (!ex.ok()) return ex.status();
    core::Executor & e = *ex.value();
    for (size_t il = 0; il < g.k_cache.size(); ++il) {
        if (!g.k_cache[il].valid()) continue;
        QUANTA_TRY(e.bind(g.k_cache[il], *kv_[2 * il], 0));
        QUANTA_TRY(e.bind(g.v_cache[il], *kv_[2 * il + 1], 0));
    }
    struct Feed {
        core::Tensor t;
        std::vector<int32_t> v;
    };
    const std::vector<Feed> feeds = {{g.src_global, gsrc},
                                     {g.dst_global, gdst},
                                     {g.delta_global, std::vector<int32_t>(gsrc.size(), int32_t(-d))},
                                     {g.src_swa, ssrc},
                                     {g.dst_swa, sdst},
                                     {g.delta_swa, std::vector<int32_t>(ssrc.size(), int32_t(-d))}};
    for (const Feed & f : feeds) {
        if (f.t.valid()) QUANTA_TRY(e.bind_new(f.t, cpu_));
    }
    QUANTA_TRY(e.prepare());
    for (const Feed & f : feeds) {
        if (f.t.valid()) QUANTA_TRY(e.write(f.t, f.v.data(), f.v.size() * sizeof(int32_t)));
    }
    QUANTA_TRY(e.run());

    n_past_ -= d;
    tokens_.erase(tokens_.begin() + std::ptrdiff_t(keep), tokens_.begin() + std::ptrdiff_t(keep + d));
    swa_kpos_ = std::move(new_kpos);
    ++n_shifts_;
    return ok_status();
}

}  // namespace quanta::model
