// core/text/chat_template.h — a model's own chat template, rendered as transformers'
// apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False) does.
//
// The template sees: messages (list of {"role", "content", ...} objects, passed through as
// given), tools (None when absent), documents (None), add_generation_prompt, bos_token,
// eos_token, and every member of `extra` (e.g. enable_thinking). The rendered text is returned
// as is; tokenize it with parse_special on (it contains the model's control tokens) and without
// adding BOS again when the template already wrote it.
#pragma once

#include <string>
#include <string_view>

#include "core/text/jinja.h"
#include "quant/status.h"

namespace quanta::text {

struct ChatOptions {
    bool add_generation_prompt = true;
    std::string bos_token;   // empty: None (a tokenizer without one, e.g. Qwen)
    std::string eos_token;
    jinja::Value tools;      // undefined -> None
    jinja::Value extra;      // object of further variables (may be undefined)
};

Result<std::string> apply_chat_template(const jinja::Template & tmpl, const jinja::Value & messages, const ChatOptions & options);
Result<std::string> apply_chat_template(std::string_view tmpl_source, const jinja::Value & messages, const ChatOptions & options);

}  // namespace quanta::text
