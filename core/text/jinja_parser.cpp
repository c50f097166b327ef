// core/text/jinja_parser.cpp — recursive-descent parser for the jinja2 subset of chat templates.
//
// ref: jinja2 parser.py for precedence: conditional < or < and < not < comparisons (incl. in,
// not in) < ~ < + - < * / // % < ** < unary - < postfix (. [] ()) and filters/tests, so
// `a + b | trim` is `a + (b | trim)` and `not x is defined` is `not (x is defined)`.
#include <set>

#include "core/text/jinja_ast.h"
#include "core/text/jinja_lexer.h"

namespace quanta::text::jinja {

namespace {

class Parser {
public:
    explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

    Status parse(Body & out) {
        std::string end;
        QUANTA_TRY(parse_body(out, {}, end));
        if (!end.empty()) return fail(peek().line, "unexpected '" + end + "'");
        return ok_status();
    }

private:
    std::vector<Token> t_;
    size_t p_ = 0;

    static Status fail(int line, const std::string & what) { return Status::error("jinja: line " + std::to_string(line) + ": " + what); }
    const Token & peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
    const Token & next() { const Token & t = peek(); if (p_ < t_.size() - 1) ++p_; return t; }
    bool is_op(const char * op, size_t k = 0) const { return peek(k).kind == TokKind::kOp && peek(k).text == op; }
    bool is_name(const char * n, size_t k = 0) const { return peek(k).kind == TokKind::kName && peek(k).text == n; }
    Status expect_op(const char * op) {
        if (!is_op(op)) return fail(peek().line, std::string("expected '") + op + "', found '" + describe(peek()) + "'");
        next();
        return ok_status();
    }
    Status expect_end() {
        if (peek().kind != TokKind::kEnd) return fail(peek().line, "expected end of tag, found '" + describe(peek()) + "'");
        next();
        return ok_status();
    }
    static std::string describe(const Token & t) {
        switch (t.kind) {
            case TokKind::kEnd: return "end of tag";
            case TokKind::kEof: return "end of template";
            default: return t.text;
        }
    }

    // Parses nodes until a statement whose keyword is in `ends` (returned in `end`, tag consumed up to the keyword).
    Status parse_body(Body & out, const std::set<std::string> & ends, std::string & end) {
        end.clear();
        while (true) {
            const Token & t = peek();
            if (t.kind == TokKind::kEof) {
                if (!ends.empty()) return fail(t.line, "missing '{% " + *ends.begin() + " %}'");
                return ok_status();
            }
            if (t.kind == TokKind::kText) {
                auto n = std::make_shared<Node>();
                n->kind = Node::Kind::kText;
                n->line = t.line;
                n->text = t.text;
                next();
                out.push_back(n);
                continue;
            }
            if (t.kind == TokKind::kExprBegin) {
                next();
                auto n = std::make_shared<Node>();
                n->kind = Node::Kind::kOutput;
                n->line = t.line;
                QUANTA_TRY(parse_expr(n->expr));
                QUANTA_TRY(expect_end());
                out.push_back(n);
                continue;
            }
            if (t.kind != TokKind::kStmtBegin) return fail(t.line, "unexpected '" + describe(t) + "'");
            next();
            const Token & kw = peek();
            if (kw.kind != TokKind::kName) return fail(kw.line, "expected a statement keyword");
            if (ends.count(kw.text)) { end = kw.text; next(); return ok_status(); }
            NodePtr n;
            QUANTA_TRY(parse_statement(n));
            if (n) out.push_back(n);
        }
    }

    Status parse_statement(NodePtr & out) {
        Nest guard(nesting_);
        if (nesting_ > kMaxNesting) return fail(peek().line, "blocks nested more than 128 deep");
        const Token kw = next();
        auto n = std::make_shared<Node>();
        n->line = kw.line;
        if (kw.text == "if") {
            n->kind = Node::Kind::kIf;
            ExprPtr cond;
            QUANTA_TRY(parse_expr(cond));
            QUANTA_TRY(expect_end());
            while (true) {
                Body body;
                std::string end;
                QUANTA_TRY(parse_body(body, {"elif", "else", "endif"}, end));
                n->branches.emplace_back(cond, std::move(body));
                if (end == "elif") {
                    QUANTA_TRY(parse_expr(cond));
                    QUANTA_TRY(expect_end());
                    continue;
                }
                if (end == "else") {
                    QUANTA_TRY(expect_end());
                    QUANTA_TRY(parse_body(n->else_body, {"endif"}, end));
                }
                return (out = n, expect_end());
            }
        }
        if (kw.text == "for") {
            n->kind = Node::Kind::kFor;
            do {
                if (peek().kind != TokKind::kName) return fail(peek().line, "expected a loop variable name");
                n->targets.push_back(next().text);
            } while (is_op(",") && (next(), true));
            if (!is_name("in")) return fail(peek().line, "expected 'in' in for loop");
            next();
            QUANTA_TRY(parse_or(n->expr));  // no conditional here: "if" filters the loop
            if (is_name("if")) {
                next();
                QUANTA_TRY(parse_or(n->filter));
            }
            if (is_name("recursive")) return fail(peek().line, "recursive loops are not supported");
            QUANTA_TRY(expect_end());
            std::string end;
            QUANTA_TRY(parse_body(n->body, {"else", "endfor"}, end));
            if (end == "else") {
                QUANTA_TRY(expect_end());
                QUANTA_TRY(parse_body(n->else_body, {"endfor"}, end));
            }
            return (out = n, expect_end());
        }
        if (kw.text == "set") {
            n->kind = Node::Kind::kSet;
            if (peek().kind != TokKind::kName) return fail(peek().line, "expected a variable name after 'set'");
            n->targets.push_back(next().text);
            if (is_op(".")) {
                next();
                if (peek().kind != TokKind::kName) return fail(peek().line, "expected an attribute name");
                n->targets.push_back(next().text);
            }
            if (is_op(",")) return fail(peek().line, "tuple assignment in 'set' is not supported");
            if (!is_op("=")) return fail(peek().line, "block 'set' (without '=') is not supported");
            next();
            QUANTA_TRY(parse_expr(n->expr));
            return (out = n, expect_end());
        }
        if (kw.text == "break" || kw.text == "continue") {
            n->kind = kw.text == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
            return (out = n, expect_end());
        }
        return fail(kw.line, "unsupported statement '" + kw.text + "'");
    }

    // ---- expressions ----
    // Nesting bound: a hostile template of 100k "(" must fail, not overflow the stack.
    static constexpr int kMaxNesting = 128;
    int nesting_ = 0;
    struct Nest {
        int & n;
        explicit Nest(int & x) : n(x) { ++n; }
        ~Nest() { --n; }
    };

    Status parse_expr(ExprPtr & out) {
        Nest guard(nesting_);
        if (nesting_ > kMaxNesting) return fail(peek().line, "expression nested more than 128 deep");
        ExprPtr a;
        QUANTA_TRY(parse_or(a));
        if (is_name("if")) {
            const int line = next().line;
            ExprPtr cond, other;
            QUANTA_TRY(parse_or(cond));
            if (is_name("else")) {
                next();
                QUANTA_TRY(parse_expr(other));
            }
            out = make(Expr::Kind::kCond, line, "", {a, cond, other});
            return ok_status();
        }
        out = a;
        return ok_status();
    }

    static ExprPtr make(Expr::Kind k, int line, std::string name, std::vector<ExprPtr> args) {
        auto e = std::make_shared<Expr>();
        e->kind = k;
        e->line = line;
        e->name = std::move(name);
        e->args = std::move(args);
        return e;
    }

    Status parse_or(ExprPtr & out) {
        QUANTA_TRY(parse_and(out));
        while (is_name("or")) {
            const int line = next().line;
            ExprPtr b;
            QUANTA_TRY(parse_and(b));
            out = make(Expr::Kind::kBinary, line, "or", {out, b});
        }
        return ok_status();
    }
    Status parse_and(ExprPtr & out) {
        QUANTA_TRY(parse_not(out));
        while (is_name("and")) {
            const int line = next().line;
            ExprPtr b;
            QUANTA_TRY(parse_not(b));
            out = make(Expr::Kind::kBinary, line, "and", {out, b});
        }
        return ok_status();
    }
    Status parse_not(ExprPtr & out) {
        Nest guard(nesting_);
        if (nesting_ > kMaxNesting) return fail(peek().line, "expression nested more than 128 deep");
        if (is_name("not")) {
            const int line = next().line;
            ExprPtr a;
            QUANTA_TRY(parse_not(a));
            out = make(Expr::Kind::kUnary, line, "not", {a});
            return ok_status();
        }
        return parse_compare(out);
    }
    Status parse_compare(ExprPtr & out) {
        QUANTA_TRY(parse_concat(out));
        while (true) {
            std::string op;
            if (peek().kind == TokKind::kOp && (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == "<=" ||
                                                peek().text == ">" || peek().text == ">=")) {
                op = peek().text;
                next();
            } else if (is_name("in")) {
                op = "in";
                next();
            } else if (is_name("not") && is_name("in", 1)) {
                op = "not in";
                next();
                next();
            } else {
                return ok_status();
            }
            ExprPtr b;
            QUANTA_TRY(parse_concat(b));
            out = make(Expr::Kind::kBinary, b->line, op, {out, b});
        }
    }
    Status parse_concat(ExprPtr & out) {
        QUANTA_TRY(parse_sum(out));
        while (is_op("~")) {
            const int line = next().line;
            ExprPtr b;
            QUANTA_TRY(parse_sum(b));
            out = make(Expr::Kind::kBinary, line, "~", {out, b});
        }
        return ok_status();
    }
    Status parse_sum(ExprPtr & out) {
        QUANTA_TRY(parse_product(out));
        while (is_op("+") || is_op("-")) {
            const Token op = next();
            ExprPtr b;
            QUANTA_TRY(parse_product(b));
            out = make(Expr::Kind::kBinary, op.line, op.text, {out, b});
        }
        return ok_status();
    }
    Status parse_product(ExprPtr & out) {
        QUANTA_TRY(parse_pow(out));
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const Token op = next();
            ExprPtr b;
            QUANTA_TRY(parse_pow(b));
            out = make(Expr::Kind::kBinary, op.line, op.text, {out, b});
        }
        return ok_status();
    }
    Status parse_pow(ExprPtr & out) {
        QUANTA_TRY(parse_unary(out, true));
        while (is_op("**")) {
            const int line = next().line;
            ExprPtr b;
            QUANTA_TRY(parse_unary(b, true));
            out = make(Expr::Kind::kBinary, line, "**", {out, b});
        }
        return ok_status();
    }
    Status parse_unary(ExprPtr & out, bool with_filter) {
        Nest guard(nesting_);
        if (nesting_ > kMaxNesting) return fail(peek().line, "expression nested more than 128 deep");
        if (is_op("-") || is_op("+")) {
            const Token op = next();
            ExprPtr a;
            QUANTA_TRY(parse_unary(a, false));
            out = make(Expr::Kind::kUnary, op.line, op.text, {a});
        } else {
            QUANTA_TRY(parse_primary(out));
        }
        QUANTA_TRY(parse_postfix(out));
        if (with_filter) QUANTA_TRY(parse_filters(out));
        return ok_status();
    }

    Status parse_args(std::vector<ExprPtr> & args, std::vector<std::pair<std::string, ExprPtr>> & kwargs) {
        QUANTA_TRY(expect_op("("));
        while (!is_op(")")) {
            if (peek().kind == TokKind::kName && is_op("=", 1)) {
                std::string key = next().text;
                next();
                ExprPtr v;
                QUANTA_TRY(parse_expr(v));
                kwargs.emplace_back(std::move(key), v);
            } else {
                if (!kwargs.empty()) return fail(peek().line, "positional argument after keyword argument");
                ExprPtr v;
                QUANTA_TRY(parse_expr(v));
                args.push_back(v);
            }
            if (is_op(",")) next();
            else if (!is_op(")")) return fail(peek().line, "expected ',' or ')' in arguments, found '" + describe(peek()) + "'");
        }
        next();
        return ok_status();
    }

    Status parse_postfix(ExprPtr & out) {
        while (true) {
            if (is_op(".")) {
                const int line = next().line;
                if (peek().kind != TokKind::kName && peek().kind != TokKind::kInt) return fail(line, "expected an attribute name after '.'");
                out = make(Expr::Kind::kGetAttr, line, next().text, {out});
            } else if (is_op("[")) {
                const int line = next().line;
                ExprPtr parts[3];
                int n_colons = 0;
                while (!is_op("]")) {
                    if (is_op(":")) {
                        if (++n_colons > 2) return fail(line, "too many ':' in subscript");
                        next();
                        continue;
                    }
                    if (parts[n_colons]) return fail(line, "bad subscript");
                    QUANTA_TRY(parse_expr(parts[n_colons]));
                }
                next();
                if (n_colons == 0) {
                    if (!parts[0]) return fail(line, "empty subscript");
                    out = make(Expr::Kind::kGetItem, line, "", {out, parts[0]});
                } else {
                    out = make(Expr::Kind::kSlice, line, "", {out, parts[0], parts[1], parts[2]});
                }
            } else if (is_op("(")) {
                const int line = peek().line;
                auto e = std::make_shared<Expr>();
                e->kind = Expr::Kind::kCall;
                e->line = line;
                e->args.push_back(out);
                QUANTA_TRY(parse_args(e->args, e->kwargs));
                out = e;
            } else {
                return ok_status();
            }
        }
    }

    Status parse_filters(ExprPtr & out) {
        while (true) {
            if (is_op("|")) {
                const int line = next().line;
                if (peek().kind != TokKind::kName) return fail(line, "expected a filter name after '|'");
                auto e = std::make_shared<Expr>();
                e->kind = Expr::Kind::kFilter;
                e->line = line;
                e->name = next().text;
                e->args.push_back(out);
                if (is_op("(")) QUANTA_TRY(parse_args(e->args, e->kwargs));
                out = e;
            } else if (is_name("is")) {
                const int line = next().line;
                auto e = std::make_shared<Expr>();
                e->kind = Expr::Kind::kTest;
                e->line = line;
                if (is_name("not")) { next(); e->negated = true; }
                if (peek().kind != TokKind::kName) return fail(line, "expected a test name after 'is'");
                e->name = next().text;
                e->args.push_back(out);
                if (is_op("(")) {
                    QUANTA_TRY(parse_args(e->args, e->kwargs));
                } else if (peek().kind == TokKind::kString || peek().kind == TokKind::kInt || peek().kind == TokKind::kFloat ||
                           (peek().kind == TokKind::kName && !is_name("and") && !is_name("or") && !is_name("else") && !is_name("if") &&
                            !is_name("in") && !is_name("not"))) {
                    ExprPtr arg;  // "x is divisibleby 3", "x is sameas none"
                    QUANTA_TRY(parse_primary(arg));
                    e->args.push_back(arg);
                }
                out = e;
            } else {
                return ok_status();
            }
        }
    }

    Status parse_primary(ExprPtr & out) {
        const Token t = next();
        auto e = std::make_shared<Expr>();
        e->line = t.line;
        switch (t.kind) {
            case TokKind::kString: {
                std::string s = t.text;
                while (peek().kind == TokKind::kString) s += next().text;  // adjacent literals concatenate
                e->literal = Value(std::move(s));
                out = e;
                return ok_status();
            }
            case TokKind::kInt:
                e->literal = Value(static_cast<int64_t>(std::stoll(t.text)));
                out = e;
                return ok_status();
            case TokKind::kFloat:
                e->literal = Value(std::stod(t.text));
                out = e;
                return ok_status();
            case TokKind::kName:
                if (t.text == "true" || t.text == "True") e->literal = Value(true);
                else if (t.text == "false" || t.text == "False") e->literal = Value(false);
                else if (t.text == "none" || t.text == "None") e->literal = Value::none();
                else { e->kind = Expr::Kind::kName; e->name = t.text; }
                out = e;
                return ok_status();
            case TokKind::kOp:
                if (t.text == "(") {
                    QUANTA_TRY(parse_expr(out));
                    if (is_op(",")) return fail(t.line, "tuples are not supported");
                    return expect_op(")");
                }
                if (t.text == "[") {
                    e->kind = Expr::Kind::kList;
                    while (!is_op("]")) {
                        ExprPtr v;
                        QUANTA_TRY(parse_expr(v));
                        e->args.push_back(v);
                        if (is_op(",")) next();
                        else if (!is_op("]")) return fail(peek().line, "expected ',' or ']' in list");
                    }
                    next();
                    out = e;
                    return ok_status();
                }
                if (t.text == "{") {
                    e->kind = Expr::Kind::kDict;
                    while (!is_op("}")) {
                        ExprPtr k, v;
                        QUANTA_TRY(parse_expr(k));
                        QUANTA_TRY(expect_op(":"));
                        QUANTA_TRY(parse_expr(v));
                        e->args.push_back(k);
                        e->args.push_back(v);
                        if (is_op(",")) next();
                        else if (!is_op("}")) return fail(peek().line, "expected ',' or '}' in dict");
                    }
                    next();
                    out = e;
                    return ok_status();
                }
                return fail(t.line, "unexpected '" + t.text + "'");
            default:
                return fail(t.line, "unexpected " + describe(t));
        }
    }
};

}  // namespace

Result<Body> parse_template(std::string_view source) {
    auto toks = lex_template(source);
    if (!toks.ok()) return toks.status();
    Parser p(std::move(toks.value()));
    Body body;
    QUANTA_TRY(p.parse(body));
    return body;
}

}  // namespace quanta::text::jinja
