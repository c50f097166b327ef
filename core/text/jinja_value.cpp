// core/text/jinja_value.cpp — Python semantics of template values: truth, str/repr, ==, json.dumps.
#include "core/text/jinja_value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace quanta::text::jinja {

Value Value::array(Array items) {
    Value v;
    v.kind_ = Kind::kArray;
    v.a_ = std::make_shared<Array>(std::move(items));
    return v;
}

Value Value::object() {
    Value v;
    v.kind_ = Kind::kObject;
    v.o_ = std::make_shared<Object>();
    return v;
}

Value Value::function(Function f) {
    Value v;
    v.kind_ = Kind::kFunction;
    v.fn_ = std::make_shared<Function>(std::move(f));
    return v;
}

namespace {

Value from_nlohmann(const nlohmann::ordered_json & j) {
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null: return Value::none();
        case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: return Value(static_cast<int64_t>(j.get<uint64_t>()));
        case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
        case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
        case nlohmann::ordered_json::value_t::array: {
            Array a;
            for (const auto & x : j) a.push_back(from_nlohmann(x));
            return Value::array(std::move(a));
        }
        case nlohmann::ordered_json::value_t::object: {
            Value o = Value::object();
            for (auto it = j.begin(); it != j.end(); ++it) o.obj().set(it.key(), from_nlohmann(it.value()));
            return o;
        }
        default: return Value();
    }
}

// Python float repr: the shortest %g that reads back, with ".0" on integral values.
std::string float_repr(double f) {
    if (std::isnan(f)) return "nan";
    if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
    char buf[40];
    for (int prec = 1; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof(buf), "%.*g", prec, f);
        if (std::strtod(buf, nullptr) == f) break;
    }
    std::string s = buf;
    if (s.find_first_of(".en") == std::string::npos) s += ".0";
    // Python writes 1e+16 as 1e+16 and 1e-05 as 1e-05: %g agrees.
    return s;
}

void json_string(std::string & out, const std::string & s) {
    out.push_back('"');
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    char buf[8];
                    std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                    out += buf;
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

Status dump(const Value & v, int indent, int depth, std::string & out) {
    if (depth > 256) return Status::error("jinja: tojson: nesting deeper than 256");
    const auto newline = [&](int d) {
        out.push_back('\n');
        out.append(static_cast<size_t>(indent * d), ' ');
    };
    switch (v.kind()) {
        case Value::Kind::kUndefined:
        case Value::Kind::kNone: out += "null"; return ok_status();
        case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return ok_status();
        case Value::Kind::kInt: out += std::to_string(v.as_int()); return ok_status();
        case Value::Kind::kFloat: {
            const double f = v.as_double();
            out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : float_repr(f);
            return ok_status();
        }
        case Value::Kind::kString: json_string(out, v.str()); return ok_status();
        case Value::Kind::kArray: {
            const auto & a = v.items();
            if (a.empty()) { out += "[]"; return ok_status(); }
            out.push_back('[');
            for (size_t i = 0; i < a.size(); ++i) {
                if (i) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) newline(depth + 1);
                QUANTA_TRY(dump(a[i], indent, depth + 1, out));
            }
            if (indent >= 0) newline(depth);
            out.push_back(']');
            return ok_status();
        }
        case Value::Kind::kObject: {
            const auto & e = v.obj().entries;
            if (e.empty()) { out += "{}"; return ok_status(); }
            out.push_back('{');
            for (size_t i = 0; i < e.size(); ++i) {
                if (i) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) newline(depth + 1);
                json_string(out, e[i].first);
                out += ": ";
                QUANTA_TRY(dump(e[i].second, indent, depth + 1, out));
            }
            if (indent >= 0) newline(depth);
            out.push_back('}');
            return ok_status();
        }
        case Value::Kind::kFunction: return Status::error("jinja: tojson: a function is not JSON serializable");
    }
    return ok_status();
}

}  // namespace

Result<Value> Value::from_json(std::string_view json) {
    auto j = nlohmann::ordered_json::parse(json.begin(), json.end(), nullptr, false);
    if (j.is_discarded()) return Status::error("jinja: context is not valid JSON");
    return from_nlohmann(j);
}

bool Value::truthy() const {
    switch (kind_) {
        case Kind::kUndefined:
        case Kind::kNone: return false;
        case Kind::kBool:
        case Kind::kInt: return i_ != 0;
        case Kind::kFloat: return f_ != 0.0;
        case Kind::kString: return !s_->empty();
        case Kind::kArray: return !a_->empty();
        case Kind::kObject: return !o_->entries.empty();
        case Kind::kFunction: return true;
    }
    return false;
}

std::string Value::to_string() const {
    switch (kind_) {
        case Kind::kUndefined: return "";
        case Kind::kString: return *s_;
        default: return repr();
    }
}

std::string Value::repr() const {
    switch (kind_) {
        case Kind::kUndefined: return "";
        case Kind::kNone: return "None";
        case Kind::kBool: return i_ ? "True" : "False";
        case Kind::kInt: return std::to_string(i_);
        case Kind::kFloat: return float_repr(f_);
        case Kind::kString: {
            const bool dq = s_->find('\'') != std::string::npos && s_->find('"') == std::string::npos;
            const char q = dq ? '"' : '\'';
            std::string out(1, q);
            for (char c : *s_) {
                if (c == q || c == '\\') { out.push_back('\\'); out.push_back(c); }
                else if (c == '\n') out += "\\n";
                else if (c == '\r') out += "\\r";
                else if (c == '\t') out += "\\t";
                else out.push_back(c);
            }
            out.push_back(q);
            return out;
        }
        case Kind::kArray: {
            std::string out = "[";
            for (size_t i = 0; i < a_->size(); ++i) out += (i ? ", " : "") + (*a_)[i].repr();
            return out + "]";
        }
        case Kind::kObject: {
            std::string out = "{";
            for (size_t i = 0; i < o_->entries.size(); ++i)
                out += (i ? ", " : "") + Value(o_->entries[i].first).repr() + ": " + o_->entries[i].second.repr();
            return out + "}";
        }
        case Kind::kFunction: return "<function>";
    }
    return "";
}

Result<std::string> Value::to_json(int indent) const {
    std::string out;
    QUANTA_TRY(dump(*this, indent, 0, out));
    return out;
}

bool Value::equals(const Value & o) const {
    if (is_number() && o.is_number()) {
        if (kind_ == Kind::kInt && o.kind_ == Kind::kInt) return i_ == o.i_;
        return as_double() == o.as_double();
    }
    if ((kind_ == Kind::kBool && o.is_number()) || (is_number() && o.kind_ == Kind::kBool)) return as_double() == o.as_double();
    if (kind_ != o.kind_) return false;
    switch (kind_) {
        case Kind::kUndefined:
        case Kind::kNone: return true;
        case Kind::kBool: return i_ == o.i_;
        case Kind::kString: return *s_ == *o.s_;
        case Kind::kArray: {
            if (a_->size() != o.a_->size()) return false;
            for (size_t i = 0; i < a_->size(); ++i) if (!(*a_)[i].equals((*o.a_)[i])) return false;
            return true;
        }
        case Kind::kObject: {
            if (o_->entries.size() != o.o_->entries.size()) return false;
            for (const auto & [k, v] : o_->entries) {
                const Value * w = o.o_->find(k);
                if (!w || !v.equals(*w)) return false;
            }
            return true;
        }
        case Kind::kFunction: return fn_ == o.fn_;
        default: return false;
    }
}

Value Value::get(const std::string & key) const {
    if (kind_ != Kind::kObject) return Value();
    const Value * v = o_->find(key);
    return v ? *v : Value();
}

}  // namespace quanta::text::jinja
