// formats/qnt_writer.cpp — the streaming .qnt writer (layout in qnt.h, spec in docs/format.md).
//
// Tensor bytes are written straight to a temporary file as they arrive, hashed on the way with
// XXH3's streaming API, so memory holds one caller buffer at a time. The index (metadata and
// directory) is built in memory — it is small — and written after the data; the header last, at
// offset 0. The file becomes visible under its final name only after fsync and rename.
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "formats/qnt.h"

namespace quanta::formats {

namespace {

constexpr size_t kHoleBytes = 64 * 1024;

bool all_zero(const uint8_t * p, size_t n) {
    // Compare 8 bytes at a time; the first non-zero word ends the scan, so real data costs little.
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w != 0) return false;
    }
    for (; i < n; ++i)
        if (p[i] != 0) return false;
    return true;
}

void put_bytes(std::vector<uint8_t> & out, const void * p, size_t n) {
    const auto * b = static_cast<const uint8_t *>(p);
    out.insert(out.end(), b, b + n);
}
template <typename T>
void put(std::vector<uint8_t> & out, T v) {
    put_bytes(out, &v, sizeof(T));
}

}  // namespace

struct QntWriter::State {
    std::string path, tmp_path;
    int fd = -1;
    uint32_t alignment = kQntDefaultAlignment;
    uint64_t pos = 0;  // current write position (bytes, absolute)
    std::vector<uint8_t> meta, dir;
    uint32_t meta_count = 0, tensor_count = 0;
    std::set<std::string, std::less<>> keys, names;
    Status failed;  // first I/O error: every later call returns it
    bool finished = false;
    // The tensor being streamed.
    bool in_tensor = false;
    std::string cur_name;
    uint64_t cur_expected = 0, cur_written = 0, cur_offset = 0;
    XXH3_state_t * hash = nullptr;

    ~State() {
        if (hash != nullptr) XXH3_freeState(hash);
        if (fd >= 0) ::close(fd);
        if (!finished && !tmp_path.empty()) ::unlink(tmp_path.c_str());
    }

    Status io_error(const char * what) {
        failed = Status::error("qnt writer: '" + path + "': " + what + ": " + std::strerror(errno));
        return failed;
    }

    // Writes at `pos`, turning long runs of zeros into holes.
    Status write_data(const uint8_t * p, uint64_t n) {
        while (n > 0) {
            const size_t chunk = size_t(std::min<uint64_t>(n, kHoleBytes));
            if (chunk == kHoleBytes && all_zero(p, chunk)) {
                pos += chunk;  // the hole: pwrite at a later offset leaves it as zeros
            } else {
                size_t done = 0;
                while (done < chunk) {
                    ssize_t w = ::pwrite(fd, p + done, chunk - done, off_t(pos + done));
                    if (w < 0 && errno == EINTR) continue;
                    if (w <= 0) return io_error("write failed");
                    done += size_t(w);
                }
                pos += chunk;
            }
            p += chunk;
            n -= chunk;
        }
        return ok_status();
    }

    Status pad_to(uint64_t align) {
        static const uint8_t kZeros[kQntMaxAlignment] = {};
        const uint64_t target = (pos + align - 1) / align * align;
        return write_data(kZeros, target - pos);
    }
};

QntWriter::QntWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}
QntWriter::QntWriter(QntWriter &&) noexcept = default;
QntWriter & QntWriter::operator=(QntWriter &&) noexcept = default;
QntWriter::~QntWriter() = default;

Result<QntWriter> QntWriter::create(const std::string & path, const QntWriterOptions & options) {
    if (!is_pow2(options.alignment) || options.alignment < kQntMinAlignment || options.alignment > kQntMaxAlignment)
        return Status::error("qnt writer: alignment " + std::to_string(options.alignment) +
                             " must be a power of two in [64, 65536]");
    auto s = std::make_unique<State>();
    s->path = path;
    s->alignment = options.alignment;
    // The temporary file lives beside the target so that rename() is atomic (same filesystem).
    std::string tmpl = path + ".tmp.XXXXXX";
    s->fd = ::mkstemp(tmpl.data());
    if (s->fd < 0)
        return Status::error("qnt writer: cannot create a temporary file '" + tmpl + "': " + std::strerror(errno));
    s->tmp_path = tmpl;
    (void)::fchmod(s->fd, 0644);  // mkstemp makes 0600; a model file is readable by all
    s->hash = XXH3_createState();
    if (s->hash == nullptr) return Status::error("qnt writer: out of memory for the hash state");
    // Data starts at the first page after the header; the header is written by finish().
    s->pos = std::max<uint64_t>(kQntDataAlignment, s->alignment);
    return QntWriter(std::move(s));
}

Status QntWriter::add_raw(std::string_view key, uint32_t type, const void * bytes, size_t n) {
    if (!s_ || s_->finished) return Status::error("qnt writer: add metadata after finish()");
    QUANTA_TRY(s_->failed);
    if (key.empty() || key.size() > kQntMaxKeyBytes || !valid_utf8(key))
        return Status::error("qnt writer: metadata key '" + printable(key) + "' must be 1..256 bytes of UTF-8");
    if (s_->keys.count(key) != 0) return Status::error("qnt writer: duplicate metadata key '" + std::string(key) + "'");
    if (s_->meta_count >= kQntMaxMetadata) return Status::error("qnt writer: too many metadata entries");
    s_->keys.emplace(key);
    put(s_->meta, uint32_t(key.size()));
    put_bytes(s_->meta, key.data(), key.size());
    put(s_->meta, type);
    put_bytes(s_->meta, bytes, n);
    ++s_->meta_count;
    return ok_status();
}

#define QUANTA_SCALAR_ADDER(name, T, VT)                             \
    Status QntWriter::add_##name(std::string_view key, T v) {        \
        return add_raw(key, uint32_t(ValueType::VT), &v, sizeof(T)); \
    }
QUANTA_METADATA_NUMERIC_TYPES(QUANTA_SCALAR_ADDER)
#undef QUANTA_SCALAR_ADDER

Status QntWriter::add_bool(std::string_view key, bool v) {
    const uint8_t b = v ? 1 : 0;
    return add_raw(key, uint32_t(ValueType::Bool), &b, 1);
}

Status QntWriter::add_string(std::string_view key, std::string_view v) {
    if (v.size() > kQntMaxStringBytes)
        return Status::error("qnt writer: metadata '" + std::string(key) + "': string too long");
    std::vector<uint8_t> buf;
    put(buf, uint64_t(v.size()));
    put_bytes(buf, v.data(), v.size());
    return add_raw(key, uint32_t(ValueType::String), buf.data(), buf.size());
}

Status QntWriter::add_scalar_array(std::string_view key, uint32_t elem, const void * data, uint64_t count,
                                   size_t size) {
    std::vector<uint8_t> buf;
    put(buf, elem);
    put(buf, count);
    put_bytes(buf, data, size_t(count) * size);
    return add_raw(key, uint32_t(ValueType::Array), buf.data(), buf.size());
}

#define QUANTA_ARRAY_ADDER(T, VT)                                                             \
    Status QntWriter::add_array(std::string_view key, std::span<const T> v) {                 \
        return add_scalar_array(key, uint32_t(ValueType::VT), v.data(), v.size(), sizeof(T)); \
    }
QUANTA_ARRAY_ADDER(uint8_t, U8)
QUANTA_ARRAY_ADDER(int8_t, I8)
QUANTA_ARRAY_ADDER(uint16_t, U16)
QUANTA_ARRAY_ADDER(int16_t, I16)
QUANTA_ARRAY_ADDER(uint32_t, U32)
QUANTA_ARRAY_ADDER(int32_t, I32)
QUANTA_ARRAY_ADDER(uint64_t, U64)
QUANTA_ARRAY_ADDER(int64_t, I64)
QUANTA_ARRAY_ADDER(float, F32)
QUANTA_ARRAY_ADDER(double, F64)
#undef QUANTA_ARRAY_ADDER

Status QntWriter::add_bool_array(std::string_view key, const std::vector<bool> & v) {
    std::vector<uint8_t> bytes(v.begin(), v.end());
    return add_scalar_array(key, uint32_t(ValueType::Bool), bytes.data(), bytes.size(), 1);
}

Status QntWriter::add_array(std::string_view key, std::span<const std::string_view> v) {
    std::vector<uint8_t> buf;
    put(buf, uint32_t(ValueType::String));
    put(buf, uint64_t(v.size()));
    for (std::string_view s : v) {
        if (s.size() > kQntMaxStringBytes)
            return Status::error("qnt writer: metadata '" + std::string(key) + "': string too long");
        put(buf, uint64_t(s.size()));
        put_bytes(buf, s.data(), s.size());
    }
    return add_raw(key, uint32_t(ValueType::Array), buf.data(), buf.size());
}

Status QntWriter::add_array(std::string_view key, std::span<const std::string> v) {
    std::vector<std::string_view> views(v.begin(), v.end());
    return add_array(key, std::span<const std::string_view>(views));
}

Status QntWriter::begin_tensor(std::string_view name, Type type, std::span<const int64_t> ne) {
    if (!s_ || s_->finished) return Status::error("qnt writer: add a tensor after finish()");
    QUANTA_TRY(s_->failed);
    const std::string ctx = "qnt writer: tensor '" + printable(name) + "'";
    if (s_->in_tensor) return Status::error(ctx + ": tensor '" + s_->cur_name + "' is not ended");
    if (name.empty() || name.size() > kQntMaxNameBytes || !valid_utf8(name))
        return Status::error(ctx + ": name must be 1..512 bytes of UTF-8");
    if (s_->names.count(name) != 0) return Status::error(ctx + ": duplicate tensor name");
    if (s_->tensor_count >= kQntMaxTensors) return Status::error(ctx + ": too many tensors");
    if (ne.empty() || ne.size() > kMaxDims)
        return Status::error(ctx + ": needs 1..4 dims, got " + std::to_string(ne.size()));
    auto ts = type_size_from_id(uint32_t(type));
    if (!ts) return Status::error(ctx + ": unknown type id " + std::to_string(uint32_t(type)));
    std::vector<uint64_t> dims;
    for (int64_t d : ne) {
        if (d <= 0) return Status::error(ctx + ": dims must be positive");
        dims.push_back(uint64_t(d));
    }
    auto bytes = tensor_bytes(*ts, dims, ctx);
    if (!bytes.ok()) return bytes.status();
    QUANTA_TRY(s_->pad_to(s_->alignment));
    const uint64_t data_start = std::max<uint64_t>(kQntDataAlignment, s_->alignment);
    s_->in_tensor = true;
    s_->cur_name = std::string(name);
    s_->cur_expected = *bytes;
    s_->cur_written = 0;
    s_->cur_offset = s_->pos - data_start;
    XXH3_64bits_reset(s_->hash);
    // The directory entry, less the checksum that end_tensor appends.
    put(s_->dir, uint32_t(name.size()));
    put_bytes(s_->dir, name.data(), name.size());
    put(s_->dir, uint32_t(type));
    put(s_->dir, uint32_t(dims.size()));
    for (uint64_t d : dims) put(s_->dir, d);
    put(s_->dir, s_->cur_offset);
    put(s_->dir, *bytes);
    return ok_status();
}

Status QntWriter::write_tensor_data(const void * data, uint64_t bytes) {
    if (!s_ || !s_->in_tensor) return Status::error("qnt writer: write_tensor_data outside begin/end_tensor");
    QUANTA_TRY(s_->failed);
    if (bytes > s_->cur_expected - s_->cur_written)
        return Status::error("qnt writer: tensor '" + s_->cur_name + "': more than the expected " +
                             std::to_string(s_->cur_expected) + " bytes");
    XXH3_64bits_update(s_->hash, data, size_t(bytes));
    s_->cur_written += bytes;
    return s_->write_data(static_cast<const uint8_t *>(data), bytes);
}

Status QntWriter::end_tensor() {
    if (!s_ || !s_->in_tensor) return Status::error("qnt writer: end_tensor without begin_tensor");
    QUANTA_TRY(s_->failed);
    if (s_->cur_written != s_->cur_expected)
        return Status::error("qnt writer: tensor '" + s_->cur_name + "': got " + std::to_string(s_->cur_written) +
                             " bytes, expected " + std::to_string(s_->cur_expected));
    put(s_->dir, uint64_t(XXH3_64bits_digest(s_->hash)));
    s_->names.insert(s_->cur_name);
    s_->in_tensor = false;
    ++s_->tensor_count;
    return ok_status();
}

Status QntWriter::add_tensor(std::string_view name, Type type, std::span<const int64_t> ne, const void * data,
                             uint64_t bytes) {
    QUANTA_TRY(begin_tensor(name, type, ne));
    if (bytes != s_->cur_expected) {
        // Roll back the directory entry begun above so the writer stays usable.
        const std::string msg = "qnt writer: tensor '" + s_->cur_name + "': got " + std::to_string(bytes) +
                                " bytes, expected " + std::to_string(s_->cur_expected);
        s_->dir.resize(s_->dir.size() - (4 + name.size() + 8 + ne.size() * 8 + 16));
        s_->in_tensor = false;
        return Status::error(msg);
    }
    QUANTA_TRY(write_tensor_data(data, bytes));
    return end_tensor();
}

Status QntWriter::finish() {
    if (!s_ || s_->finished) return Status::error("qnt writer: finish() called twice");
    QUANTA_TRY(s_->failed);
    if (s_->in_tensor) return Status::error("qnt writer: tensor '" + s_->cur_name + "' is not ended");
    State & s = *s_;
    const uint64_t data_offset = std::max<uint64_t>(kQntDataAlignment, s.alignment);
    QUANTA_TRY(s.pad_to(s.alignment));
    const uint64_t data_bytes = s.pos - data_offset;
    const uint64_t index_offset = s.pos;
    std::vector<uint8_t> index = std::move(s.meta);
    index.insert(index.end(), s.dir.begin(), s.dir.end());
    QUANTA_TRY(s.write_data(index.data(), index.size()));
    std::vector<uint8_t> header;
    put_bytes(header, kQntMagic, 4);
    put(header, kQntVersionMajor);
    put(header, kQntVersionMinor);
    put(header, kQntHeaderBytes);
    put(header, s.alignment);
    put(header, data_offset);
    put(header, data_bytes);
    put(header, index_offset);
    put(header, uint64_t(index.size()));
    put(header, uint64_t(XXH3_64bits(index.data(), index.size())));
    put(header, s.meta_count);
    put(header, s.tensor_count);
    QUANTA_CHECK(header.size() == kQntHeaderBytes);
    if (::pwrite(s.fd, header.data(), header.size(), 0) != ssize_t(header.size()))
        return s.io_error("header write failed");
    // Sets the exact size even if the last bytes written were a hole.
    if (::ftruncate(s.fd, off_t(s.pos)) != 0) return s.io_error("truncate failed");
    if (::fsync(s.fd) != 0) return s.io_error("fsync failed");
    if (::close(s.fd) != 0) {
        s.fd = -1;
        return s.io_error("close failed");
    }
    s.fd = -1;
    if (::rename(s.tmp_path.c_str(), s.path.c_str()) != 0) return s.io_error("rename failed");
    s.finished = true;
    // Make the rename itself durable.
    std::string dir = s.path;
    int dfd = ::open(::dirname(dir.data()), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
    return ok_status();
}

}  // namespace quanta::formats
