// formats/safetensors.h — reader for Hugging Face safetensors checkpoints, single file or sharded.
//
// On-disk layout of one file:
//  1. u64 header_len (little-endian), at most 100 MB and within the file.
//  2. header_len bytes of UTF-8 JSON: an object mapping each tensor name to
//     {"dtype": "F32"|"F16"|"BF16"|..., "shape": [outermost, ..., innermost],
//      "data_offsets": [begin, end]}  (byte offsets relative to the data section),
//     plus an optional "__metadata__" object of string -> string.
//  3. The data section: the rest of the file.
// A sharded checkpoint adds model.safetensors.index.json: {"metadata": {...},
// "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}} beside the shards.
//
// Only F32, F16 and BF16 tensors are accepted; any other dtype is refused by name. Shapes are
// reversed into TensorView::ne so that ne[0] is the innermost dim, as everywhere in quanta; at most
// 4 dims. Tensor data is not aligned beyond what the writer chose (the format promises nothing).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "formats/mmap_file.h"
#include "formats/tensor_view.h"
#include "quant/status.h"

namespace quanta::formats {

constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;
constexpr int kSafetensorsMaxJsonDepth = 64;

// One mapped .safetensors file, validated at open: header bounds, JSON syntax, duplicate names,
// dtypes, shapes (overflow-safe), offsets inside the data section, sizes matching shapes, overlaps.
class SafetensorsFile {
public:
    static Result<SafetensorsFile> open(const std::string & path);
    // Parses bytes owned by the caller (kept alive by the caller for the reader's lifetime).
    static Result<SafetensorsFile> open_memory(std::span<const uint8_t> bytes, const std::string & name);

    const std::string & path() const { return name_; }
    uint64_t file_size() const { return bytes_.size(); }
    uint64_t data_offset() const { return data_offset_; }
    // Tensors in header order (JSON object order as written).
    const std::vector<TensorView> & tensors() const { return tensors_; }
    const TensorView * find(std::string_view name) const;
    // The "__metadata__" entries, in file order.
    const std::vector<std::pair<std::string, std::string>> & metadata() const { return metadata_; }

private:
    SafetensorsFile() = default;
    Status parse();

    MmapFile file_;
    std::span<const uint8_t> bytes_;
    std::string name_;
    uint64_t data_offset_ = 0;
    std::vector<std::string> names_;  // storage behind tensors_[i].name (never resized after parse)
    std::vector<TensorView> tensors_;
    std::unordered_map<std::string_view, size_t> by_name_;
    std::vector<std::pair<std::string, std::string>> metadata_;
};

// A parsed model.safetensors.index.json: which shard file holds each tensor.
struct SafetensorsIndex {
    std::vector<std::pair<std::string, std::string>> weight_map;  // tensor name -> shard file name
    std::vector<std::pair<std::string, std::string>> metadata;    // "metadata", values as JSON text
};

// Parses an index's JSON text. Duplicate keys, a missing weight_map, non-string entries and shard
// names that are not plain file names (empty, '/', '\\', ".", "..") are errors naming `name`.
Result<SafetensorsIndex> parse_safetensors_index(std::string_view text, const std::string & name);

// A checkpoint of one or more safetensors files, seen as one set of tensors.
class SafetensorsModel {
public:
    // `path`: a .safetensors file, a *.safetensors.index.json, or a directory holding
    // model.safetensors.index.json, model.safetensors, or exactly one *.safetensors file.
    static Result<SafetensorsModel> open(const std::string & path);

    const std::vector<SafetensorsFile> & shards() const { return shards_; }
    // All tensors of all shards; TensorView::shard says which file holds each.
    const std::vector<TensorView> & tensors() const { return tensors_; }
    const TensorView * find(std::string_view name) const;
    // The index's "metadata" (values rendered as JSON text), or the single file's __metadata__.
    const std::vector<std::pair<std::string, std::string>> & metadata() const { return metadata_; }
    const std::string & path() const { return path_; }

private:
    std::string path_;
    std::vector<SafetensorsFile> shards_;
    std::vector<TensorView> tensors_;
    std::unordered_map<std::string_view, size_t> by_name_;
    std::vector<std::pair<std::string, std::string>> metadata_;
};

}  // namespace quanta::formats
