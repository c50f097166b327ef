// formats/qnt_reader.cpp — opening and verifying .qnt files (layout in qnt.h).
//
// open() touches only the header and the index (at the end of the file): the data section is never
// read, so opening costs the same for a 100 MB and a 100 GB model. Every number from the file is
// checked before it is used, with overflow-safe arithmetic, before any TensorView is created.
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "formats/qnt.h"

namespace quanta::formats {

namespace {

template <typename T>
T load(const uint8_t * p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

}  // namespace

Result<QntReader> QntReader::open(const std::string & path, const QntOpenOptions & options) {
    auto file = MmapFile::open(path);
    if (!file.ok()) return Status::error("qnt: " + file.status().message());
    QntReader r;
    r.file_ = std::move(*file);
    r.bytes_ = r.file_.bytes();
    r.name_ = path;
    QUANTA_TRY(r.parse(options));
    return r;
}

Result<QntReader> QntReader::open_memory(std::span<const uint8_t> bytes, const std::string & name,
                                         const QntOpenOptions & options) {
    QntReader r;
    r.bytes_ = bytes;
    r.name_ = name;
    QUANTA_TRY(r.parse(options));
    return r;
}

Status QntReader::parse(const QntOpenOptions & options) {
    const std::string ctx = "qnt '" + name_ + "'";
    metadata_ = Metadata(ctx);
    const uint64_t file_size = bytes_.size();
    auto fail = [&](const std::string & what) { return Status::error(ctx + ": " + what); };

    if (file_size < kQntHeaderBytes)
        return fail("truncated: " + std::to_string(file_size) + " bytes is shorter than the 64-byte header");
    const uint8_t * h = bytes_.data();
    if (std::memcmp(h, kQntMagic, 4) != 0) return fail("bad magic: not a .qnt file");
    version_major_ = load<uint16_t>(h + 4);
    version_minor_ = load<uint16_t>(h + 6);
    if (version_major_ != kQntVersionMajor)
        return fail("format version " + std::to_string(version_major_) + "." + std::to_string(version_minor_) +
                    " is not readable by this quanta, which reads .qnt version " + std::to_string(kQntVersionMajor) +
                    ".x; " +
                    (version_major_ > kQntVersionMajor
                         ? "upgrade quanta to one that reads .qnt version " + std::to_string(version_major_)
                         : std::string("the file is damaged or from a pre-release")));
    const uint32_t header_bytes = load<uint32_t>(h + 8);
    alignment_ = load<uint32_t>(h + 12);
    data_offset_ = load<uint64_t>(h + 16);
    const uint64_t data_bytes = load<uint64_t>(h + 24);
    const uint64_t index_offset = load<uint64_t>(h + 32);
    const uint64_t index_bytes = load<uint64_t>(h + 40);
    const uint64_t index_checksum = load<uint64_t>(h + 48);
    const uint32_t meta_count = load<uint32_t>(h + 56);
    const uint32_t tensor_count = load<uint32_t>(h + 60);

    if (header_bytes < kQntHeaderBytes || header_bytes > data_offset_)
        return fail("header size " + std::to_string(header_bytes) + " must be in [64, data offset " +
                    std::to_string(data_offset_) + "]");
    if (!is_pow2(alignment_) || alignment_ < kQntMinAlignment || alignment_ > kQntMaxAlignment)
        return fail("alignment " + std::to_string(alignment_) + " is not a power of two in [64, 65536]");
    if (data_offset_ % kQntDataAlignment != 0 || data_offset_ % alignment_ != 0)
        return fail("data offset " + std::to_string(data_offset_) + " is not a multiple of 4096 and of the alignment " +
                    std::to_string(alignment_));
    uint64_t data_end = 0, index_end = 0;
    if (!checked_add(data_offset_, data_bytes, data_end) || data_end > file_size)
        return fail("truncated: data section [" + std::to_string(data_offset_) + ", +" + std::to_string(data_bytes) +
                    ") runs past the end of the file (" + std::to_string(file_size) + " bytes)");
    if (!checked_add(index_offset, index_bytes, index_end) || index_end > file_size)
        return fail("truncated: index [" + std::to_string(index_offset) + ", +" + std::to_string(index_bytes) +
                    ") runs past the end of the file (" + std::to_string(file_size) + " bytes)");
    if (index_offset < data_end)
        return fail("index offset " + std::to_string(index_offset) + " overlaps the data section ending at " +
                    std::to_string(data_end));
    if (meta_count > kQntMaxMetadata)
        return fail("metadata count " + std::to_string(meta_count) + " exceeds the limit");
    if (tensor_count > kQntMaxTensors)
        return fail("tensor count " + std::to_string(tensor_count) + " exceeds the limit");

    const auto index = bytes_.subspan(size_t(index_offset), size_t(index_bytes));
    if (options.check_index_checksum && XXH3_64bits(index.data(), index.size()) != index_checksum)
        return fail("index checksum mismatch: the metadata or tensor directory is corrupt");

    ByteReader r(index, ctx, index_offset);
    // Each metadata entry takes at least 4+1+4+1 bytes, each directory entry at least 4+1+4+4+8+24.
    if (uint64_t(meta_count) * 10 + uint64_t(tensor_count) * 45 > index_bytes)
        return fail(std::to_string(meta_count) + " metadata entries and " + std::to_string(tensor_count) +
                    " tensors cannot fit in an index of " + std::to_string(index_bytes) + " bytes");
    ValueLimits limits;
    limits.max_string_bytes = kQntMaxStringBytes;
    limits.max_depth = 0;
    QUANTA_TRY(parse_metadata_entries<uint32_t>(r, meta_count, kQntMaxKeyBytes, limits, metadata_));

    tensors_.reserve(tensor_count);
    by_name_.reserve(tensor_count);
    for (uint32_t i = 0; i < tensor_count; ++i) {
        TensorView t;
        QUANTA_TRY(r.read_string<uint32_t>(t.name, kQntMaxNameBytes, true, "tensor name"));
        const std::string tctx = ctx + ": tensor '" + printable(t.name) + "'";
        if (t.name.empty()) return r.error("tensor " + std::to_string(i) + " has an empty name");
        uint32_t type_id = 0, n_dims = 0;
        QUANTA_TRY(r.read(type_id, "tensor type"));
        QUANTA_TRY(r.read(n_dims, "tensor dim count"));
        auto ts = type_size_from_id(type_id);
        if (!ts)
            return Status::error(
                tctx + ": tensor type id " + std::to_string(type_id) + " is unknown to this quanta (file version " +
                std::to_string(version_major_) + "." + std::to_string(version_minor_) + "; this quanta reads up to " +
                std::to_string(kQntVersionMajor) + "." + std::to_string(kQntVersionMinor) + "): upgrade quanta");
        if (n_dims < 1 || n_dims > kMaxDims)
            return Status::error(tctx + ": " + std::to_string(n_dims) + " dims (must be 1..4)");
        uint64_t dims[kMaxDims] = {1, 1, 1, 1};
        for (uint32_t d = 0; d < n_dims; ++d) QUANTA_TRY(r.read(dims[d], "tensor dim"));
        uint64_t rel = 0;
        QUANTA_TRY(r.read(rel, "tensor offset"));
        QUANTA_TRY(r.read(t.size, "tensor size"));
        QUANTA_TRY(r.read(t.checksum, "tensor checksum"));
        auto expect = tensor_bytes(*ts, std::span<const uint64_t>(dims, n_dims), tctx);
        if (!expect.ok()) return expect.status();
        if (*expect != t.size)
            return Status::error(tctx + ": size " + std::to_string(t.size) + " bytes, but " + ts->name + " " +
                                 std::to_string(dims[0]) + "x" + std::to_string(dims[1]) + "x" +
                                 std::to_string(dims[2]) + "x" + std::to_string(dims[3]) + " needs " +
                                 std::to_string(*expect));
        for (uint32_t d = 0; d < kMaxDims; ++d) {
            if (dims[d] > uint64_t(INT64_MAX)) return Status::error(tctx + ": dim too large");
            t.ne[d] = int64_t(dims[d]);
        }
        uint64_t end = 0;
        if (rel % alignment_ != 0)
            return Status::error(tctx + ": offset " + std::to_string(rel) + " is not a multiple of the alignment " +
                                 std::to_string(alignment_));
        if (!checked_add(rel, t.size, end) || end > data_bytes)
            return Status::error(tctx + ": data [" + std::to_string(rel) + ", +" + std::to_string(t.size) +
                                 ") runs past the end of the data section (" + std::to_string(data_bytes) + " bytes)");
        t.type = ts->type;
        t.n_dims = n_dims;
        t.offset = data_offset_ + rel;
        t.data = bytes_.data() + t.offset;
        if (!by_name_.emplace(t.name, tensors_.size()).second) return Status::error(tctx + ": duplicate tensor name");
        tensors_.push_back(t);
    }
    if (r.remaining() != 0)
        return r.error(std::to_string(r.remaining()) + " unexpected bytes after the tensor directory");

    if (std::string overlap = overlap_error(tensors_); !overlap.empty()) return fail(overlap);
    return ok_status();
}

const TensorView * QntReader::find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

std::vector<std::string> QntReader::verify(int n_threads) const {
    if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
    // Largest first, so one huge tensor does not start last and hold up the finish.
    std::vector<size_t> order(tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors_[a].size > tensors_[b].size; });
    std::vector<char> bad(tensors_.size(), 0);
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t k; (k = next.fetch_add(1)) < order.size();) {
            const TensorView & t = tensors_[order[k]];
            if (XXH3_64bits(t.data, size_t(t.size)) != t.checksum) bad[order[k]] = 1;
        }
    };
    n_threads = int(std::min<size_t>(size_t(n_threads), std::max<size_t>(1, order.size())));
    std::vector<std::thread> pool;
    for (int i = 1; i < n_threads; ++i) pool.emplace_back(work);
    work();
    for (auto & th : pool) th.join();
    std::vector<std::string> names;
    for (size_t i = 0; i < tensors_.size(); ++i)
        if (bad[i]) names.emplace_back(tensors_[i].name);
    return names;
}

}  // namespace quanta::formats
