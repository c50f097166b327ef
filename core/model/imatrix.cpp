#include "core/model/imatrix.h"

#include <algorithm>

#include "core/model/session.h"
#include "quant/fp.h"

namespace quanta::model {

ImatrixCollector::ImatrixCollector(const Model & model, bool include_output)
    : model_(model), head_(model.has("output.weight") ? "output.weight" : "token_embd.weight"),
      include_output_(include_output) {}

uint32_t ImatrixCollector::wants(const core::Graph & graph, int node) const {
    const core::Node & n = graph.nodes[size_t(node)];
    if (n.op != core::Op::MulMat) return 0;
    const core::Storage & w = graph.storages[size_t(n.src[0].storage)];
    if (w.kind != core::StorageKind::External || !model_.has(w.name)) return 0;  // K/V cache, not a weight
    if (w.name == head_ && !include_output_) return 0;
    return 1u << 1;  // the activation
}

Status ImatrixCollector::observe(const core::Graph & graph, int node, std::span<const core::HostView> src) {
    const core::Node & n = graph.nodes[size_t(node)];
    const std::string & name = graph.storages[size_t(n.src[0].storage)].name;
    const core::HostView & x = src[1];
    if (x.type != Type::F32 && x.type != Type::F16) {
        return Status::error("imatrix: mul_mat of '" + name + "': activations of type " +
                             std::string(core::type_name(x.type)) + " (expected F32 or F16)");
    }
    Sum & s = sums_[name];
    if (s.sum_sq.empty()) s.sum_sq.assign(size_t(x.ne[0]), 0.0);
    if (s.sum_sq.size() != size_t(x.ne[0])) {
        return Status::error("imatrix: '" + name + "' is used with " + std::to_string(x.ne[0]) + " and " +
                             std::to_string(s.sum_sq.size()) + " input channels");
    }
    const int64_t n_in = x.ne[0];
    for (int64_t i3 = 0; i3 < x.ne[3]; ++i3) {
        for (int64_t i2 = 0; i2 < x.ne[2]; ++i2) {
            for (int64_t i1 = 0; i1 < x.ne[1]; ++i1) {
                const uint8_t * row = x.data + i1 * x.nb[1] + i2 * x.nb[2] + i3 * x.nb[3];
                if (x.type == Type::F32) {
                    const float * r = reinterpret_cast<const float *>(row);
                    for (int64_t i = 0; i < n_in; ++i) s.sum_sq[size_t(i)] += double(r[i]) * double(r[i]);
                } else {
                    const uint16_t * r = reinterpret_cast<const uint16_t *>(row);
                    for (int64_t i = 0; i < n_in; ++i) {
                        const double v = quant::fp16_to_fp32(r[i]);
                        s.sum_sq[size_t(i)] += v * v;
                    }
                }
            }
        }
    }
    s.rows += uint64_t(x.ne[1] * x.ne[2] * x.ne[3]);
    return ok_status();
}

formats::Imatrix ImatrixCollector::result() const {
    formats::Imatrix m;
    m.source = "quanta";
    for (const auto & [name, s] : sums_) {
        formats::ImatrixEntry e;
        e.count = s.rows;
        e.mean_sq.resize(s.sum_sq.size());
        for (size_t i = 0; i < s.sum_sq.size(); ++i) e.mean_sq[i] = float(s.sum_sq[i] / double(s.rows));
        m.entries.emplace(name, std::move(e));
    }
    return m;
}

Result<formats::Imatrix> collect_imatrix(const Model & model, core::Backend & cpu, std::span<const int32_t> tokens,
                                         int32_t bos, const ImatrixOptions & o) {
    if (o.n_ctx < 2) return Status::error("imatrix: the chunk length must be at least 2 tokens");
    int64_t n_chunks = int64_t(tokens.size()) / o.n_ctx;
    if (o.max_chunks > 0) n_chunks = std::min(n_chunks, o.max_chunks);
    if (n_chunks == 0) {
        return Status::error("imatrix: the text has " + std::to_string(tokens.size()) + " tokens, fewer than one chunk of " +
                             std::to_string(o.n_ctx) + " (use a longer text or a smaller -c)");
    }
    ImatrixCollector collector(model, o.include_output);
    SessionOptions so;
    so.n_ctx = o.n_ctx;
    so.n_ubatch = std::min(o.n_ubatch, o.n_ctx);
    so.kv_type = Type::F32;  // statistics of the model itself, not of a compressed cache
    so.observer = &collector;
    auto session = Session::create(model, cpu, so);
    if (!session.ok()) return session.status();
    std::vector<int32_t> chunk(size_t(o.n_ctx));
    for (int64_t c = 0; c < n_chunks; ++c) {
        std::copy_n(tokens.begin() + c * o.n_ctx, o.n_ctx, chunk.begin());
        if (bos >= 0) chunk[0] = bos;
        (*session)->clear();
        auto logits = (*session)->eval(chunk, o.include_output);
        if (!logits.ok()) return logits.status().with_context("imatrix: chunk " + std::to_string(c));
        if (o.progress) o.progress(c, n_chunks);
    }
    formats::Imatrix m = collector.result();
    m.n_chunks = uint64_t(n_chunks);
    m.chunk_size = uint64_t(o.n_ctx);
    m.n_tokens = uint64_t(n_chunks * o.n_ctx);
    return m;
}

}  // namespace quanta::model
