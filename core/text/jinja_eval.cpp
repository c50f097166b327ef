// core/text/jinja_eval.cpp — rendering a parsed template.
//
// Scopes follow jinja2: a for loop opens a scope (its variables, `loop`, and anything `set`
// inside it vanish after the loop); if/elif/else do not. Values are Python-like (jinja_value.h).
// Rendering is bounded: loops over at most kMaxIterations items in total and output of at most
// kMaxOutput bytes, so a hostile template cannot hang or exhaust memory.
#include <chrono>
#include <cmath>
#include <ctime>
#include <unordered_map>

#include "core/text/jinja.h"
#include "core/text/unicode.h"

namespace quanta::text::jinja {

namespace {

constexpr int64_t kMaxIterations = 1 << 22;
constexpr size_t kMaxOutput = size_t{1} << 28;
constexpr int kMaxDepth = 200;

Status fail(int line, const std::string & what) { return Status::error("jinja: line " + std::to_string(line) + ": " + what); }

const char * kind_name(const Value & v) {
    switch (v.kind()) {
        case Value::Kind::kUndefined: return "undefined";
        case Value::Kind::kNone: return "none";
        case Value::Kind::kBool: return "bool";
        case Value::Kind::kInt: return "int";
        case Value::Kind::kFloat: return "float";
        case Value::Kind::kString: return "string";
        case Value::Kind::kArray: return "list";
        case Value::Kind::kObject: return "dict";
        case Value::Kind::kFunction: return "function";
    }
    return "?";
}

// UTF-8 characters of s (Python iterates strings by code point).
std::vector<std::string> chars_of(const std::string & s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        size_t len = utf8_valid_length(s, i);
        if (len == 0) len = 1;
        out.push_back(s.substr(i, len));
        i += len;
    }
    return out;
}

int64_t py_floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

class Renderer {
public:
    explicit Renderer(const Value & context) {
        scopes_.emplace_back();
        auto & g = scopes_.back();
        g["raise_exception"] = Value::function([](const std::vector<Value> & a, const auto &) -> Result<Value> {
            return Status::error(a.empty() ? std::string("raise_exception") : a[0].to_string());
        });
        g["namespace"] = Value::function([](const std::vector<Value> & a, const std::vector<std::pair<std::string, Value>> & kw) -> Result<Value> {
            Value ns = Value::object();
            for (const auto & x : a)
                if (x.is_object()) for (const auto & [k, v] : x.obj().entries) ns.obj().set(k, v);
            for (const auto & [k, v] : kw) ns.obj().set(k, v);
            return ns;
        });
        g["range"] = Value::function([](const std::vector<Value> & a, const auto &) -> Result<Value> {
            int64_t start = 0, stop = 0, step = 1;
            if (a.size() == 1) stop = a[0].as_int();
            else if (a.size() >= 2) { start = a[0].as_int(); stop = a[1].as_int(); if (a.size() > 2) step = a[2].as_int(); }
            if (step == 0) return Status::error("jinja: range() step must not be zero");
            Array out;
            for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                if (out.size() >= static_cast<size_t>(kMaxIterations)) return Status::error("jinja: range() too long");
                out.emplace_back(i);
            }
            return Value::array(std::move(out));
        });
        g["strftime_now"] = Value::function([](const std::vector<Value> & a, const auto &) -> Result<Value> {
            const std::time_t now = std::time(nullptr);
            std::tm tm{};
            localtime_r(&now, &tm);
            char buf[256];
            const std::string fmt = a.empty() ? std::string() : a[0].to_string();
            const size_t n = std::strftime(buf, sizeof(buf), fmt.c_str(), &tm);
            return Value(std::string(buf, n));
        });
        scopes_.emplace_back();
        if (context.is_object())
            for (const auto & [k, v] : context.obj().entries) scopes_.back()[k] = v;
    }

    Status exec(const Body & body) {
        for (const auto & n : body) {
            QUANTA_TRY(exec_node(*n));
            if (flow_ != Flow::kNormal) return ok_status();
        }
        return ok_status();
    }

    std::string out;

private:
    enum class Flow { kNormal, kBreak, kContinue };
    std::vector<std::unordered_map<std::string, Value>> scopes_;
    Flow flow_ = Flow::kNormal;
    int64_t iterations_ = 0;
    int depth_ = 0;

    Value lookup(const std::string & name) const {
        for (size_t i = scopes_.size(); i-- > 0;) {
            auto it = scopes_[i].find(name);
            if (it != scopes_[i].end()) return it->second;
        }
        return Value();
    }

    Status emit(const std::string & s, int line) {
        if (out.size() + s.size() > kMaxOutput) return fail(line, "output larger than 256 MiB");
        out += s;
        return ok_status();
    }

    Status exec_node(const Node & n) {
        switch (n.kind) {
            case Node::Kind::kText: return emit(n.text, n.line);
            case Node::Kind::kOutput: {
                auto v = eval(*n.expr);
                if (!v.ok()) return v.status();
                return emit(v->to_string(), n.line);
            }
            case Node::Kind::kIf: {
                for (const auto & [cond, body] : n.branches) {
                    auto c = eval(*cond);
                    if (!c.ok()) return c.status();
                    if (c->truthy()) return exec(body);
                }
                return exec(n.else_body);
            }
            case Node::Kind::kSet: {
                auto v = eval(*n.expr);
                if (!v.ok()) return v.status();
                if (n.targets.size() == 1) {
                    scopes_.back()[n.targets[0]] = std::move(v.value());
                    return ok_status();
                }
                Value ns = lookup(n.targets[0]);
                if (!ns.is_object()) return fail(n.line, "cannot set attribute '" + n.targets[1] + "' of " + kind_name(ns) + " '" + n.targets[0] + "'");
                ns.obj().set(n.targets[1], std::move(v.value()));
                return ok_status();
            }
            case Node::Kind::kBreak: flow_ = Flow::kBreak; return ok_status();
            case Node::Kind::kContinue: flow_ = Flow::kContinue; return ok_status();
            case Node::Kind::kFor: return exec_for(n);
        }
        return ok_status();
    }

    Status exec_for(const Node & n) {
        auto it = eval(*n.expr);
        if (!it.ok()) return it.status();
        Array items;
        const Value & seq = it.value();
        if (seq.is_array()) items = seq.items();
        else if (seq.is_object()) for (const auto & e : seq.obj().entries) items.emplace_back(e.first);
        else if (seq.is_string()) for (auto & c : chars_of(seq.str())) items.emplace_back(std::move(c));
        else if (seq.is_undefined() || seq.is_none()) items.clear();
        else return fail(n.line, std::string("cannot loop over ") + kind_name(seq));
        scopes_.emplace_back();
        const auto bind = [&](const Value & item) -> Status {
            if (n.targets.size() == 1) { scopes_.back()[n.targets[0]] = item; return ok_status(); }
            if (!item.is_array() || item.items().size() != n.targets.size())
                return fail(n.line, "cannot unpack " + std::string(kind_name(item)) + " into " + std::to_string(n.targets.size()) + " loop variables");
            for (size_t k = 0; k < n.targets.size(); ++k) scopes_.back()[n.targets[k]] = item.items()[k];
            return ok_status();
        };
        if (n.filter) {
            Array kept;
            for (const auto & item : items) {
                QUANTA_TRY(bind(item));
                auto c = eval(*n.filter);
                if (!c.ok()) { scopes_.pop_back(); return c.status(); }
                if (c->truthy()) kept.push_back(item);
            }
            items.swap(kept);
        }
        Status st = ok_status();
        const auto len = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < len; ++i) {
            if (++iterations_ > kMaxIterations) { st = fail(n.line, "more than 4M loop iterations"); break; }
            st = bind(items[i]);
            if (!st.ok()) break;
            Value loop = Value::object();
            Object & o = loop.obj();
            o.set("index", Value(i + 1));
            o.set("index0", Value(i));
            o.set("revindex", Value(len - i));
            o.set("revindex0", Value(len - i - 1));
            o.set("first", Value(i == 0));
            o.set("last", Value(i == len - 1));
            o.set("length", Value(len));
            o.set("previtem", i > 0 ? items[i - 1] : Value());
            o.set("nextitem", i + 1 < len ? items[i + 1] : Value());
            scopes_.back()["loop"] = loop;
            st = exec(n.body);
            if (!st.ok()) break;
            if (flow_ == Flow::kBreak) { flow_ = Flow::kNormal; break; }
            flow_ = Flow::kNormal;
        }
        scopes_.pop_back();
        if (!st.ok()) return st;
        if (len == 0) return exec(n.else_body);
        return ok_status();
    }

    Result<Value> eval(const Expr & e) {
        if (++depth_ > kMaxDepth) { --depth_; return fail(e.line, "expression nested too deeply"); }
        auto r = eval_inner(e);
        --depth_;
        return r;
    }

    Status eval_args(const Expr & e, size_t first, std::vector<Value> & args, std::vector<std::pair<std::string, Value>> & kwargs) {
        for (size_t i = first; i < e.args.size(); ++i) {
            auto v = eval(*e.args[i]);
            if (!v.ok()) return v.status();
            args.push_back(std::move(v.value()));
        }
        for (const auto & [k, x] : e.kwargs) {
            auto v = eval(*x);
            if (!v.ok()) return v.status();
            kwargs.emplace_back(k, std::move(v.value()));
        }
        return ok_status();
    }

    Result<Value> eval_inner(const Expr & e) {
        switch (e.kind) {
            case Expr::Kind::kLiteral: return e.literal;
            case Expr::Kind::kName: return lookup(e.name);
            case Expr::Kind::kList: {
                Array a;
                for (const auto & x : e.args) {
                    auto v = eval(*x);
                    if (!v.ok()) return v.status();
                    a.push_back(std::move(v.value()));
                }
                return Value::array(std::move(a));
            }
            case Expr::Kind::kDict: {
                Value o = Value::object();
                for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
                    auto k = eval(*e.args[i]);
                    if (!k.ok()) return k.status();
                    auto v = eval(*e.args[i + 1]);
                    if (!v.ok()) return v.status();
                    o.obj().set(k->to_string(), std::move(v.value()));
                }
                return o;
            }
            case Expr::Kind::kGetAttr: {
                auto obj = eval(*e.args[0]);
                if (!obj.ok()) return obj.status();
                return getitem(obj.value(), Value(e.name), e.line);
            }
            case Expr::Kind::kGetItem: {
                auto obj = eval(*e.args[0]);
                if (!obj.ok()) return obj.status();
                auto key = eval(*e.args[1]);
                if (!key.ok()) return key.status();
                return getitem(obj.value(), key.value(), e.line);
            }
            case Expr::Kind::kSlice: return eval_slice(e);
            case Expr::Kind::kCall: return eval_call(e);
            case Expr::Kind::kFilter: {
                auto v = eval(*e.args[0]);
                if (!v.ok()) return v.status();
                std::vector<Value> args;
                std::vector<std::pair<std::string, Value>> kwargs;
                QUANTA_TRY(eval_args(e, 1, args, kwargs));
                return apply_filter(e.name, v.value(), args, kwargs, e.line);
            }
            case Expr::Kind::kTest: {
                if (e.name == "defined" || e.name == "undefined") {
                    auto v = eval(*e.args[0]);
                    if (!v.ok()) return v.status();
                    const bool def = !v->is_undefined();
                    return Value((e.name == "defined") == def ? !e.negated : e.negated);
                }
                auto v = eval(*e.args[0]);
                if (!v.ok()) return v.status();
                std::vector<Value> args;
                std::vector<std::pair<std::string, Value>> kwargs;
                QUANTA_TRY(eval_args(e, 1, args, kwargs));
                auto r = apply_test(e.name, v.value(), args, e.line);
                if (!r.ok()) return r.status();
                return Value(r.value() != e.negated);
            }
            case Expr::Kind::kUnary: {
                auto v = eval(*e.args[0]);
                if (!v.ok()) return v.status();
                if (e.name == "not") return Value(!v->truthy());
                if (!v->is_number()) return fail(e.line, "unary '" + e.name + "' on " + kind_name(v.value()));
                if (e.name == "+") return v.value();
                return v->kind() == Value::Kind::kInt ? Value(-v->as_int()) : Value(-v->as_double());
            }
            case Expr::Kind::kBinary: return eval_binary(e);
            case Expr::Kind::kCond: {
                auto c = eval(*e.args[1]);
                if (!c.ok()) return c.status();
                if (c->truthy()) return eval(*e.args[0]);
                if (e.args[2]) return eval(*e.args[2]);
                return Value();
            }
        }
        return fail(e.line, "unknown expression");
    }

    Result<Value> getitem(const Value & obj, const Value & key, int line) {
        if (obj.is_object()) return obj.get(key.to_string());
        if (obj.is_array() || obj.is_string()) {
            if (key.kind() != Value::Kind::kInt) return Value();  // e.g. a method name: resolved by the call
            std::vector<std::string> chars;
            if (obj.is_string()) chars = chars_of(obj.str());
            const auto n = static_cast<int64_t>(obj.is_array() ? obj.items().size() : chars.size());
            int64_t i = key.as_int();
            if (i < 0) i += n;
            if (i < 0 || i >= n) return Value();
            return obj.is_array() ? obj.items()[i] : Value(chars[i]);
        }
        if (obj.is_undefined()) return fail(line, "'" + key.to_string() + "' of an undefined value");
        return Value();
    }

    Result<Value> eval_slice(const Expr & e) {
        auto obj = eval(*e.args[0]);
        if (!obj.ok()) return obj.status();
        int64_t parts[3] = {0, 0, 1};
        bool given[3] = {false, false, false};
        for (int k = 0; k < 3; ++k) {
            if (!e.args[k + 1]) continue;
            auto v = eval(*e.args[k + 1]);
            if (!v.ok()) return v.status();
            if (v->is_none()) continue;
            if (v->kind() != Value::Kind::kInt) return fail(e.line, "slice indices must be integers");
            parts[k] = v->as_int();
            given[k] = true;
        }
        const int64_t step = parts[2];
        if (step == 0) return fail(e.line, "slice step cannot be zero");
        std::vector<std::string> chars;
        const bool is_str = obj->is_string();
        if (is_str) chars = chars_of(obj->str());
        else if (!obj->is_array()) return fail(e.line, std::string("cannot slice ") + kind_name(obj.value()));
        const auto n = static_cast<int64_t>(is_str ? chars.size() : obj->items().size());
        // Python's slice.indices.
        const auto clamp = [&](int64_t v, bool is_given, int64_t dflt) {
            if (!is_given) return dflt;
            if (v < 0) v += n;
            if (step > 0) return std::min(std::max<int64_t>(v, 0), n);
            return std::min(std::max<int64_t>(v, -1), n - 1);
        };
        const int64_t start = clamp(parts[0], given[0], step > 0 ? 0 : n - 1);
        const int64_t stop = clamp(parts[1], given[1], step > 0 ? n : -1);
        Array out;
        std::string s;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
            if (is_str) s += chars[i];
            else out.push_back(obj->items()[i]);
        }
        return is_str ? Value(std::move(s)) : Value::array(std::move(out));
    }

    Result<Value> eval_call(const Expr & e) {
        const Expr & callee = *e.args[0];
        std::vector<Value> args;
        std::vector<std::pair<std::string, Value>> kwargs;
        if (callee.kind == Expr::Kind::kGetAttr) {
            auto obj = eval(*callee.args[0]);
            if (!obj.ok()) return obj.status();
            if (!obj->is_object() || obj->get(callee.name).kind() != Value::Kind::kFunction) {
                QUANTA_TRY(eval_args(e, 1, args, kwargs));
                bool found = false;
                auto r = call_method(obj.value(), callee.name, args, e.line, &found);
                if (found) return r;
                return fail(e.line, std::string(kind_name(obj.value())) + " has no method '" + callee.name + "'");
            }
        }
        auto fn = eval(callee);
        if (!fn.ok()) return fn.status();
        if (fn->kind() != Value::Kind::kFunction)
            return fail(e.line, (callee.kind == Expr::Kind::kName ? "'" + callee.name + "'" : std::string("value")) + " is not callable (" + kind_name(fn.value()) + ")");
        QUANTA_TRY(eval_args(e, 1, args, kwargs));
        auto r = fn->fn()(args, kwargs);
        if (!r.ok() && r.status().message().rfind("jinja:", 0) != 0) return fail(e.line, r.status().message());
        return r;
    }

    Result<Value> eval_binary(const Expr & e) {
        auto a = eval(*e.args[0]);
        if (!a.ok()) return a.status();
        const std::string & op = e.name;
        if (op == "and") return a->truthy() ? eval(*e.args[1]) : a;
        if (op == "or") return a->truthy() ? a : eval(*e.args[1]);
        auto b = eval(*e.args[1]);
        if (!b.ok()) return b.status();
        const Value & x = a.value();
        const Value & y = b.value();
        if (op == "==") return Value(x.equals(y));
        if (op == "!=") return Value(!x.equals(y));
        if (op == "in" || op == "not in") {
            bool found = false;
            if (y.is_string() && x.is_string()) found = y.str().find(x.str()) != std::string::npos;
            else if (y.is_array()) { for (const auto & v : y.items()) if (v.equals(x)) { found = true; break; } }
            else if (y.is_object()) found = y.obj().find(x.to_string()) != nullptr;
            else if (y.is_undefined() || y.is_none()) return fail(e.line, std::string("'in' on ") + kind_name(y));
            else return fail(e.line, std::string("'in' needs a string, list or dict, got ") + kind_name(y));
            return Value(found == (op == "in"));
        }
        if (op == "~") return Value(x.to_string() + y.to_string());
        if (op == "<" || op == "<=" || op == ">" || op == ">=") {
            int c = 0;
            if (x.is_number() && y.is_number()) c = x.as_double() < y.as_double() ? -1 : x.as_double() > y.as_double() ? 1 : 0;
            else if (x.is_string() && y.is_string()) c = x.str().compare(y.str());
            else return fail(e.line, "cannot compare " + std::string(kind_name(x)) + " and " + kind_name(y));
            return Value(op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0);
        }
        if (op == "+") {
            if (x.is_string() && y.is_string()) return Value(x.str() + y.str());
            if (x.is_array() && y.is_array()) { Array r = x.items(); r.insert(r.end(), y.items().begin(), y.items().end()); return Value::array(std::move(r)); }
        }
        if (op == "*" && ((x.is_string() && y.kind() == Value::Kind::kInt) || (y.is_string() && x.kind() == Value::Kind::kInt))) {
            const std::string & s = x.is_string() ? x.str() : y.str();
            const int64_t k = x.is_string() ? y.as_int() : x.as_int();
            if (k > 0 && s.size() * static_cast<size_t>(k) > kMaxOutput) return fail(e.line, "string repetition too large");
            std::string r;
            for (int64_t i = 0; i < k; ++i) r += s;
            return Value(std::move(r));
        }
        const bool bx = x.kind() == Value::Kind::kBool, by = y.kind() == Value::Kind::kBool;
        if (!(x.is_number() || bx) || !(y.is_number() || by))
            return fail(e.line, "unsupported operand types for " + op + ": " + kind_name(x) + " and " + kind_name(y));
        const bool ints = x.kind() != Value::Kind::kFloat && y.kind() != Value::Kind::kFloat;
        if (op == "/") {
            if (y.as_double() == 0.0) return fail(e.line, "division by zero");
            return Value(x.as_double() / y.as_double());
        }
        if (ints) {
            const int64_t i = x.as_int(), j = y.as_int();
            if (op == "+") return Value(i + j);
            if (op == "-") return Value(i - j);
            if (op == "*") return Value(i * j);
            if (op == "//" || op == "%") {
                if (j == 0) return fail(e.line, "integer division or modulo by zero");
                const int64_t q = py_floordiv(i, j);
                return op == "//" ? Value(q) : Value(i - q * j);
            }
            if (op == "**") {
                if (j < 0) return Value(std::pow(static_cast<double>(i), static_cast<double>(j)));
                int64_t r = 1;
                for (int64_t k = 0; k < j && k < 64; ++k) r *= i;
                return Value(r);
            }
        } else {
            const double f = x.as_double(), g = y.as_double();
            if (op == "+") return Value(f + g);
            if (op == "-") return Value(f - g);
            if (op == "*") return Value(f * g);
            if (op == "//" || op == "%") {
                if (g == 0.0) return fail(e.line, "float division or modulo by zero");
                const double q = std::floor(f / g);
                return op == "//" ? Value(q) : Value(f - q * g);
            }
            if (op == "**") return Value(std::pow(f, g));
        }
        return fail(e.line, "unsupported operator '" + op + "'");
    }
};

}  // namespace

Result<Template> Template::parse(std::string_view source) {
    auto body = parse_template(source);
    if (!body.ok()) return body.status();
    return Template(std::make_shared<const Body>(std::move(body.value())));
}

Result<std::string> Template::render(const Value & context) const {
    Renderer r(context);
    QUANTA_TRY(r.exec(*body_));
    return std::move(r.out);
}

}  // namespace quanta::text::jinja
