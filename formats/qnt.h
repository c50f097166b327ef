// formats/qnt.h — quanta's single-file model format, version 1.0. Full spec: docs/format.md.
//
// On-disk layout (all integers little-endian; offsets are absolute file offsets unless noted):
//
//  1. Header, 64 bytes at offset 0:
//       0  u8[4] magic "QNTA"          4  u16 version_major (1)    6  u16 version_minor (0)
//       8  u32 header_bytes (>= 64)   12  u32 alignment (tensor alignment: power of 2, 64..65536)
//      16  u64 data_offset            24  u64 data_bytes
//      32  u64 index_offset           40  u64 index_bytes
//      48  u64 index_checksum (xxh3-64 of the index section)
//      56  u32 metadata_count         60  u32 tensor_count
//  2. Data section at data_offset (a multiple of 4096 and of alignment), data_bytes long: the tensor
//     bytes, each tensor at a multiple of `alignment` from data_offset, zero padding between.
//  3. Index section at index_offset (>= data_offset + data_bytes), index_bytes long, exactly:
//     a. metadata_count key/value entries:
//          u32 key_len (1..256), key (UTF-8), u32 value_type, value
//        value: u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 as themselves, bool as one byte 0/1,
//               string = u64 byte length + bytes, array = u32 element type (not array) + u64 count +
//               elements. Type ids as GGUF: u8 0, i8 1, u16 2, i16 3, u32 4, i32 5, f32 6, bool 7,
//               string 8, array 9, u64 10, i64 11, f64 12.
//     b. tensor_count directory entries:
//          u32 name_len (1..512), name (UTF-8), u32 type_id (quant/types.def), u32 n_dims (1..4),
//          u64 ne[n_dims] (dim 0 innermost), u64 offset (relative to data_offset), u64 size (bytes),
//          u64 checksum (xxh3-64 of the tensor's bytes)
//
// The writer streams: tensor data goes to disk as it is produced; metadata and the directory are
// small and written last, then the header. Readers accept any newer minor version (minor versions
// only add things older readers may ignore) and refuse a newer major version.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "formats/metadata.h"
#include "formats/mmap_file.h"
#include "formats/tensor_view.h"
#include "quant/status.h"
#include "quant/types.h"

namespace quanta::formats {

constexpr char kQntMagic[4] = {'Q', 'N', 'T', 'A'};
constexpr uint16_t kQntVersionMajor = 1;
constexpr uint16_t kQntVersionMinor = 0;
constexpr uint32_t kQntHeaderBytes = 64;
constexpr uint64_t kQntDataAlignment = 4096;  // data_offset is page-aligned
constexpr uint32_t kQntMinAlignment = 64;
constexpr uint32_t kQntMaxAlignment = 65536;
constexpr uint32_t kQntDefaultAlignment = 256;
constexpr uint64_t kQntMaxKeyBytes = 256;
constexpr uint64_t kQntMaxNameBytes = 512;
constexpr uint64_t kQntMaxStringBytes = uint64_t(256) << 20;  // one metadata string
constexpr uint32_t kQntMaxTensors = 1u << 20;
constexpr uint32_t kQntMaxMetadata = 1u << 20;

struct QntWriterOptions {
    uint32_t alignment = kQntDefaultAlignment;  // power of two in [64, 65536]
};

// Writes a .qnt file in one pass. Not thread-safe. Usage:
//   auto w = QntWriter::create("model.qnt");  QUANTA_TRY(w->add_string("general.architecture", "llama"));
//   QUANTA_TRY(w->add_tensor("tok_embd", Type::Q8_0, ne, data, bytes));   // or begin/write/end
//   QUANTA_TRY(w->finish());
// Data is written to "<path>.tmp.XXXXXX" in the target directory; finish() writes the index and
// header, fsyncs, and renames onto `path`. Destroying an unfinished writer deletes the temporary
// file, so `path` never holds a partial file. Runs of 64 KiB of zeros become holes (sparse files).
class QntWriter {
public:
    static Result<QntWriter> create(const std::string & path, const QntWriterOptions & options = {});
    QntWriter(QntWriter &&) noexcept;
    QntWriter & operator=(QntWriter &&) noexcept;
    ~QntWriter();

    // Metadata, at any time before finish(). Keys: 1..256 bytes of UTF-8, unique.
    Status add_u8(std::string_view key, uint8_t v);
    Status add_i8(std::string_view key, int8_t v);
    Status add_u16(std::string_view key, uint16_t v);
    Status add_i16(std::string_view key, int16_t v);
    Status add_u32(std::string_view key, uint32_t v);
    Status add_i32(std::string_view key, int32_t v);
    Status add_u64(std::string_view key, uint64_t v);
    Status add_i64(std::string_view key, int64_t v);
    Status add_f32(std::string_view key, float v);
    Status add_f64(std::string_view key, double v);
    Status add_bool(std::string_view key, bool v);
    Status add_string(std::string_view key, std::string_view v);
    Status add_array(std::string_view key, std::span<const uint8_t> v);
    Status add_array(std::string_view key, std::span<const int8_t> v);
    Status add_array(std::string_view key, std::span<const uint16_t> v);
    Status add_array(std::string_view key, std::span<const int16_t> v);
    Status add_array(std::string_view key, std::span<const uint32_t> v);
    Status add_array(std::string_view key, std::span<const int32_t> v);
    Status add_array(std::string_view key, std::span<const uint64_t> v);
    Status add_array(std::string_view key, std::span<const int64_t> v);
    Status add_array(std::string_view key, std::span<const float> v);
    Status add_array(std::string_view key, std::span<const double> v);
    Status add_array(std::string_view key, std::span<const std::string> v);
    Status add_array(std::string_view key, std::span<const std::string_view> v);
    Status add_bool_array(std::string_view key, const std::vector<bool> & v);

    // Tensors, one at a time. `ne` has 1..4 dims, dim 0 innermost and a multiple of the type's
    // block size; the byte count must equal the type's row bytes times the other dims.
    Status add_tensor(std::string_view name, Type type, std::span<const int64_t> ne, const void * data, uint64_t bytes);
    // The same, streamed: begin, then write_tensor_data any number of times, then end_tensor,
    // which checks that exactly the expected bytes arrived.
    Status begin_tensor(std::string_view name, Type type, std::span<const int64_t> ne);
    Status write_tensor_data(const void * data, uint64_t bytes);
    Status end_tensor();

    // Writes the index and header, fsyncs and renames. The writer is unusable afterwards.
    Status finish();

private:
    struct State;
    explicit QntWriter(std::unique_ptr<State> s);
    Status add_raw(std::string_view key, uint32_t type, const void * bytes, size_t n);
    Status add_scalar_array(std::string_view key, uint32_t elem, const void * data, uint64_t count, size_t size);
    std::unique_ptr<State> s_;
};

struct QntOpenOptions {
    // Checks the index checksum at open (costs O(index)). Fuzzers turn it off to reach the parser.
    bool check_index_checksum = true;
};

// A mapped .qnt file. open() validates the header, every metadata entry and every directory entry
// (offsets, sizes, alignment, overlaps, names) against the file size; it never reads tensor data,
// so its cost is O(metadata + tensors), not O(file size). Immutable after open: const methods are
// safe from any number of threads.
class QntReader {
public:
    static Result<QntReader> open(const std::string & path, const QntOpenOptions & options = {});
    // Parses bytes owned by the caller (kept alive by the caller for the reader's lifetime).
    static Result<QntReader> open_memory(std::span<const uint8_t> bytes, const std::string & name,
                                         const QntOpenOptions & options = {});

    uint16_t version_major() const { return version_major_; }
    uint16_t version_minor() const { return version_minor_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    uint64_t file_size() const { return bytes_.size(); }
    const std::string & path() const { return name_; }

    const Metadata & metadata() const { return metadata_; }
    const std::vector<TensorView> & tensors() const { return tensors_; }
    const TensorView * find(std::string_view name) const;

    // Recomputes every tensor's xxh3-64 on `n_threads` threads (0: all cores) and returns the names
    // of the tensors whose bytes do not match their checksum, in directory order (empty: all good).
    std::vector<std::string> verify(int n_threads = 0) const;

private:
    QntReader() = default;
    Status parse(const QntOpenOptions & options);

    MmapFile file_;
    std::span<const uint8_t> bytes_;
    std::string name_;
    uint16_t version_major_ = 0, version_minor_ = 0;
    uint32_t alignment_ = 0;
    uint64_t data_offset_ = 0;
    Metadata metadata_;
    std::vector<TensorView> tensors_;
    std::unordered_map<std::string_view, size_t> by_name_;
};

}  // namespace quanta::formats
