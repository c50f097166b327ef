// core/text/tokenizer_metadata.h — the tokenizer of a GGUF or .qnt file, from its metadata.
#pragma once

#include "core/text/tokenizer_data.h"
#include "formats/metadata.h"
#include "quant/status.h"

namespace quanta::text {

// The tokenizer.* keys of `md` as typed arrays (integers and bools as i32, floats as f32).
Result<FlatMetadata> flat_from_metadata(const formats::Metadata & md);

// tokenizer_from_flat(flat_from_metadata(md), md["general.architecture"]): a .qnt written with
// tokenizer_to_flat keys, or a GGUF whose pipeline is rebuilt as transformers does.
Result<TokenizerData> tokenizer_from_metadata(const formats::Metadata & md);

}  // namespace quanta::text
