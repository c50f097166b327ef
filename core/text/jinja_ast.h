// core/text/jinja_ast.h — the parsed form of a chat template (expressions and statements).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/text/jinja_value.h"

namespace quanta::text::jinja {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
    enum class Kind {
        kLiteral,  // literal
        kName,     // name
        kList,     // args: items
        kDict,     // args: key, value, key, value ...
        kGetAttr,  // args[0] . name
        kGetItem,  // args[0] [ args[1] ]
        kSlice,    // args[0] [ args[1] : args[2] : args[3] ] (null parts absent)
        kCall,     // args[0] ( args[1..] , kwargs )
        kFilter,   // args[0] | name ( args[1..], kwargs )
        kTest,     // args[0] is [not] name ( args[1..] )
        kUnary,    // name ("not", "-", "+") args[0]
        kBinary,   // args[0] name args[1]  (or, and, ==, !=, <, <=, >, >=, in, not in, +, -, *, /, //, %, **, ~)
        kCond,     // args[0] if args[1] else args[2] (args[2] may be null)
    };
    Kind kind = Kind::kLiteral;
    int line = 0;
    Value literal;
    std::string name;
    bool negated = false;  // kTest: "is not"
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;
using Body = std::vector<NodePtr>;

struct Node {
    enum class Kind { kText, kOutput, kIf, kFor, kSet, kBreak, kContinue };
    Kind kind = Kind::kText;
    int line = 0;
    std::string text;                              // kText
    ExprPtr expr;                                  // kOutput value, kSet value, kFor iterable
    std::vector<std::pair<ExprPtr, Body>> branches; // kIf: (condition, body) for if and each elif
    Body body, else_body;                          // kFor body / else; kIf else
    std::vector<std::string> targets;              // kFor loop variables; kSet: {name} or {name, attribute}
    ExprPtr filter;                                // kFor: "for x in xs if cond"
};

// Parses template source; unknown or unsupported constructs fail with "jinja: line N: ...".
Result<Body> parse_template(std::string_view source);

}  // namespace quanta::text::jinja
