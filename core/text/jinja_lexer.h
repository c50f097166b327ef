// core/text/jinja_lexer.h — template source to text pieces and tag tokens.
//
// Whitespace control follows jinja2 with transformers' settings (trim_blocks=True,
// lstrip_blocks=True): `{%-`/`-%}` (and `{{-`, `{#-`) strip all whitespace on that side; a block
// or comment tag alone on its line loses the indentation before it (unless `{%+`); the first
// newline after a block or comment tag is removed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "quant/status.h"

namespace quanta::text::jinja {

enum class TokKind { kText, kExprBegin, kStmtBegin, kEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
    TokKind kind = TokKind::kEof;
    std::string text;  // name, string value (unescaped), number text, operator, or raw text
    int line = 1;      // 1-based line in the template source
};

// Splits the template into Text tokens and tag tokens: kExprBegin|kStmtBegin, the tag's
// expression tokens, kEnd. Comments disappear. Errors name the line.
Result<std::vector<Token>> lex_template(std::string_view source);

}  // namespace quanta::text::jinja
