// core/text/jinja_lexer.cpp — scanning template text and the expressions inside tags.
#include "core/text/jinja_lexer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/text/unicode.h"

namespace quanta::text::jinja {

namespace {

Status fail(int line, const std::string & what) { return Status::error("jinja: line " + std::to_string(line) + ": " + what); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

int count_lines(std::string_view s, size_t from, size_t to) {
    int n = 0;
    for (size_t i = from; i < to; ++i) n += s[i] == '\n';
    return n;
}

// Tokenizes the inside of one tag, appending to out. Returns the offset after the closing
// delimiter via *end, and whether the tag ended with '-' via *strip_after.
Status lex_tag(std::string_view src, size_t pos, const char * close, int & line, std::vector<Token> & out, size_t * end,
               bool * strip_after) {
    const size_t n = src.size();
    static const char * const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "|", ".", ",",
                                        ":", "(", ")", "[", "]", "{", "}", "=", "<", ">"};
    while (true) {
        while (pos < n && is_space(src[pos])) { line += src[pos] == '\n'; ++pos; }
        if (pos >= n) return fail(line, std::string("tag not closed with '") + close + "'");
        // The closing delimiter, possibly with '-' or '+' before it.
        if ((src[pos] == '-' || src[pos] == '+') && src.compare(pos + 1, 2, close) == 0) {
            *strip_after = src[pos] == '-';
            *end = pos + 3;
            return ok_status();
        }
        if (src.compare(pos, 2, close) == 0) {
            *strip_after = false;
            *end = pos + 2;
            return ok_status();
        }
        const char c = src[pos];
        Token t;
        t.line = line;
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t e = pos;
            while (e < n && (std::isalnum(static_cast<unsigned char>(src[e])) || src[e] == '_')) ++e;
            t.kind = TokKind::kName;
            t.text = std::string(src.substr(pos, e - pos));
            pos = e;
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            size_t e = pos;
            while (e < n && (std::isdigit(static_cast<unsigned char>(src[e])) || src[e] == '_')) ++e;
            t.kind = TokKind::kInt;
            if (e + 1 < n && src[e] == '.' && std::isdigit(static_cast<unsigned char>(src[e + 1]))) {
                ++e;
                while (e < n && std::isdigit(static_cast<unsigned char>(src[e]))) ++e;
                t.kind = TokKind::kFloat;
            }
            for (char d : src.substr(pos, e - pos)) if (d != '_') t.text.push_back(d);
            pos = e;
        } else if (c == '\'' || c == '"') {
            t.kind = TokKind::kString;
            size_t e = pos + 1;
            while (true) {
                if (e >= n) return fail(t.line, "string literal not closed");
                const char d = src[e];
                if (d == c) { ++e; break; }
                if (d == '\n') ++line;
                if (d != '\\') { t.text.push_back(d); ++e; continue; }
                if (e + 1 >= n) return fail(t.line, "string literal not closed");
                const char x = src[e + 1];
                e += 2;
                switch (x) {
                    case 'n': t.text.push_back('\n'); break;
                    case 't': t.text.push_back('\t'); break;
                    case 'r': t.text.push_back('\r'); break;
                    case '\\': t.text.push_back('\\'); break;
                    case '\'': t.text.push_back('\''); break;
                    case '"': t.text.push_back('"'); break;
                    case 'u': {
                        if (e + 4 > n) return fail(t.line, "bad \\u escape");
                        uint32_t cp = 0;
                        for (int k = 0; k < 4; ++k) {
                            const char h = src[e + k];
                            if (!std::isxdigit(static_cast<unsigned char>(h))) return fail(t.line, "bad \\u escape");
                            cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
                        }
                        e += 4;
                        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
                        utf8_append(t.text, cp);
                        break;
                    }
                    default:  // Python keeps unknown escapes as written
                        t.text.push_back('\\');
                        t.text.push_back(x);
                }
            }
            pos = e;
        } else {
            t.kind = TokKind::kOp;
            for (const char * op : kOps) {
                if (src.compare(pos, std::strlen(op), op) == 0) { t.text = op; break; }
            }
            if (t.text.empty()) return fail(line, std::string("unexpected character '") + c + "'");
            pos += t.text.size();
        }
        out.push_back(std::move(t));
    }
}

}  // namespace

Result<std::vector<Token>> lex_template(std::string_view src) {
    std::vector<Token> out;
    const size_t n = src.size();
    size_t pos = 0;
    int line = 1;
    bool strip_next = false;   // previous tag ended with '-'
    bool trim_newline = false; // previous tag was a block/comment (trim_blocks)
    while (pos <= n) {
        size_t open = src.find('{', pos);
        while (open != std::string_view::npos && open + 1 < n && src[open + 1] != '{' && src[open + 1] != '%' && src[open + 1] != '#')
            open = src.find('{', open + 1);
        if (open != std::string_view::npos && open + 1 >= n) open = std::string_view::npos;
        const size_t text_end = open == std::string_view::npos ? n : open;
        std::string text(src.substr(pos, text_end - pos));
        const int text_line = line;
        line += count_lines(src, pos, text_end);
        if (trim_newline) {
            if (text.compare(0, 2, "\r\n") == 0) text.erase(0, 2);
            else if (!text.empty() && text[0] == '\n') text.erase(0, 1);
        }
        if (strip_next) {
            size_t k = 0;
            while (k < text.size() && is_space(text[k])) ++k;
            text.erase(0, k);
        }
        if (open == std::string_view::npos) {
            if (!text.empty()) out.push_back(Token{TokKind::kText, std::move(text), text_line});
            break;
        }
        const char kind = src[open + 1];
        size_t inner = open + 2;
        bool strip_before = false, no_lstrip = false;
        if (inner < n && src[inner] == '-') { strip_before = true; ++inner; }
        else if (inner < n && src[inner] == '+') { no_lstrip = true; ++inner; }
        if (strip_before) {
            size_t k = text.size();
            while (k > 0 && is_space(text[k - 1])) --k;
            text.resize(k);
        } else if (kind != '{' && !no_lstrip) {
            // lstrip_blocks: drop spaces/tabs between the line start and a block or comment tag.
            size_t j = text_end;
            while (j > pos && (src[j - 1] == ' ' || src[j - 1] == '\t')) --j;
            if (j == 0 || src[j - 1] == '\n') text.resize(text.size() - std::min(text.size(), text_end - j));
        }
        if (!text.empty()) out.push_back(Token{TokKind::kText, std::move(text), text_line});
        if (kind == '#') {
            const size_t close = src.find("#}", inner);
            if (close == std::string_view::npos) return fail(line, "comment not closed with '#}'");
            strip_next = close > inner && src[close - 1] == '-';
            line += count_lines(src, open, close + 2);
            pos = close + 2;
            trim_newline = true;
            continue;
        }
        out.push_back(Token{kind == '{' ? TokKind::kExprBegin : TokKind::kStmtBegin, "", line});
        size_t end = 0;
        bool strip_after = false;
        QUANTA_TRY(lex_tag(src, inner, kind == '{' ? "}}" : "%}", line, out, &end, &strip_after));
        out.push_back(Token{TokKind::kEnd, "", line});
        strip_next = strip_after;
        trim_newline = kind == '%';
        pos = end;
    }
    out.push_back(Token{TokKind::kEof, "", line});
    return out;
}

}  // namespace quanta::text::jinja
