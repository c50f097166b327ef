// core/text/jinja.h — a jinja2 subset for models' chat templates, rendered the way transformers
// renders them (trim_blocks, lstrip_blocks, tojson without HTML escaping, raise_exception).
//
// Supported: {{ }}, {% if/elif/else %}, {% for a[, b] in x [if c] %} with loop.index/index0/
// revindex/revindex0/first/last/length/previtem/nextitem and for-else, {% set x = ... %},
// {% set ns.attr = ... %}, break/continue, {# #}, whitespace control; literals, lists, dicts,
// attribute/item access, slicing, calls, filters, tests, and/or/not, in, comparisons, + - * / //
// % ** ~, conditional expressions; globals raise_exception, namespace, range, strftime_now.
// Anything else fails at parse or render time with "jinja: line N: ...".
//
// A Template is immutable after parse; render() is const and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/text/jinja_ast.h"
#include "core/text/jinja_value.h"
#include "quant/status.h"

namespace quanta::text::jinja {

class Template {
public:
    static Result<Template> parse(std::string_view source);
    // `context` is an object whose members are the template's global variables.
    Result<std::string> render(const Value & context) const;

private:
    explicit Template(std::shared_ptr<const Body> body) : body_(std::move(body)) {}
    std::shared_ptr<const Body> body_;
};

// Filter, test and method implementations (jinja_builtins.cpp), used by the evaluator.
Result<Value> apply_filter(const std::string & name, const Value & v, const std::vector<Value> & args,
                           const std::vector<std::pair<std::string, Value>> & kwargs, int line);
Result<bool> apply_test(const std::string & name, const Value & v, const std::vector<Value> & args, int line);
// Calls obj.name(args) for str, dict and list methods; *found is false when there is no such method.
Result<Value> call_method(const Value & obj, const std::string & name, const std::vector<Value> & args, int line, bool * found);

}  // namespace quanta::text::jinja
