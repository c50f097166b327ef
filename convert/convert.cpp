#include "convert/convert.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "convert/default_chat_templates.h"
#include "convert/gguf_hparams.h"
#include "convert/hf_config.h"
#include "convert/spm_tokenizer.h"
#include "convert/type_policy.h"
#include "core/arch/tensors.h"
#include "core/text/tokenizer_data.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/gguf.h"
#include "formats/imatrix.h"
#include "formats/qnt.h"
#include "formats/safetensors.h"

namespace quanta::convert {

namespace fs = std::filesystem;

namespace {

constexpr const char * kConverter = "quanta convert 0.1";
constexpr size_t kSlabBytes = size_t(32) << 20;  // f32 rows converted at once: bounds peak memory

// A tensor to write: the table's spec and where its bytes are in the mapped source.
struct Planned {
    arch::TensorSpec spec;
    const formats::TensorView * view;
};

std::string shape_str(std::span<const int64_t> ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

// Looks up every tensor of the architecture table, checks shapes, and rejects tensors the table
// does not know (a silently dropped tensor would make a wrong model). `name_of` picks the source
// name of a spec (HF or GGUF naming); `ignorable` says which unknown source tensors to skip.
template <typename Find>
Result<std::vector<Planned>> plan_tensors(const arch::HParams & hp, const std::string & source, Find find,
                                          const std::vector<formats::TensorView> & all, bool hf_names,
                                          bool (*ignorable)(std::string_view)) {
    std::vector<Planned> plan;
    std::vector<std::string_view> known;
    for (arch::TensorSpec & spec : arch::tensor_specs(hp)) {
        const std::string & src_name = hf_names ? spec.hf_name : spec.name;
        const formats::TensorView * view = find(src_name);
        if (!view) {
            if (spec.optional) continue;
            return Status::error(source + ": tensor '" + src_name + "' is missing (a " +
                                 std::string(arch::arch_name(hp.arch)) + " model of this config needs it; "
                                 "is a shard missing?)");
        }
        known.push_back(view->name);
        if (view->n_dims != spec.ne.size() ||
            !std::equal(spec.ne.begin(), spec.ne.end(), view->ne.begin())) {
            return Status::error(source + ": tensor '" + src_name + "' has shape " +
                                 shape_str(std::span(view->ne.data(), view->n_dims)) + " but the config says " +
                                 shape_str(spec.ne) + " (dim 0 innermost)");
        }
        plan.push_back({std::move(spec), view});
    }
    std::sort(known.begin(), known.end());
    for (const formats::TensorView & t : all) {
        if (std::binary_search(known.begin(), known.end(), t.name) || ignorable(t.name)) continue;
        return Status::error(source + ": tensor '" + std::string(t.name) + "' is not part of a " +
                             std::string(arch::arch_name(hp.arch)) + " model as quanta knows it; refusing to drop it");
    }
    return plan;
}

bool hf_ignorable(std::string_view name) {
    // Gemma 3 multimodal checkpoints: the vision tower and projector are not part of the text model.
    for (std::string_view prefix : {"vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                                    "model.multi_modal_projector."}) {
        if (name.substr(0, prefix.size()) == prefix) return true;
    }
    return name.find("rotary_emb.inv_freq") != std::string_view::npos;
}

bool nothing_ignorable(std::string_view) { return false; }

// Gemma 3 multimodal checkpoints keep the text model under another prefix.
std::string hf_text_name(std::string_view name) {
    for (std::string_view prefix : {"language_model.model.", "model.language_model."}) {
        if (name.substr(0, prefix.size()) == prefix) return "model." + std::string(name.substr(prefix.size()));
    }
    if (name.substr(0, 21) == "language_model.lm_head") return std::string(name.substr(15));
    return std::string(name);
}

// Drops the whole pages of [p, p + n) from this process's mapping once they are consumed, so the
// resident set stays about one tensor, not the model (the page cache keeps them; a later read
// faults them back in). Only a hint: failures are ignored.
void release_pages(const void * p, size_t n) {
    static const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
    if (end > begin) (void)::madvise(reinterpret_cast<void *>(begin), size_t(end - begin), MADV_DONTNEED);
}

// Writes one tensor, converting type in slabs of rows. Same type: the bytes are copied unchanged.
Status write_tensor(formats::QntWriter & w, const std::string & name, const formats::TensorView & view, Type target,
                    std::span<const int64_t> ne, const float * importance, int n_threads) {
    if (view.type == target) {
        QUANTA_TRY(w.add_tensor(name, target, ne, view.data, view.size));
        release_pages(view.data, view.size);
        return ok_status();
    }

    const int64_t ncols = ne[0];
    int64_t nrows = 1;
    for (size_t d = 1; d < ne.size(); ++d) nrows *= ne[d];
    const size_t src_row = quant::row_bytes(view.type, ncols);
    const size_t dst_row = quant::row_bytes(target, ncols);
    const int64_t slab = std::max<int64_t>(1, int64_t(kSlabBytes / (size_t(ncols) * sizeof(float))));
    const auto & src_traits = quant::traits(view.type);

    std::vector<uint8_t> src_buf(size_t(std::min(slab, nrows)) * src_row);  // aligned copy of the source rows
    std::vector<float> f32(size_t(std::min(slab, nrows)) * size_t(ncols));
    std::vector<uint8_t> dst(size_t(std::min(slab, nrows)) * dst_row);
    QUANTA_TRY(w.begin_tensor(name, target, ne));
    for (int64_t r0 = 0; r0 < nrows; r0 += slab) {
        const int64_t rows = std::min(slab, nrows - r0);
        const uint8_t * src = static_cast<const uint8_t *>(view.data) + size_t(r0) * src_row;
        std::memcpy(src_buf.data(), src, size_t(rows) * src_row);
        release_pages(src, size_t(rows) * src_row);
        for (int64_t r = 0; r < rows; ++r) {
            src_traits.dequantize_row(src_buf.data() + size_t(r) * src_row, f32.data() + size_t(r * ncols), ncols);
        }
        quant::quantize_rows(target, f32.data(), dst.data(), rows, ncols, importance, n_threads);
        QUANTA_TRY(w.write_tensor_data(dst.data(), uint64_t(rows) * dst_row));
    }
    return w.end_tensor();
}

Status write_tokenizer(formats::QntWriter & w, const text::TokenizerData & tok) {
    const text::FlatMetadata flat = text::tokenizer_to_flat(tok);
    for (const auto & [key, v] : flat.strings) QUANTA_TRY(w.add_array(key, std::span<const std::string>(v)));
    for (const auto & [key, v] : flat.f32) QUANTA_TRY(w.add_array(key, std::span<const float>(v)));
    for (const auto & [key, v] : flat.i32) QUANTA_TRY(w.add_array(key, std::span<const int32_t>(v)));
    return ok_status();
}

Status check_output(const std::string & output, const ConvertOptions & o) {
    std::error_code ec;
    if (fs::exists(output, ec) && !o.force) {
        return Status::error(output + ": already exists; pass --force to overwrite it");
    }
    const fs::path parent = fs::path(output).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, ec)) {
        return Status::error(output + ": folder '" + parent.string() + "' does not exist");
    }
    return ok_status();
}

// Reads --imatrix and checks that it fits the planned tensors (see ConvertOptions::imatrix).
Result<formats::Imatrix> load_imatrix(const std::string & path, const std::vector<Planned> & plan,
                                      const std::string & source) {
    auto m = formats::read_imatrix(path);
    if (!m.ok()) return m.status();
    for (const auto & [name, e] : m->entries) {
        auto p = std::find_if(plan.begin(), plan.end(), [&](const Planned & x) { return x.spec.name == name; });
        if (p == plan.end()) {
            return Status::error(path + ": tensor '" + name + "' is not in " + source +
                                 " (statistics of another model? make them with `quanta imatrix -m MODEL`)");
        }
        if (p->spec.ne.size() < 2 || p->spec.ne[0] != int64_t(e.mean_sq.size())) {
            return Status::error(path + ": tensor '" + name + "' has statistics for " + std::to_string(e.mean_sq.size()) +
                                 " input columns, but the weight in " + source + " is " + shape_str(p->spec.ne) +
                                 " (statistics of another model?)");
        }
    }
    for (const Planned & p : plan) {
        if (p.spec.ne.size() >= 2 && p.spec.name.starts_with("blk.") && !m->find(p.spec.name)) {
            return Status::error(path + ": no statistics for tensor '" + p.spec.name + "' of " + source +
                                 " (made for another model? make them with `quanta imatrix -m MODEL`)");
        }
    }
    return m;
}

// Metadata + tensors into `output`, shared by every input kind.
Status write_model(const std::string & output, const arch::HParams & hp, const text::TokenizerData & tok,
                   const std::vector<Planned> & plan, const TypePolicy & policy, const std::string & source,
                   const ConvertOptions & o, const std::vector<std::pair<std::string, std::string>> & notes = {}) {
    formats::Imatrix imatrix;
    if (!o.imatrix.empty()) {
        if (policy.keep) return Status::error("--imatrix needs a quantized --type (keep copies every tensor unchanged)");
        auto m = load_imatrix(o.imatrix, plan, source);
        if (!m.ok()) return m.status();
        imatrix = std::move(m.value());
    }
    auto w = formats::QntWriter::create(output);
    if (!w.ok()) return w.status();
    QUANTA_TRY(arch::write_hparams(*w, hp));
    QUANTA_TRY(write_tokenizer(*w, tok));
    QUANTA_TRY(w->add_string("general.source", fs::path(source).filename().string()));
    QUANTA_TRY(w->add_string("general.converter", kConverter));
    QUANTA_TRY(w->add_string("general.quantization", policy.name));
    for (const auto & [key, value] : notes) QUANTA_TRY(w->add_string(key, value));
    if (!o.imatrix.empty()) {  // provenance, as llama.cpp's quantize.imatrix.* keys
        QUANTA_TRY(w->add_string("quantize.imatrix.file", fs::path(o.imatrix).filename().string()));
        QUANTA_TRY(w->add_string("quantize.imatrix.source", imatrix.source));
        QUANTA_TRY(w->add_string("quantize.imatrix.text_xxh3", imatrix.text_xxh3));
        QUANTA_TRY(w->add_u64("quantize.imatrix.n_tokens", imatrix.n_tokens));
        QUANTA_TRY(w->add_u32("quantize.imatrix.entries", uint32_t(imatrix.entries.size())));
    }

    const int n_threads = o.n_threads > 0 ? o.n_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    uint64_t read = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        const Planned & p = plan[i];
        const Type target = policy.keep ? p.view->type : choose_type(policy, p.spec, hp.n_layer);
        const formats::ImatrixEntry * imp = imatrix.find(p.spec.name);
        Status s = write_tensor(*w, p.spec.name, *p.view, target, p.spec.ne, imp ? imp->mean_sq.data() : nullptr, n_threads);
        if (!s.ok()) return s.with_context(output + ": tensor '" + p.spec.name + "'");
        read += p.view->size;
        if (o.progress) o.progress(i, plan.size(), p.spec.name, read);
    }
    return w->finish();
}

Status convert_hf(const std::string & dir, const std::string & output, const ConvertOptions & o) {
    auto policy = parse_type_policy(o.type.empty() ? "f16" : o.type);
    if (!policy.ok()) return policy.status();
    if (policy->keep) return Status::error("--type keep only applies to GGUF input; pick a type for " + dir);
    auto hp = read_hf_config(dir);
    if (!hp.ok()) return hp.status();
    std::error_code ec;
    const bool spm_only = !fs::exists(fs::path(dir) / "tokenizer.json", ec) && fs::exists(fs::path(dir) / "tokenizer.model", ec);
    auto tok = spm_only ? load_spm_tokenizer_dir(dir) : text::load_hf_tokenizer_dir(dir);
    if (!tok.ok()) {
        return tok.status().with_context(dir + " (tokenizer.json and tokenizer_config.json, or a SentencePiece "
                                               "tokenizer.model, are needed)");
    }
    auto st = formats::SafetensorsModel::open(dir);
    if (!st.ok()) return st.status();

    // Map the checkpoint's names (multimodal prefixes removed) to its views.
    std::vector<std::pair<std::string, const formats::TensorView *>> by_name;
    for (const formats::TensorView & t : st->tensors()) by_name.emplace_back(hf_text_name(t.name), &t);
    std::sort(by_name.begin(), by_name.end());
    auto find = [&](const std::string & name) -> const formats::TensorView * {
        auto it = std::lower_bound(by_name.begin(), by_name.end(), std::make_pair(name, (const formats::TensorView *)nullptr));
        return it != by_name.end() && it->first == name ? it->second : nullptr;
    };
    // Tied embeddings: transformers may still save lm_head.weight; the runtime uses token_embd then.
    auto plan = plan_tensors(*hp, dir, find, st->tensors(), true, hf_ignorable);
    if (!plan.ok()) return plan.status();
    return write_model(output, *hp, *tok, *plan, *policy, dir, o);
}

Status convert_gguf(const std::string & path, const std::string & output, const ConvertOptions & o) {
    auto policy = parse_type_policy(o.type.empty() ? "keep" : o.type);
    if (!policy.ok()) return policy.status();
    auto g = formats::GgufReader::open(path);
    if (!g.ok()) return g.status();
    auto hp = hparams_from_gguf(g->metadata(), path);
    if (!hp.ok()) return hp.status();
    auto tok = text::tokenizer_from_metadata(g->metadata());
    if (!tok.ok()) return tok.status().with_context(path);
    std::vector<std::pair<std::string, std::string>> notes;
    if (tok->chat_template.empty() && !default_chat_template(hp->arch).empty()) {
        tok->chat_template = std::string(default_chat_template(hp->arch));
        notes.emplace_back("tokenizer.chat_template_source",
                           "quanta's copy of the " + std::string(arch::arch_name(hp->arch)) + " template (the GGUF had none)");
    }
    auto find = [&](const std::string & name) { return g->find(name); };
    auto plan = plan_tensors(*hp, path, find, g->tensors(), false, nothing_ignorable);
    if (!plan.ok()) return plan.status();
    return write_model(output, *hp, *tok, *plan, *policy, path, o, notes);
}

}  // namespace

Status convert_model(const std::string & input, const std::string & output, const ConvertOptions & o) {
    QUANTA_TRY(check_output(output, o));
    std::error_code ec;
    if (fs::is_directory(input, ec)) return convert_hf(input, output, o);
    if (input.ends_with(".gguf")) return convert_gguf(input, output, o);
    if (!fs::exists(input, ec)) return Status::error(input + ": no such file or directory");
    return Status::error(input + ": not a Hugging Face checkpoint directory or a .gguf file");
}

Status quantize_model(const std::string & input, const std::string & output, const ConvertOptions & o) {
    QUANTA_TRY(check_output(output, o));
    auto policy = parse_type_policy(o.type);
    if (!policy.ok()) return policy.status();
    if (policy->keep) return Status::error("--type keep would copy the file unchanged; pick a type");
    auto q = formats::QntReader::open(input);
    if (!q.ok()) return q.status();
    auto hp = arch::read_hparams(q->metadata());
    if (!hp.ok()) return hp.status().with_context(input);
    auto tok = text::tokenizer_from_metadata(q->metadata());
    if (!tok.ok()) return tok.status().with_context(input);
    auto find = [&](const std::string & name) { return q->find(name); };
    auto plan = plan_tensors(*hp, input, find, q->tensors(), false, nothing_ignorable);
    if (!plan.ok()) return plan.status();
    return write_model(output, *hp, *tok, *plan, *policy, input, o);
}

}  // namespace quanta::convert
