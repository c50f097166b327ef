#include "core/model/model.h"

#include <algorithm>

#include "core/text/tokenizer_metadata.h"

namespace quanta::model {

Result<std::unique_ptr<Model>> Model::load(const std::string & path) {
    std::unique_ptr<Model> m(new Model());
    Status s = m->init(path);
    if (!s.ok()) return s;
    return m;
}

Status Model::init(const std::string & path) {
    auto file = formats::QntReader::open(path);
    if (!file.ok()) return file.status();
    file_.emplace(std::move(file.value()));
    auto hp = arch::read_hparams(file_->metadata());
    if (!hp.ok()) return hp.status().with_context(path);
    hp_ = std::move(hp.value());
    auto tok = text::tokenizer_from_metadata(file_->metadata());
    if (!tok.ok()) return tok.status().with_context(path);
    tokenizer_ = std::move(tok.value());
    if (int64_t(tokenizer_.pieces.size()) > hp_.n_vocab) {
        return Status::error(path + ": the tokenizer has " + std::to_string(tokenizer_.pieces.size()) +
                             " tokens but the model only " + std::to_string(hp_.n_vocab));
    }

    specs_ = arch::tensor_specs(hp_);
    for (const arch::TensorSpec & spec : specs_) {
        const formats::TensorView * t = file_->find(spec.name);
        if (!t) {
            if (spec.optional) continue;
            return Status::error(path + ": tensor '" + spec.name + "' is missing (re-convert the model?)");
        }
        if (t->n_dims != spec.ne.size() || !std::equal(spec.ne.begin(), spec.ne.end(), t->ne.begin())) {
            return Status::error(path + ": tensor '" + spec.name + "' has the wrong shape for the hyperparameters");
        }
        if (spec.ne.size() == 1 && t->type != Type::F32) {
            return Status::error(path + ": 1-D tensor '" + spec.name + "' must be F32, is " + quant::traits(t->type).name);
        }
        Weight w{&spec, t->type, t->data, size_t(t->size)};
        if (spec.role == arch::TensorRole::Norm && hp_.norm_offset != 0.0f) {
            // (offset + w) once, as data, so RMSNorm stays one plain op for every family.
            const float * src = static_cast<const float *>(t->data);
            std::vector<float> & scaled = owned_.emplace_back(size_t(t->n_elements()));
            for (size_t i = 0; i < scaled.size(); ++i) scaled[i] = hp_.norm_offset + src[i];
            w.data = scaled.data();
        }
        weights_.emplace(spec.name, w);
    }
    return ok_status();
}

const Weight * Model::find(const std::string & name) const {
    auto it = weights_.find(name);
    return it == weights_.end() ? nullptr : &it->second;
}

const Weight & Model::output_head() const {
    const Weight * out = find("output.weight");
    return out ? *out : *find("token_embd.weight");
}

}  // namespace quanta::model
