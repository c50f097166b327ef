// core/text/unicode.cpp — UTF-8 validation, lossy repair and the GPT-2 byte alphabet.
#include "core/text/unicode.h"

namespace quanta::text {

size_t utf8_valid_length(std::string_view s, size_t i) {
    const size_t n = s.size();
    const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    const uint8_t c = b(i);
    if (c < 0x80) return 1;
    // Second-byte ranges per the Unicode well-formed table (excludes overlongs and surrogates).
    uint8_t lo = 0x80, hi = 0xBF;
    size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) { len = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) { len = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) { len = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) { len = 4; hi = 0x8F; }
    else return 0;
    if (i + 1 >= n || b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < len; ++k) {
        if (i + k >= n || (b(i + k) & 0xC0) != 0x80) return 0;
    }
    return len;
}

// Bytes of the maximal subpart starting at i: the longest prefix of a valid sequence (at least 1).
static size_t maximal_subpart(std::string_view s, size_t i) {
    const size_t n = s.size();
    const uint8_t c = static_cast<uint8_t>(s[i]);
    uint8_t lo = 0x80, hi = 0xBF;
    size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) { len = 3; lo = 0xA0; }
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xED) { len = 3; hi = 0x9F; }
    else if (c == 0xF0) { len = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) { len = 4; hi = 0x8F; }
    else return 1;
    size_t k = 1;
    if (i + k < n) {
        const uint8_t c1 = static_cast<uint8_t>(s[i + k]);
        if (c1 < lo || c1 > hi) return 1;
        ++k;
        while (k < len && i + k < n && (static_cast<uint8_t>(s[i + k]) & 0xC0) == 0x80) ++k;
    }
    return k;
}

uint32_t utf8_decode(std::string_view s, size_t i, size_t len) {
    const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k])); };
    switch (len) {
        case 1: return b(0);
        case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
        case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    }
}

void utf8_append(std::string & out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool utf8_is_valid(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        if (static_cast<uint8_t>(s[i]) < 0x80) { ++i; continue; }
        const size_t len = utf8_valid_length(s, i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::string utf8_sanitize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        if (static_cast<uint8_t>(s[i]) < 0x80) { out.push_back(s[i]); ++i; continue; }
        const size_t len = utf8_valid_length(s, i);
        if (len != 0) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out.append("\xEF\xBF\xBD");
            i += maximal_subpart(s, i);
        }
    }
    return out;
}

size_t utf8_incomplete_tail(std::string_view s) {
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const size_t i = n - back;
        const uint8_t c = static_cast<uint8_t>(s[i]);
        if ((c & 0xC0) == 0x80) continue;  // continuation: look further back for the lead
        if (c < 0xC2 || c > 0xF4) return 0;
        // A lead byte: incomplete when the subpart from it reaches the end and is shorter than needed.
        const size_t sub = maximal_subpart(s, i);
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        return (i + sub == n && sub < need) ? back : 0;
    }
    return 0;
}

bool is_unicode_whitespace(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

// ref: openai/gpt-2 encoder.py bytes_to_unicode: printable Latin-1 bytes map to themselves, the
// rest to 256 + k in byte order.
uint32_t byte_to_unicode(uint8_t b) {
    static const auto table = [] {
        struct T { uint32_t v[256]; } t{};
        uint32_t k = 0;
        for (int c = 0; c < 256; ++c) {
            const bool printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
            t.v[c] = printable ? static_cast<uint32_t>(c) : 256 + k++;
        }
        return t;
    }();
    return table.v[b];
}

int unicode_to_byte(uint32_t cp) {
    static const auto table = [] {
        struct T { int16_t v[324]; } t{};
        for (auto & x : t.v) x = -1;
        for (int b = 0; b < 256; ++b) t.v[byte_to_unicode(static_cast<uint8_t>(b))] = static_cast<int16_t>(b);
        return t;
    }();
    return cp < 324 ? table.v[cp] : -1;
}

}  // namespace quanta::text
