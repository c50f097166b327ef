// formats/safetensors.cpp — safetensors parsing (nlohmann::json for the header) and shard merging.
#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "formats/bytes.h"

namespace quanta::formats {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Thrown from the parse callback to stop at a duplicate key or excessive nesting.
struct JsonReject {
    std::string message;
};

// Parses JSON text, refusing duplicate keys in any object (nlohmann would keep the last silently)
// and nesting deeper than kSafetensorsMaxJsonDepth.
Result<json> parse_json(std::string_view text, const std::string & ctx) {
    std::vector<std::unordered_set<std::string>> objects;
    int depth = 0;
    auto callback = [&](int, json::parse_event_t event, json & parsed) -> bool {
        switch (event) {
            case json::parse_event_t::object_start:
                objects.emplace_back();
                [[fallthrough]];
            case json::parse_event_t::array_start:
                if (++depth > kSafetensorsMaxJsonDepth)
                    throw JsonReject{"JSON nested deeper than " + std::to_string(kSafetensorsMaxJsonDepth)};
                break;
            case json::parse_event_t::object_end:
                if (!objects.empty()) objects.pop_back();
                [[fallthrough]];
            case json::parse_event_t::array_end:
                --depth;
                break;
            case json::parse_event_t::key:
                if (!objects.empty() && parsed.is_string() && !objects.back().insert(parsed.get<std::string>()).second)
                    throw JsonReject{"duplicate key '" + printable(parsed.get<std::string>()) + "'"};
                break;
            default:
                break;
        }
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), callback);
    } catch (const JsonReject & e) {
        return Status::error(ctx + ": " + e.message);
    } catch (const json::exception & e) {
        return Status::error(ctx + ": invalid JSON: " + e.what());
    }
}

struct Dtype {
    const char * name;
    Type type;
    uint64_t bytes;
};
constexpr Dtype kDtypes[] = {{"F32", Type::F32, 4}, {"F16", Type::F16, 2}, {"BF16", Type::BF16, 2}};

Result<std::vector<uint64_t>> parse_uint_array(const json & j, const std::string & what, const std::string & ctx) {
    if (!j.is_array()) return Status::error(ctx + ": " + what + " is not an array");
    std::vector<uint64_t> out;
    out.reserve(j.size());  // bounded: the array already exists in memory
    for (const auto & v : j) {
        if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
            return Status::error(ctx + ": " + what + " holds " + v.dump() + ", not a non-negative integer");
        out.push_back(v.get<uint64_t>());
    }
    return out;
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::open(const std::string & path) {
    auto file = MmapFile::open(path);
    if (!file.ok()) return Status::error("safetensors: " + file.status().message());
    SafetensorsFile f;
    f.file_ = std::move(*file);
    f.bytes_ = f.file_.bytes();
    f.name_ = path;
    QUANTA_TRY(f.parse());
    return f;
}

Result<SafetensorsFile> SafetensorsFile::open_memory(std::span<const uint8_t> bytes, const std::string & name) {
    SafetensorsFile f;
    f.bytes_ = bytes;
    f.name_ = name;
    QUANTA_TRY(f.parse());
    return f;
}

const TensorView * SafetensorsFile::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::parse() {
    const std::string ctx = "safetensors '" + name_ + "'";
    const uint64_t file_size = bytes_.size();
    if (file_size < 8)
        return Status::error(ctx + ": truncated: " + std::to_string(file_size) + " bytes, no header length");
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes_.data(), 8);
    if (header_len > kSafetensorsMaxHeaderBytes)
        return Status::error(ctx + ": header length " + std::to_string(header_len) + " exceeds the limit of " +
                             std::to_string(kSafetensorsMaxHeaderBytes) + " bytes");
    if (header_len > file_size - 8)
        return Status::error(ctx + ": truncated: header length " + std::to_string(header_len) + " but only " +
                             std::to_string(file_size - 8) + " bytes follow");
    data_offset_ = 8 + header_len;
    const std::string_view text(reinterpret_cast<const char *>(bytes_.data() + 8), size_t(header_len));
    if (text.empty() || text[0] != '{') return Status::error(ctx + ": header does not start with '{'");
    auto header = parse_json(text, ctx);
    if (!header.ok()) return header.status();
    if (!header->is_object()) return Status::error(ctx + ": header is not a JSON object");

    const uint64_t data_bytes = file_size - data_offset_;
    size_t n_tensors = 0;
    for (auto it = header->begin(); it != header->end(); ++it) n_tensors += it.key() != "__metadata__";
    names_.reserve(n_tensors);
    tensors_.reserve(n_tensors);
    for (auto it = header->begin(); it != header->end(); ++it) {
        const std::string & name = it.key();
        if (name == "__metadata__") {
            if (!it->is_object()) return Status::error(ctx + ": __metadata__ is not an object");
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string())
                    return Status::error(ctx + ": __metadata__ '" + printable(m.key()) + "' is not a string");
                metadata_.emplace_back(m.key(), m->get<std::string>());
            }
            continue;
        }
        const std::string tctx = ctx + ": tensor '" + printable(name) + "'";
        if (name.empty()) return Status::error(ctx + ": a tensor has an empty name");
        if (!it->is_object()) return Status::error(tctx + ": entry is not an object");
        const json & e = *it;
        if (!e.contains("dtype") || !e["dtype"].is_string()) return Status::error(tctx + ": missing string 'dtype'");
        if (!e.contains("shape")) return Status::error(tctx + ": missing 'shape'");
        if (!e.contains("data_offsets")) return Status::error(tctx + ": missing 'data_offsets'");
        const std::string dtype = e["dtype"].get<std::string>();
        const Dtype * dt = nullptr;
        for (const auto & d : kDtypes)
            if (dtype == d.name) dt = &d;
        if (dt == nullptr)
            return Status::error(tctx + ": dtype '" + printable(dtype) + "' is not supported (F32, F16 and BF16 are)");
        auto shape = parse_uint_array(e["shape"], "shape", tctx);
        if (!shape.ok()) return shape.status();
        auto offs = parse_uint_array(e["data_offsets"], "data_offsets", tctx);
        if (!offs.ok()) return offs.status();
        if (shape->size() > kMaxDims)
            return Status::error(tctx + ": " + std::to_string(shape->size()) + " dims (quanta handles at most 4)");
        if (offs->size() != 2) return Status::error(tctx + ": data_offsets must hold [begin, end]");
        uint64_t n = 1;
        for (uint64_t d : *shape)
            if (!checked_mul(n, d, n) || n > uint64_t(INT64_MAX))
                return Status::error(tctx + ": shape overflows 64 bits");
        uint64_t size = 0;
        if (!checked_mul(n, dt->bytes, size)) return Status::error(tctx + ": byte size overflows 64 bits");
        const uint64_t begin = (*offs)[0], end = (*offs)[1];
        if (end < begin)
            return Status::error(tctx + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                 "] end before they begin");
        if (end > data_bytes)
            return Status::error(tctx + ": data_offsets end " + std::to_string(end) + " is past the end of the data (" +
                                 std::to_string(data_bytes) + " bytes)");
        if (end - begin != size)
            return Status::error(tctx + ": data_offsets span " + std::to_string(end - begin) + " bytes, but " + dtype +
                                 " of this shape needs " + std::to_string(size));
        names_.push_back(name);
        TensorView t;
        t.name = names_.back();
        t.type = dt->type;
        t.n_dims = uint32_t(shape->size());
        for (size_t d = 0; d < shape->size(); ++d) t.ne[d] = int64_t((*shape)[shape->size() - 1 - d]);
        t.offset = data_offset_ + begin;
        t.size = size;
        t.data = bytes_.data() + t.offset;
        by_name_.emplace(t.name, tensors_.size());  // names are unique: parse_json refused duplicates
        tensors_.push_back(t);
    }
    if (std::string overlap = overlap_error(tensors_); !overlap.empty()) return Status::error(ctx + ": " + overlap);
    return ok_status();
}

Result<SafetensorsIndex> parse_safetensors_index(std::string_view text, const std::string & name) {
    const std::string ctx = "safetensors index '" + name + "'";
    if (text.size() > kSafetensorsMaxHeaderBytes) return Status::error(ctx + ": index file is too large");
    auto j = parse_json(text, ctx);
    if (!j.ok()) return j.status();
    if (!j->is_object() || !j->contains("weight_map") || !(*j)["weight_map"].is_object())
        return Status::error(ctx + ": no \"weight_map\" object");
    SafetensorsIndex idx;
    if (j->contains("metadata") && (*j)["metadata"].is_object())
        for (auto it = (*j)["metadata"].begin(); it != (*j)["metadata"].end(); ++it)
            idx.metadata.emplace_back(it.key(), it->is_string() ? it->get<std::string>() : it->dump());
    for (auto it = (*j)["weight_map"].begin(); it != (*j)["weight_map"].end(); ++it) {
        if (!it->is_string()) return Status::error(ctx + ": weight_map['" + printable(it.key()) + "'] is not a string");
        std::string shard = it->get<std::string>();
        if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
            shard == "." || shard == "..")
            return Status::error(ctx + ": shard name '" + printable(shard) + "' is not a plain file name");
        idx.weight_map.emplace_back(it.key(), std::move(shard));
    }
    return idx;
}

const TensorView * SafetensorsModel::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Result<SafetensorsModel> SafetensorsModel::open(const std::string & path) {
    SafetensorsModel m;
    m.path_ = path;
    std::error_code ec;
    fs::path p(path);
    fs::path index;
    if (fs::is_directory(p, ec)) {
        if (fs::exists(p / "model.safetensors.index.json", ec)) {
            index = p / "model.safetensors.index.json";
        } else if (fs::exists(p / "model.safetensors", ec)) {
            p = p / "model.safetensors";
        } else {
            std::vector<fs::path> found;
            for (const auto & e : fs::directory_iterator(p, ec))
                if (e.path().extension() == ".safetensors") found.push_back(e.path());
            if (found.size() != 1)
                return Status::error("safetensors: '" + path + "': directory holds " + std::to_string(found.size()) +
                                     " .safetensors files and no model.safetensors.index.json");
            p = found[0];
        }
    } else if (p.string().size() >= 5 && p.string().ends_with(".json")) {
        index = p;
    }

    if (index.empty()) {
        auto f = SafetensorsFile::open(p.string());
        if (!f.ok()) return f.status();
        m.metadata_ = f->metadata();
        m.shards_.push_back(std::move(*f));
    } else {
        const std::string ctx = "safetensors index '" + index.string() + "'";
        auto file = MmapFile::open(index.string());
        if (!file.ok()) return Status::error("safetensors: " + file.status().message());
        auto idx = parse_safetensors_index(
            std::string_view(reinterpret_cast<const char *>(file->data()), size_t(file->size())), index.string());
        if (!idx.ok()) return idx.status();
        m.metadata_ = idx->metadata;
        // Shards in the order their names sort (model-00001-of-N first).
        std::vector<std::string> shard_names;
        for (const auto & [tensor, shard] : idx->weight_map) shard_names.push_back(shard);
        std::sort(shard_names.begin(), shard_names.end());
        shard_names.erase(std::unique(shard_names.begin(), shard_names.end()), shard_names.end());
        for (const auto & s : shard_names) {
            auto f = SafetensorsFile::open((index.parent_path() / s).string());
            if (!f.ok()) return f.status().with_context(ctx);
            m.shards_.push_back(std::move(*f));
        }
        // Every weight_map entry must be in the shard it names.
        for (const auto & [tensor, shard] : idx->weight_map) {
            const size_t si =
                size_t(std::lower_bound(shard_names.begin(), shard_names.end(), shard) - shard_names.begin());
            if (m.shards_[si].find(tensor) == nullptr)
                return Status::error(ctx + ": tensor '" + printable(tensor) + "' is not in its shard '" + shard + "'");
        }
    }
    // Merge: names must be unique across shards.
    size_t total = 0;
    for (const auto & s : m.shards_) total += s.tensors().size();
    m.tensors_.reserve(total);
    for (uint32_t si = 0; si < m.shards_.size(); ++si) {
        for (TensorView t : m.shards_[si].tensors()) {
            t.shard = si;
            auto [it, inserted] = m.by_name_.emplace(t.name, m.tensors_.size());
            if (!inserted)
                return Status::error("safetensors: tensor '" + printable(t.name) + "' is in both '" +
                                     m.shards_[m.tensors_[it->second].shard].path() + "' and '" + m.shards_[si].path() +
                                     "'");
            m.tensors_.push_back(t);
        }
    }
    return m;
}

}  // namespace quanta::formats
