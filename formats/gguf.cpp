// formats/gguf.cpp — GGUF v2/v3 parsing with every count, length, offset and size checked.
#include "formats/gguf.h"

#include <algorithm>

namespace quanta::formats {

namespace {
constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
}

Result<GgufReader> GgufReader::open(const std::string & path) {
    auto file = MmapFile::open(path);
    if (!file.ok()) return Status::error("gguf: " + file.status().message());
    GgufReader r;
    r.file_ = std::move(*file);
    r.bytes_ = r.file_.bytes();
    r.name_ = path;
    QUANTA_TRY(r.parse());
    return r;
}

Result<GgufReader> GgufReader::open_memory(std::span<const uint8_t> bytes, const std::string & name) {
    GgufReader r;
    r.bytes_ = bytes;
    r.name_ = name;
    QUANTA_TRY(r.parse());
    return r;
}

const TensorView * GgufReader::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Status GgufReader::parse() {
    const std::string ctx = "gguf '" + name_ + "'";
    metadata_ = Metadata(ctx);
    ByteReader r(bytes_, ctx);
    uint32_t magic = 0;
    QUANTA_TRY(r.read(magic, "magic"));
    if (magic != kGgufMagic) return Status::error(ctx + ": bad magic: not a GGUF file");
    QUANTA_TRY(r.read(version_, "version"));
    if (version_ == 1) return Status::error(ctx + ": GGUF version 1 is not supported (re-convert to version 3)");
    if (version_ != 2 && version_ != 3) {
        const uint32_t swapped = __builtin_bswap32(version_);
        if (swapped == 2 || swapped == 3) return Status::error(ctx + ": big-endian GGUF is not supported");
        return Status::error(ctx + ": GGUF version " + std::to_string(version_) + " is not supported (2 and 3 are)");
    }
    uint64_t n_tensors = 0, n_kv = 0;
    QUANTA_TRY(r.read(n_tensors, "tensor count"));
    QUANTA_TRY(r.read(n_kv, "metadata count"));
    // Smallest encodings: a key/value 8+1+4+1 bytes, a tensor info 8+1+4+4+8 bytes.
    if (n_kv > r.remaining() / 14) return r.error("metadata count " + std::to_string(n_kv) + " cannot fit in the file");
    if (n_tensors > r.remaining() / 25)
        return r.error("tensor count " + std::to_string(n_tensors) + " cannot fit in the file");

    ValueLimits limits;
    limits.max_string_bytes = kGgufMaxStringBytes;
    limits.max_depth = kGgufMaxArrayDepth;
    QUANTA_TRY(parse_metadata_entries<uint64_t>(r, n_kv, kGgufMaxKeyBytes, limits, metadata_));
    if (const Value * a = metadata_.find("general.alignment")) {
        if (a->type != ValueType::U32)
            return Status::error(ctx + ": general.alignment is " + value_type_name(a->type) + ", expected u32");
        alignment_ = a->as_uint();
        if (!is_pow2(alignment_))
            return Status::error(ctx + ": general.alignment " + std::to_string(alignment_) + " is not a power of two");
    }

    tensors_.reserve(size_t(n_tensors));
    by_name_.reserve(size_t(n_tensors));
    std::vector<uint64_t> rel_offsets;
    rel_offsets.reserve(size_t(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        TensorView t;
        QUANTA_TRY(r.read_string<uint64_t>(t.name, kGgufMaxNameBytes, true, "tensor name"));
        if (t.name.empty()) return r.error("tensor " + std::to_string(i) + " has an empty name");
        const std::string tctx = ctx + ": tensor '" + printable(t.name) + "'";
        QUANTA_TRY(r.read(t.n_dims, "tensor dim count"));
        if (t.n_dims > kMaxDims) return Status::error(tctx + ": " + std::to_string(t.n_dims) + " dims (at most 4)");
        uint64_t dims[kMaxDims] = {1, 1, 1, 1};
        for (uint32_t d = 0; d < t.n_dims; ++d) QUANTA_TRY(r.read(dims[d], "tensor dim"));
        uint32_t type_id = 0;
        uint64_t rel = 0;
        QUANTA_TRY(r.read(type_id, "tensor type"));
        QUANTA_TRY(r.read(rel, "tensor offset"));
        auto ts = type_size_from_id(type_id);
        if (!ts)
            return Status::error(tctx + ": unknown ggml type id " + std::to_string(type_id) +
                                 " (not in quanta's type table)");
        auto bytes = tensor_bytes(*ts, std::span<const uint64_t>(dims, std::max<uint32_t>(t.n_dims, 1)), tctx);
        if (!bytes.ok()) return bytes.status();
        for (uint32_t d = 0; d < kMaxDims; ++d) t.ne[d] = int64_t(dims[d]);  // tensor_bytes bounded the product
        if (rel % alignment_ != 0)
            return Status::error(tctx + ": offset " + std::to_string(rel) + " is not a multiple of the alignment " +
                                 std::to_string(alignment_));
        t.type = ts->type;
        t.size = *bytes;
        if (!by_name_.emplace(t.name, tensors_.size()).second) return Status::error(tctx + ": duplicate tensor name");
        tensors_.push_back(t);
        rel_offsets.push_back(rel);
    }

    if (!checked_align_up(r.file_pos(), alignment_, data_offset_) || data_offset_ > bytes_.size()) {
        if (tensors_.empty()) {
            data_offset_ = bytes_.size();  // no tensors: the padding may be absent
            return ok_status();
        }
        return Status::error(ctx + ": truncated: data section would start at " + std::to_string(data_offset_) +
                             ", past the end of the file (" + std::to_string(bytes_.size()) + " bytes)");
    }
    const uint64_t data_bytes = bytes_.size() - data_offset_;
    for (size_t i = 0; i < tensors_.size(); ++i) {
        TensorView & t = tensors_[i];
        uint64_t end = 0;
        if (!checked_add(rel_offsets[i], t.size, end) || end > data_bytes)
            return Status::error(ctx + ": tensor '" + printable(t.name) + "': data [" + std::to_string(rel_offsets[i]) +
                                 ", +" + std::to_string(t.size) + ") runs past the end of the data section (" +
                                 std::to_string(data_bytes) + " bytes)");
        t.offset = data_offset_ + rel_offsets[i];
        t.data = bytes_.data() + t.offset;
    }
    if (std::string overlap = overlap_error(tensors_); !overlap.empty()) return Status::error(ctx + ": " + overlap);
    return ok_status();
}

}  // namespace quanta::formats
