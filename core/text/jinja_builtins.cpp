// core/text/jinja_builtins.cpp — jinja2 filters and tests, and the Python str/dict methods that
// chat templates call (startswith, split, strip, items, get, ...), with Python's semantics.
#include <algorithm>

#include "core/text/jinja.h"
#include "core/text/unicode.h"

namespace quanta::text::jinja {

namespace {

Status fail(int line, const std::string & what) { return Status::error("jinja: line " + std::to_string(line) + ": " + what); }

// Python str.isspace() for one code point.
bool py_space(uint32_t cp) { return is_unicode_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::vector<uint32_t> code_points(const std::string & s) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < s.size();) {
        size_t len = utf8_valid_length(s, i);
        if (len == 0) { out.push_back(0xFFFD); ++i; continue; }
        out.push_back(utf8_decode(s, i, len));
        i += len;
    }
    return out;
}

// Python str.strip/lstrip/rstrip: chars empty -> whitespace.
std::string py_strip(const std::string & s, const Value * chars, bool left, bool right) {
    std::vector<uint32_t> set;
    const bool ws = chars == nullptr || chars->is_none() || chars->is_undefined();
    if (!ws) set = code_points(chars->to_string());
    const auto strip_it = [&](uint32_t cp) { return ws ? py_space(cp) : std::find(set.begin(), set.end(), cp) != set.end(); };
    size_t b = 0, e = s.size();
    if (left) {
        while (b < e) {
            size_t len = utf8_valid_length(s, b);
            if (len == 0 || !strip_it(utf8_decode(s, b, len))) break;
            b += len;
        }
    }
    if (right) {
        while (e > b) {
            size_t k = e - 1;
            while (k > b && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
            size_t len = utf8_valid_length(s, k);
            if (len == 0 || k + len != e || !strip_it(utf8_decode(s, k, len))) break;
            e = k;
        }
    }
    return s.substr(b, e - b);
}

Value py_split(const std::string & s, const Value * sep, int64_t maxsplit) {
    Array out;
    if (sep == nullptr || sep->is_none()) {  // runs of whitespace, no empty strings
        size_t i = 0;
        while (i < s.size()) {
            while (i < s.size()) {
                size_t len = utf8_valid_length(s, i);
                if (len == 0 || !py_space(utf8_decode(s, i, len))) break;
                i += len;
            }
            if (i >= s.size()) break;
            size_t j = i;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) { out.emplace_back(py_strip(s.substr(i), nullptr, false, true)); break; }
            while (j < s.size()) {
                size_t len = utf8_valid_length(s, j);
                if (len != 0 && py_space(utf8_decode(s, j, len))) break;
                j += len ? len : 1;
            }
            out.emplace_back(s.substr(i, j - i));
            i = j;
        }
        return Value::array(std::move(out));
    }
    const std::string d = sep->to_string();
    size_t prev = 0;
    for (size_t p = s.find(d); p != std::string::npos && !d.empty(); p = s.find(d, prev)) {
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) break;
        out.emplace_back(s.substr(prev, p - prev));
        prev = p + d.size();
    }
    out.emplace_back(s.substr(prev));
    return Value::array(std::move(out));
}

std::string py_replace(const std::string & s, const std::string & a, const std::string & b, int64_t count) {
    if (a.empty()) return s;
    std::string out;
    size_t prev = 0;
    int64_t done = 0;
    for (size_t p = s.find(a); p != std::string::npos && (count < 0 || done < count); p = s.find(a, prev), ++done) {
        out += s.substr(prev, p - prev) + b;
        prev = p + a.size();
    }
    return out + s.substr(prev);
}

std::string case_map(const std::string & s, int mode) {  // 0 lower, 1 upper (ASCII and Latin-1/Cyrillic basics)
    std::string out;
    for (uint32_t cp : code_points(s)) {
        if (mode == 0) {
            if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x410 && cp <= 0x42F)) cp += cp >= 0x410 ? 0x20 : 0x20;
            else if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;
        } else {
            if ((cp >= 'a' && cp <= 'z') || (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) || (cp >= 0x430 && cp <= 0x44F)) cp -= 0x20;
            else if (cp >= 0x450 && cp <= 0x45F) cp -= 0x50;
        }
        utf8_append(out, cp);
    }
    return out;
}

const Value * kwarg(const std::vector<std::pair<std::string, Value>> & kw, const char * name) {
    for (const auto & [k, v] : kw) if (k == name) return &v;
    return nullptr;
}

Array as_list(const Value & v) {
    if (v.is_array()) return v.items();
    Array out;
    if (v.is_object()) for (const auto & e : v.obj().entries) out.emplace_back(e.first);
    else if (v.is_string()) for (uint32_t cp : code_points(v.str())) { std::string c; utf8_append(c, cp); out.emplace_back(c); }
    return out;
}

// select/reject/selectattr/rejectattr: keep items whose test (default: truthiness) passes.
Result<Value> select(const Value & v, const std::vector<Value> & args, bool by_attr, bool keep_if, int line) {
    size_t k = 0;
    std::string attr;
    if (by_attr) {
        if (args.empty()) return fail(line, "selectattr/rejectattr need an attribute name");
        attr = args[0].to_string();
        k = 1;
    }
    Array out;
    for (const auto & item : as_list(v)) {
        const Value x = by_attr ? item.get(attr) : item;
        bool pass = x.truthy();
        if (k < args.size()) {
            auto r = apply_test(args[k].to_string(), x, std::vector<Value>(args.begin() + static_cast<std::ptrdiff_t>(k) + 1, args.end()), line);
            if (!r.ok()) return r.status();
            pass = r.value();
        }
        if (pass == keep_if) out.push_back(item);
    }
    return Value::array(std::move(out));
}

}  // namespace

Result<Value> apply_filter(const std::string & name, const Value & v, const std::vector<Value> & args,
                           const std::vector<std::pair<std::string, Value>> & kwargs, int line) {
    const auto arg = [&](size_t i, const char * kw) -> const Value * {
        if (i < args.size()) return &args[i];
        return kwarg(kwargs, kw);
    };
    if (name == "trim") return Value(py_strip(v.to_string(), arg(0, "chars"), true, true));
    if (name == "length" || name == "count") {
        if (v.is_string()) return Value(static_cast<int64_t>(code_points(v.str()).size()));
        if (v.is_array()) return Value(static_cast<int64_t>(v.items().size()));
        if (v.is_object()) return Value(static_cast<int64_t>(v.obj().entries.size()));
        if (v.is_undefined()) return Value(int64_t{0});
        return fail(line, std::string("object of this type has no length"));
    }
    if (name == "tojson") {
        const Value * ind = arg(0, "indent");
        auto r = v.to_json(ind && ind->kind() == Value::Kind::kInt ? static_cast<int>(ind->as_int()) : -1);
        if (!r.ok()) return fail(line, r.status().message());
        return Value(std::move(r.value()));
    }
    if (name == "items") {
        if (v.is_undefined() || v.is_none()) return Value::array();
        if (!v.is_object()) return fail(line, "items filter needs a dict");
        Array out;
        for (const auto & [k, x] : v.obj().entries) out.push_back(Value::array({Value(k), x}));
        return Value::array(std::move(out));
    }
    if (name == "join") {
        const Value * sep = arg(0, "d");
        std::string out;
        bool first = true;
        for (const auto & x : as_list(v)) {
            if (!first && sep) out += sep->to_string();
            out += x.to_string();
            first = false;
        }
        return Value(std::move(out));
    }
    if (name == "default" || name == "d") {
        const Value * dflt = arg(0, "default_value");
        const Value * boolean = arg(1, "boolean");
        const bool use = v.is_undefined() || (boolean && boolean->truthy() && !v.truthy());
        return use ? (dflt ? *dflt : Value(std::string())) : v;
    }
    if (name == "upper") return Value(case_map(v.to_string(), 1));
    if (name == "lower") return Value(case_map(v.to_string(), 0));
    if (name == "capitalize") {
        const std::string s = case_map(v.to_string(), 0);
        auto cps = code_points(s);
        if (cps.empty()) return Value(s);
        std::string first;
        utf8_append(first, cps[0]);
        return Value(case_map(first, 1) + s.substr(first.size()));
    }
    if (name == "first" || name == "last") {
        Array a = as_list(v);
        if (a.empty()) return Value();
        return name == "first" ? a.front() : a.back();
    }
    if (name == "list") return Value::array(as_list(v));
    if (name == "string" || name == "safe" || name == "e" || name == "escape") {
        if (name == "e" || name == "escape") {
            std::string out;
            for (char c : v.to_string()) {
                switch (c) {
                    case '&': out += "&amp;"; break;
                    case '<': out += "&lt;"; break;
                    case '>': out += "&gt;"; break;
                    case '"': out += "&#34;"; break;
                    case '\'': out += "&#39;"; break;
                    default: out.push_back(c);
                }
            }
            return Value(std::move(out));
        }
        return name == "safe" ? v : Value(v.to_string());
    }
    if (name == "int") {
        if (v.is_number() || v.kind() == Value::Kind::kBool) return Value(v.as_int());
        try { return Value(static_cast<int64_t>(std::stoll(v.to_string()))); } catch (...) { return Value(int64_t{0}); }
    }
    if (name == "float") {
        if (v.is_number()) return Value(v.as_double());
        try { return Value(std::stod(v.to_string())); } catch (...) { return Value(0.0); }
    }
    if (name == "abs") {
        if (v.kind() == Value::Kind::kInt) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
        if (v.is_number()) return Value(std::abs(v.as_double()));
        return fail(line, "abs of a non-number");
    }
    if (name == "replace") {
        if (args.size() < 2) return fail(line, "replace needs two arguments");
        return Value(py_replace(v.to_string(), args[0].to_string(), args[1].to_string(), args.size() > 2 ? args[2].as_int() : -1));
    }
    if (name == "reverse") {
        if (v.is_string()) {
            auto cps = code_points(v.str());
            std::string out;
            for (size_t i = cps.size(); i-- > 0;) utf8_append(out, cps[i]);
            return Value(std::move(out));
        }
        Array a = as_list(v);
        std::reverse(a.begin(), a.end());
        return Value::array(std::move(a));
    }
    if (name == "unique") {
        Array out;
        for (const auto & x : as_list(v)) {
            bool seen = false;
            for (const auto & y : out) seen = seen || y.equals(x);
            if (!seen) out.push_back(x);
        }
        return Value::array(std::move(out));
    }
    if (name == "select") return select(v, args, false, true, line);
    if (name == "reject") return select(v, args, false, false, line);
    if (name == "selectattr") return select(v, args, true, true, line);
    if (name == "rejectattr") return select(v, args, true, false, line);
    if (name == "map") {
        Array out;
        const Value * attr = kwarg(kwargs, "attribute");
        for (const auto & x : as_list(v)) {
            if (attr) {
                Value y = x.get(attr->to_string());
                const Value * dflt = kwarg(kwargs, "default");
                out.push_back(y.is_undefined() && dflt ? *dflt : y);
            } else if (!args.empty()) {
                auto r = apply_filter(args[0].to_string(), x, std::vector<Value>(args.begin() + 1, args.end()), {}, line);
                if (!r.ok()) return r.status();
                out.push_back(std::move(r.value()));
            } else {
                return fail(line, "map needs a filter name or attribute=");
            }
        }
        return Value::array(std::move(out));
    }
    if (name == "indent") {
        const int64_t width = args.empty() ? 4 : args[0].as_int();
        const bool first = args.size() > 1 && args[1].truthy();
        const std::string pad(static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(width, 256))), ' ');
        const std::string s = v.to_string();
        std::string out = first && !s.empty() ? pad : "";
        for (size_t i = 0; i < s.size(); ++i) {
            out.push_back(s[i]);
            if (s[i] == '\n' && i + 1 < s.size() && s[i + 1] != '\n') out += pad;
        }
        return Value(std::move(out));
    }
    return fail(line, "unknown filter '" + name + "'");
}

Result<bool> apply_test(const std::string & name, const Value & v, const std::vector<Value> & args, int line) {
    using K = Value::Kind;
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "string") return v.is_string();
    if (name == "number") return v.is_number();
    if (name == "integer") return v.kind() == K::kInt;
    if (name == "float") return v.kind() == K::kFloat;
    if (name == "boolean") return v.kind() == K::kBool;
    if (name == "true") return v.kind() == K::kBool && v.as_bool();
    if (name == "false") return v.kind() == K::kBool && !v.as_bool();
    if (name == "mapping") return v.is_object();
    if (name == "iterable") return v.is_array() || v.is_object() || v.is_string();
    if (name == "sequence") return v.is_array() || v.is_object() || v.is_string();
    if (name == "callable") return v.kind() == K::kFunction;
    if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
        if (args.empty()) return fail(line, "test '" + name + "' needs an argument");
        return v.equals(args[0]);
    }
    if (name == "ne" || name == "!=") {
        if (args.empty()) return fail(line, "test '" + name + "' needs an argument");
        return !v.equals(args[0]);
    }
    if (name == "in") {
        if (args.empty()) return fail(line, "test 'in' needs an argument");
        const Value & c = args[0];
        if (c.is_string()) return c.str().find(v.to_string()) != std::string::npos;
        if (c.is_array()) { for (const auto & x : c.items()) if (x.equals(v)) return true; return false; }
        if (c.is_object()) return c.obj().find(v.to_string()) != nullptr;
        return false;
    }
    if (name == "even" || name == "odd") {
        if (v.kind() != K::kInt) return fail(line, "test '" + name + "' needs an integer");
        return (v.as_int() % 2 == 0) == (name == "even");
    }
    if (name == "divisibleby") {
        if (args.empty() || args[0].as_int() == 0) return fail(line, "divisibleby needs a non-zero argument");
        return v.as_int() % args[0].as_int() == 0;
    }
    if (name == "lower") return v.is_string() && case_map(v.str(), 0) == v.str();
    if (name == "upper") return v.is_string() && case_map(v.str(), 1) == v.str();
    return fail(line, "unknown test '" + name + "'");
}

Result<Value> call_method(const Value & obj, const std::string & name, const std::vector<Value> & args, int line, bool * found) {
    *found = true;
    const Value * a0 = args.empty() ? nullptr : &args[0];
    if (obj.is_string()) {
        const std::string & s = obj.str();
        if (name == "startswith" || name == "endswith") {
            if (!a0) return fail(line, name + " needs an argument");
            std::vector<std::string> opts;
            if (a0->is_array()) for (const auto & x : a0->items()) opts.push_back(x.to_string());
            else opts.push_back(a0->to_string());
            for (const auto & o : opts) {
                if (name == "startswith" ? s.compare(0, o.size(), o) == 0 : (s.size() >= o.size() && s.compare(s.size() - o.size(), o.size(), o) == 0)) return Value(true);
            }
            return Value(false);
        }
        if (name == "strip") return Value(py_strip(s, a0, true, true));
        if (name == "lstrip") return Value(py_strip(s, a0, true, false));
        if (name == "rstrip") return Value(py_strip(s, a0, false, true));
        if (name == "split") return py_split(s, a0, args.size() > 1 ? args[1].as_int() : -1);
        if (name == "upper") return Value(case_map(s, 1));
        if (name == "lower") return Value(case_map(s, 0));
        if (name == "replace") {
            if (args.size() < 2) return fail(line, "replace needs two arguments");
            return Value(py_replace(s, args[0].to_string(), args[1].to_string(), args.size() > 2 ? args[2].as_int() : -1));
        }
        if (name == "find") return Value(a0 ? (s.find(a0->to_string()) == std::string::npos ? int64_t{-1} : static_cast<int64_t>(code_points(s.substr(0, s.find(a0->to_string()))).size())) : int64_t{-1});
        if (name == "join") {
            std::string out;
            bool first = true;
            if (a0) for (const auto & x : as_list(*a0)) { if (!first) out += s; out += x.to_string(); first = false; }
            return Value(std::move(out));
        }
        if (name == "title" || name == "capitalize") return apply_filter(name, obj, {}, {}, line);
    }
    if (obj.is_object()) {
        if (name == "items") return apply_filter("items", obj, {}, {}, line);
        if (name == "keys") return Value::array(as_list(obj));
        if (name == "values") {
            Array out;
            for (const auto & e : obj.obj().entries) out.push_back(e.second);
            return Value::array(std::move(out));
        }
        if (name == "get") {
            if (!a0) return fail(line, "get needs a key");
            const Value * v = obj.obj().find(a0->to_string());
            return v ? *v : (args.size() > 1 ? args[1] : Value::none());
        }
    }
    *found = false;
    return Value();
}

}  // namespace quanta::text::jinja
