// convert/hf_config.h — a Hugging Face config.json read into quanta's HParams.
//
// Accepts both spellings transformers has used: rope_theta + rope_scaling (+ rope_local_base_freq
// for Gemma 3) in checkpoints released before transformers 5, and rope_parameters (flat, or one
// entry per layer type) after it. Gemma 3 multimodal checkpoints are read through their text_config.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "core/arch/hparams.h"
#include "quant/status.h"

namespace quanta::convert {

// `config` is the parsed config.json; `source` names it in errors ("gemma-2-27b/config.json").
Result<arch::HParams> hparams_from_hf_config(const nlohmann::json & config, const std::string & source);

// Reads and parses `dir`/config.json.
Result<arch::HParams> read_hf_config(const std::string & dir);

}  // namespace quanta::convert
