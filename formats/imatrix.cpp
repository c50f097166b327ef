#include "formats/imatrix.h"

#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "formats/gguf.h"
#include "formats/qnt.h"

namespace quanta::formats {

namespace {

constexpr uint32_t kImatrixVersion = 1;

// Every value finite and >= 0 (a mean of squares); the error names the tensor and the index.
Status check_values(const std::string & file, std::string_view name, const std::vector<float> & v) {
    for (size_t i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i]) || v[i] < 0.0f) {
            return Status::error(file + ": tensor '" + printable(name) + "': value " + std::to_string(v[i]) + " at " +
                                 std::to_string(i) + " is not a mean of squares (must be finite and >= 0)");
        }
    }
    return ok_status();
}

std::vector<float> f32_values(const TensorView & t) {
    std::vector<float> v(size_t(t.n_elements()));
    std::memcpy(v.data(), t.data, v.size() * sizeof(float));
    return v;
}

Result<Imatrix> read_quanta(const std::string & path) {
    auto q = QntReader::open(path);
    if (!q.ok()) return q.status();
    if (const std::vector<std::string> bad = q->verify(1); !bad.empty()) {  // small file: check every byte
        return Status::error(path + ": tensor '" + printable(bad.front()) + "' does not match its checksum (corrupt file)");
    }
    const Metadata & md = q->metadata();
    auto type = md.get_string("general.type");
    if (!type.ok() || *type != "imatrix") {
        return Status::error(path + ": a .qnt file but not an imatrix (general.type is not \"imatrix\"); make one "
                             "with `quanta imatrix -m MODEL -f TEXT -o FILE`");
    }
    auto version = md.get_u32("imatrix.version");
    if (!version.ok()) return version.status().with_context(path);
    if (*version != kImatrixVersion) {
        return Status::error(path + ": imatrix version " + std::to_string(*version) + " is not supported (this quanta "
                             "reads version " + std::to_string(kImatrixVersion) + ")");
    }
    Imatrix m;
    m.source = "quanta";
    auto n_tokens = md.get_u64("imatrix.n_tokens");
    auto n_chunks = md.get_u64("imatrix.n_chunks");
    auto chunk_size = md.get_u64("imatrix.chunk_size");
    auto hash = md.get_string("imatrix.text_xxh3");
    auto model = md.get_string("imatrix.model");
    auto counts = md.get_array<uint64_t>("imatrix.counts");
    for (const Status * s : {&n_tokens.status(), &n_chunks.status(), &chunk_size.status(), &hash.status(),
                             &model.status(), &counts.status()}) {
        if (!s->ok()) return s->with_context(path);
    }
    m.n_tokens = *n_tokens;
    m.n_chunks = *n_chunks;
    m.chunk_size = *chunk_size;
    m.text_xxh3 = std::string(*hash);
    m.model = std::string(*model);
    if (counts->size() != q->tensors().size()) {
        return Status::error(path + ": imatrix.counts has " + std::to_string(counts->size()) + " entries for " +
                             std::to_string(q->tensors().size()) + " tensors");
    }
    for (size_t i = 0; i < q->tensors().size(); ++i) {
        const TensorView & t = q->tensors()[i];
        if (t.type != Type::F32 || t.n_dims != 1) {
            return Status::error(path + ": tensor '" + printable(t.name) + "' must be a 1-D F32 vector of means "
                                 "(is " + std::string(type_name(t.type)) + " with " + std::to_string(t.n_dims) + " dims)");
        }
        if ((*counts)[i] == 0) {
            return Status::error(path + ": tensor '" + printable(t.name) + "' has a count of 0 rows");
        }
        ImatrixEntry e;
        e.mean_sq = f32_values(t);
        e.count = (*counts)[i];
        QUANTA_TRY(check_values(path, t.name, e.mean_sq));
        m.entries.emplace(std::string(t.name), std::move(e));
    }
    return m;
}

Result<Imatrix> read_llama_cpp(const std::string & path) {
    auto g = GgufReader::open(path);
    if (!g.ok()) return g.status();
    Imatrix m;
    m.source = "llama.cpp GGUF";
    if (auto c = g->metadata().get_int("imatrix.chunk_count"); c.ok() && *c > 0) m.n_chunks = uint64_t(*c);
    if (auto c = g->metadata().get_int("imatrix.chunk_size"); c.ok() && *c > 0) m.chunk_size = uint64_t(*c);
    m.n_tokens = m.n_chunks * m.chunk_size;
    constexpr std::string_view kSums = ".in_sum2", kCounts = ".counts";
    for (const TensorView & t : g->tensors()) {
        if (t.name.ends_with(kCounts)) {
            const std::string base(t.name.substr(0, t.name.size() - kCounts.size()));
            if (!g->find(base + std::string(kSums))) {
                return Status::error(path + ": tensor '" + printable(t.name) + "' has no matching '" +
                                     printable(base) + ".in_sum2'");
            }
            continue;
        }
        if (!t.name.ends_with(kSums)) {
            return Status::error(path + ": tensor '" + printable(t.name) + "' is not an imatrix tensor "
                                 "(<name>.in_sum2 or <name>.counts); is this a model rather than an imatrix?");
        }
        const std::string base(t.name.substr(0, t.name.size() - kSums.size()));
        const TensorView * c = g->find(base + std::string(kCounts));
        if (!c) return Status::error(path + ": tensor '" + printable(t.name) + "' has no matching '" + printable(base) + ".counts'");
        const int64_t n_in = t.ne[0], n_mat = t.ne[1] * t.ne[2] * t.ne[3];
        if (t.type != Type::F32 || c->type != Type::F32 || c->n_elements() != n_mat) {
            return Status::error(path + ": tensor '" + printable(t.name) + "' and its counts must be F32 [n_in, n_mat] "
                                 "and [1, n_mat] (counts has " + std::to_string(c->n_elements()) + " values for " +
                                 std::to_string(n_mat) + " matrices)");
        }
        const std::vector<float> sums = f32_values(t), cnt = f32_values(*c);
        double total = 0;
        for (float x : cnt) {
            if (!std::isfinite(x) || x < 0.0f) {
                return Status::error(path + ": tensor '" + printable(c->name) + "' holds a count " + std::to_string(x) +
                                     " that is not a finite non-negative number");
            }
            total += double(x);
        }
        if (total <= 0.0) continue;  // never activated (an unused expert): no statistics, as llama.cpp skips it
        ImatrixEntry e;
        e.count = uint64_t(total);
        e.mean_sq.assign(size_t(n_in), 0.0f);
        for (int64_t i = 0; i < n_in; ++i) {
            double s = 0;
            for (int64_t k = 0; k < n_mat; ++k) s += double(sums[size_t(k * n_in + i)]);
            e.mean_sq[size_t(i)] = float(s / total);
        }
        QUANTA_TRY(check_values(path, t.name, e.mean_sq));
        m.entries.emplace(base, std::move(e));
    }
    if (m.entries.empty()) return Status::error(path + ": a GGUF without any imatrix tensors (<name>.in_sum2)");
    return m;
}

}  // namespace

std::string imatrix_text_hash(std::string_view bytes) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)XXH3_64bits(bytes.data(), bytes.size()));
    return hex;
}

Status write_imatrix(const std::string & path, const Imatrix & m) {
    auto w = QntWriter::create(path);
    if (!w.ok()) return w.status();
    QUANTA_TRY(w->add_string("general.type", "imatrix"));
    QUANTA_TRY(w->add_u32("imatrix.version", kImatrixVersion));
    QUANTA_TRY(w->add_u64("imatrix.n_tokens", m.n_tokens));
    QUANTA_TRY(w->add_u64("imatrix.n_chunks", m.n_chunks));
    QUANTA_TRY(w->add_u64("imatrix.chunk_size", m.chunk_size));
    QUANTA_TRY(w->add_string("imatrix.text_xxh3", m.text_xxh3));
    QUANTA_TRY(w->add_string("imatrix.model", m.model));
    std::vector<uint64_t> counts;
    for (const auto & [name, e] : m.entries) {
        const int64_t ne[1] = {int64_t(e.mean_sq.size())};
        QUANTA_TRY(w->add_tensor(name, Type::F32, ne, e.mean_sq.data(), e.mean_sq.size() * sizeof(float)));
        counts.push_back(e.count);
    }
    QUANTA_TRY(w->add_array("imatrix.counts", std::span<const uint64_t>(counts)));
    return w->finish();
}

Result<Imatrix> read_imatrix(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::error(path + ": cannot open the imatrix file");
    char magic[4] = {};
    f.read(magic, 4);
    if (f && std::memcmp(magic, kQntMagic, 4) == 0) return read_quanta(path);
    if (f && std::memcmp(magic, "GGUF", 4) == 0) return read_llama_cpp(path);
    return Status::error(path + ": not an imatrix file (neither a quanta imatrix .qnt nor a llama.cpp imatrix GGUF; "
                         "llama.cpp's legacy .dat converts with `llama-imatrix --in-file FILE.dat -o FILE.gguf`)");
}

}  // namespace quanta::formats
