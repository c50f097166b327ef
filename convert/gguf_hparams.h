// convert/gguf_hparams.h — llama.cpp's GGUF metadata read into quanta's HParams.
//
// GGUF files differ from Hugging Face checkpoints in ways the runtime must know as data:
// Gemma norm weights already hold (1 + w) (norm_offset 0), Llama's Q/K rows are permuted so rope
// pairs adjacent dims (rope_pairing adjacent), and some constants llama.cpp hard-codes (Gemma 3's
// local rope base and layer pattern) are not in the file at all; they are filled in here.
#pragma once

#include <string>

#include "core/arch/hparams.h"
#include "formats/metadata.h"

namespace quanta::convert {

Result<arch::HParams> hparams_from_gguf(const formats::Metadata & md, const std::string & source);

}  // namespace quanta::convert
