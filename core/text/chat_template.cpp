// core/text/chat_template.cpp — the variables transformers hands a chat template.
// ref: transformers utils/chat_template_utils.py render_jinja_template: render(messages=...,
// tools=..., documents=..., add_generation_prompt=..., **special_tokens_map, **kwargs).
#include "core/text/chat_template.h"

namespace quanta::text {

Result<std::string> apply_chat_template(const jinja::Template & tmpl, const jinja::Value & messages, const ChatOptions & o) {
    if (!messages.is_array()) return Status::error("chat template: messages must be a list");
    jinja::Value ctx = jinja::Value::object();
    ctx.obj().set("messages", messages);
    ctx.obj().set("tools", o.tools.is_undefined() ? jinja::Value::none() : o.tools);
    ctx.obj().set("documents", jinja::Value::none());
    ctx.obj().set("add_generation_prompt", jinja::Value(o.add_generation_prompt));
    // A tokenizer without a BOS (Qwen) has bos_token None in its special-tokens map.
    ctx.obj().set("bos_token", o.bos_token.empty() ? jinja::Value::none() : jinja::Value(o.bos_token));
    ctx.obj().set("eos_token", o.eos_token.empty() ? jinja::Value::none() : jinja::Value(o.eos_token));
    if (o.extra.is_object())
        for (const auto & [k, v] : o.extra.obj().entries) ctx.obj().set(k, v);
    auto r = tmpl.render(ctx);
    if (!r.ok()) return r.status().with_context("chat template");
    return r;
}

Result<std::string> apply_chat_template(std::string_view source, const jinja::Value & messages, const ChatOptions & o) {
    auto t = jinja::Template::parse(source);
    if (!t.ok()) return t.status().with_context("chat template");
    return apply_chat_template(t.value(), messages, o);
}

}  // namespace quanta::text
