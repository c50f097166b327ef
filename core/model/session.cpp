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
    if (options.kv_type == Type::Q8_0 && (model.hparams().head_dim * model.hparams().n_head_kv) % 32 != 0) {
        return Status::error("session: a q8_0 KV cache needs head_dim * n_head_kv to be a multiple of 32");
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

    const arch::HParams & hp = model_.hparams();
    const size_t row = quant::row_bytes(options_.kv_type, hp.head_dim * hp.n_head_kv);
    for (int64_t il = 0; il < 2 * hp.n_layer; ++il) {
        auto buf = cpu_.alloc(row * size_t(options_.n_ctx));
        if (!buf.ok()) return buf.status().with_context("session: KV cache of " + std::to_string(options_.n_ctx) + " positions");
        kv_.push_back(std::move(buf.value()));
    }
    return ok_status();
}

Result<Session::Planned *> Session::planned(int64_t n_tokens, bool all_logits) {
    auto key = std::make_pair(n_tokens, all_logits);
    if (auto it = plans_.find(key); it != plans_.end()) return it->second.get();

    DecoderShape shape{n_tokens, options_.n_ctx, options_.kv_type, all_logits};
    auto graph = build_decoder(model_, shape);
    if (!graph.ok()) return graph.status();
    auto p = std::make_unique<Planned>();
    p->graph = std::move(graph.value());

    core::ExecutorOptions eo;
    eo.cpu = &cpu_;
    eo.gpu = gpu_;
    eo.n_gpu_layers = n_gpu_layers_;
    eo.observer = options_.observer;
    auto ex = core::Executor::create(p->graph.graph, eo);
    if (!ex.ok()) return ex.status();
    p->executor = std::move(ex.value());

    // Weights: in the mapped file (zero-copy) or in the model's own memory (offset norms).
    const uint8_t * base = static_cast<const uint8_t *>(file_buffer_->host_data());
    for (const auto & [name, t] : p->graph.weights) {
        if (auto owned = owned_weights_.find(name); owned != owned_weights_.end()) {
            QUANTA_TRY(p->executor->bind(t, *owned->second, 0));
        } else {
            const auto * data = static_cast<const uint8_t *>(model_.find(name)->data);
            QUANTA_TRY(p->executor->bind(t, *file_buffer_, size_t(data - base)));
        }
    }
    for (size_t il = 0; il < p->graph.k_cache.size(); ++il) {
        QUANTA_TRY(p->executor->bind(p->graph.k_cache[il], *kv_[2 * il], 0));
        QUANTA_TRY(p->executor->bind(p->graph.v_cache[il], *kv_[2 * il + 1], 0));
    }
    QUANTA_TRY(p->executor->bind_new(p->graph.tokens, cpu_));
    QUANTA_TRY(p->executor->bind_new(p->graph.pos, cpu_));
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
    if (n_past_ + int64_t(tokens.size()) > options_.n_ctx) {
        return Status::error("session: context is full: " + std::to_string(n_past_) + " + " +
                             std::to_string(tokens.size()) + " tokens exceed n_ctx " + std::to_string(options_.n_ctx) +
                             " (raise -c / --ctx-size, or start a new conversation)");
    }
    for (int32_t t : tokens) {
        if (t < 0 || t >= n_vocab) {
            return Status::error("session: token id " + std::to_string(t) + " is outside the vocabulary (" +
                                 std::to_string(n_vocab) + ")");
        }
    }
    std::vector<float> logits;
    std::vector<int32_t> pos;
    for (size_t start = 0; start < tokens.size();) {
        const int64_t n = std::min<int64_t>(options_.n_ubatch, int64_t(tokens.size() - start));
        auto p = planned(n, all_logits);
        if (!p.ok()) return p.status();
        core::Executor & ex = *(*p)->executor;
        pos.resize(size_t(n));
        for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = int32_t(n_past_ + i);
        QUANTA_TRY(ex.write((*p)->graph.tokens, tokens.data() + start, size_t(n) * sizeof(int32_t)));
        QUANTA_TRY(ex.write((*p)->graph.pos, pos.data(), pos.size() * sizeof(int32_t)));
        QUANTA_TRY(ex.run());
        const int64_t rows = all_logits ? n : 1;
        const bool last_chunk = start + size_t(n) == tokens.size();
        if (all_logits || last_chunk) {
            const size_t at = all_logits ? logits.size() : 0;
            logits.resize(at + size_t(rows * n_vocab));
            QUANTA_TRY(ex.read((*p)->graph.logits, logits.data() + at, size_t(rows * n_vocab) * sizeof(float)));
        }
        n_past_ += n;
        start += size_t(n);
    }
    return logits;
}

Status Session::truncate(int64_t n) {
    if (n < 0 || n > n_past_) {
        return Status::error("session: cannot truncate to " + std::to_string(n) + " of " + std::to_string(n_past_) + " positions");
    }
    n_past_ = n;
    return ok_status();
}

}  // namespace quanta::model
