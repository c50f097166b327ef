// formats/imatrix.h — importance statistics ("imatrix") for importance-weighted quantization:
// for every weight that multiplies activations (a mul_mat whose first source is the weight), the
// mean over calibration tokens of x_i^2 for each input channel i (the weight's dim 0). Written by
// `quanta imatrix`, read by `quanta quantize/convert --imatrix`.
//
// quanta's file is a .qnt (formats/qnt.h, docs/format.md) holding:
//  1. metadata
//       general.type           string  "imatrix"
//       imatrix.version        u32     1
//       imatrix.n_tokens       u64     calibration tokens evaluated (all chunks)
//       imatrix.n_chunks       u64     chunks evaluated
//       imatrix.chunk_size     u64     tokens per chunk (-c)
//       imatrix.text_xxh3      string  xxh3-64 of the calibration text's bytes, 16 hex digits
//       imatrix.model          string  file name of the model the statistics came from
//       imatrix.counts         u64[]   per tensor, in directory order: activation rows accumulated
//  2. one F32 tensor [n_in] per weight, named as the weight ("blk.0.attn_q.weight"): mean of x^2.
//
// read_imatrix() also accepts llama.cpp's GGUF imatrix (llama-imatrix's default output since 2025):
// per weight "<name>.in_sum2" F32 [n_in, n_mat] and "<name>.counts" F32 [1, n_mat]; the mean is
// sum(in_sum2) / sum(counts) over the n_mat matrices. llama.cpp's older binary .dat files are not
// read (llama-imatrix --in-file old.dat -o new.gguf converts them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "quant/status.h"

namespace quanta::formats {

struct ImatrixEntry {
    std::vector<float> mean_sq;  // [n_in]: mean over activation rows of x_i^2, all >= 0 and finite
    uint64_t count = 0;          // activation rows accumulated
};

struct Imatrix {
    std::map<std::string, ImatrixEntry, std::less<>> entries;  // by weight name
    uint64_t n_tokens = 0;
    uint64_t n_chunks = 0;
    uint64_t chunk_size = 0;
    std::string text_xxh3;  // 16 hex digits; empty when unknown (llama.cpp files)
    std::string model;      // empty when unknown
    std::string source;     // "quanta" or "llama.cpp GGUF": what read_imatrix found

    const ImatrixEntry * find(std::string_view name) const {
        auto it = entries.find(name);
        return it == entries.end() ? nullptr : &it->second;
    }
};

// xxh3-64 of `bytes` as 16 lowercase hex digits (the calibration text's fingerprint).
std::string imatrix_text_hash(std::string_view bytes);

// Writes `m` as a quanta imatrix .qnt (temporary file + rename, as QntWriter does).
Status write_imatrix(const std::string & path, const Imatrix & m);

// Reads a quanta imatrix .qnt or a llama.cpp imatrix GGUF. Errors name the file and the tensor:
// a wrong type or shape, a negative or non-finite value, a count that does not match.
Result<Imatrix> read_imatrix(const std::string & path);

}  // namespace quanta::formats
