// core/text/jinja_value.h — the values a chat template computes with (a JSON-like Python value).
//
// Arrays and objects are shared by reference, as Python lists and dicts are: copying a Value
// copies a pointer, and `namespace()` objects are mutated through any copy. Objects keep their
// keys in insertion order (Python dicts do, and tojson output depends on it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quant/status.h"

namespace quanta::text::jinja {

class Value;
using Array = std::vector<Value>;
struct Object;
// A callable: positional arguments, keyword arguments.
using Function = std::function<Result<Value>(const std::vector<Value> & args, const std::vector<std::pair<std::string, Value>> & kwargs)>;

class Value {
public:
    enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject, kFunction };

    Value() = default;  // undefined
    static Value none() { Value v; v.kind_ = Kind::kNone; return v; }
    Value(bool b) : kind_(Kind::kBool), i_(b) {}
    Value(int64_t i) : kind_(Kind::kInt), i_(i) {}
    Value(int i) : kind_(Kind::kInt), i_(i) {}
    Value(double f) : kind_(Kind::kFloat), f_(f) {}
    Value(std::string s) : kind_(Kind::kString), s_(std::make_shared<std::string>(std::move(s))) {}
    Value(const char * s) : Value(std::string(s)) {}
    static Value array(Array items = {});
    static Value object();
    static Value function(Function f);

    // Parses JSON text (objects keep key order). Errors name the offset.
    static Result<Value> from_json(std::string_view json);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::kUndefined; }
    bool is_none() const { return kind_ == Kind::kNone; }
    bool is_string() const { return kind_ == Kind::kString; }
    bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
    bool is_array() const { return kind_ == Kind::kArray; }
    bool is_object() const { return kind_ == Kind::kObject; }

    bool as_bool() const { return i_ != 0; }
    int64_t as_int() const { return kind_ == Kind::kFloat ? static_cast<int64_t>(f_) : i_; }
    double as_double() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(i_); }
    const std::string & str() const { return *s_; }
    Array & items() const { return *a_; }
    Object & obj() const { return *o_; }
    const Function & fn() const { return *fn_; }

    // Python truthiness: undefined, None, False, 0, "", [], {} are false.
    bool truthy() const;
    // Python str(): what {{ x }} prints (undefined prints nothing).
    std::string to_string() const;
    // Python repr(), used inside str() of lists and dicts.
    std::string repr() const;
    // json.dumps(x, ensure_ascii=False, indent=indent) (indent < 0: none); fails on functions.
    Result<std::string> to_json(int indent) const;
    // Python ==.
    bool equals(const Value & other) const;
    // Attribute or key: object member, or Undefined.
    Value get(const std::string & key) const;

private:
    Kind kind_ = Kind::kUndefined;
    int64_t i_ = 0;
    double f_ = 0.0;
    std::shared_ptr<std::string> s_;
    std::shared_ptr<Array> a_;
    std::shared_ptr<Object> o_;
    std::shared_ptr<Function> fn_;
};

struct Object {
    std::vector<std::pair<std::string, Value>> entries;  // insertion order
    const Value * find(const std::string & key) const {
        for (const auto & e : entries) if (e.first == key) return &e.second;
        return nullptr;
    }
    void set(const std::string & key, Value v) {
        for (auto & e : entries) if (e.first == key) { e.second = std::move(v); return; }
        entries.emplace_back(key, std::move(v));
    }
};

}  // namespace quanta::text::jinja
