// formats/gguf.h — reader for llama.cpp's GGUF files, versions 2 and 3 (little-endian).
//
// On-disk layout (all integers little-endian):
//  1. u32 magic "GGUF", u32 version (2 or 3), u64 tensor_count, u64 kv_count.
//  2. kv_count key/values: string key, u32 value type, value. A string is u64 length + bytes.
//     Value types: u8 0, i8 1, u16 2, i16 3, u32 4, i32 5, f32 6, bool 7, string 8, array 9,
//     u64 10, i64 11, f64 12; array = u32 element type, u64 count, elements (arrays may nest).
//  3. tensor_count tensor infos: string name, u32 n_dims (<= 4), u64 ne[n_dims] (dim 0 innermost),
//     u32 type (ggml type id), u64 offset (relative to the data section, a multiple of the alignment).
//  4. Padding to the alignment (metadata "general.alignment", u32, a power of two; default 32),
//     then the data section up to the end of the file.
// Version 1 (u32 counts) is refused. Decoding the block types is quant/'s job; this reader only
// knows each type's block size and bytes (quant/types.def) to check sizes.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "formats/metadata.h"
#include "formats/mmap_file.h"
#include "formats/tensor_view.h"
#include "quant/status.h"

namespace quanta::formats {

constexpr uint32_t kGgufDefaultAlignment = 32;
constexpr uint64_t kGgufMaxKeyBytes = 65535;
constexpr uint64_t kGgufMaxNameBytes = 65535;
constexpr uint64_t kGgufMaxStringBytes = uint64_t(1) << 30;
constexpr int kGgufMaxArrayDepth = 8;

// A mapped GGUF file, validated at open: header, every key/value, every tensor info (known type,
// dims, byte size, alignment, bounds, overlaps, unique names). Tensor data is never read at open.
// Immutable after open; const methods are safe from any number of threads.
class GgufReader {
public:
    static Result<GgufReader> open(const std::string & path);
    // Parses bytes owned by the caller (kept alive by the caller for the reader's lifetime).
    static Result<GgufReader> open_memory(std::span<const uint8_t> bytes, const std::string & name);

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    uint64_t file_size() const { return bytes_.size(); }
    const std::string & path() const { return name_; }

    const Metadata & metadata() const { return metadata_; }
    const std::vector<TensorView> & tensors() const { return tensors_; }
    const TensorView * find(std::string_view name) const;

private:
    GgufReader() = default;
    Status parse();

    MmapFile file_;
    std::span<const uint8_t> bytes_;
    std::string name_;
    uint32_t version_ = 0;
    uint64_t alignment_ = kGgufDefaultAlignment;
    uint64_t data_offset_ = 0;
    Metadata metadata_;
    std::vector<TensorView> tensors_;
    std::unordered_map<std::string_view, size_t> by_name_;
};

}  // namespace quanta::formats
