// convert/convert.h — Hugging Face checkpoints and GGUF files into one .qnt.
//
// Streaming: tensors are read from the mmap'd source, converted a slab of rows at a time and
// written through the .qnt writer (temp file + fsync + rename), so peak memory is a few slabs, not
// the model. Everything the maths needs goes into metadata (core/arch/hparams.h), with the
// tokenizer and chat template (core/text), so a runtime fix never requires a re-conversion.
#pragma once

#include <functional>
#include <string>

#include "quant/status.h"

namespace quanta::convert {

struct ConvertOptions {
    std::string type;             // a type or mix (convert/type_policy.h); empty: f16 for Hugging Face
                                  // checkpoints, "keep" (bit-exact) for GGUF
    bool force = false;           // overwrite an existing output
    int n_threads = 0;            // 0: all cores
    // Importance statistics (formats/imatrix.h: `quanta imatrix` output or a llama.cpp imatrix GGUF)
    // weighting each quantized tensor's error per input column. Empty: none. The file must fit the
    // model: every entry names a 2-D tensor with that many columns, and every 2-D layer tensor
    // ("blk.*") has an entry; otherwise the error names the tensor.
    std::string imatrix;
    // Called after each tensor (index from 0, count, name, input bytes read so far). May be empty.
    std::function<void(size_t, size_t, const std::string &, uint64_t)> progress;
};

// `input` is a Hugging Face checkpoint directory, or a .gguf file.
Status convert_model(const std::string & input, const std::string & output, const ConvertOptions & options);

// Re-quantizes a .qnt (the same pipeline, reading quanta's own file).
Status quantize_model(const std::string & input, const std::string & output, const ConvertOptions & options);

}  // namespace quanta::convert
