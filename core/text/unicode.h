// core/text/unicode.h — the few UTF-8 facts the tokenizers need, without a Unicode library.
//
// Everything here works on std::string holding UTF-8 bytes. Invalid input is repaired exactly as
// Python's bytes.decode("utf-8", "replace") and Rust's String::from_utf8_lossy do (one U+FFFD per
// maximal invalid subpart, Unicode 3.9 "substitution of maximal subparts"), because that is what
// a Hugging Face tokenizer sees when a caller hands it undecodable bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace quanta::text {

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 when s[i..] does not start
// with a complete valid sequence (bad lead, bad continuation, overlong, surrogate, > U+10FFFF, cut).
size_t utf8_valid_length(std::string_view s, size_t i);

// Decodes the valid sequence of `len` bytes at s[i] (len from utf8_valid_length).
uint32_t utf8_decode(std::string_view s, size_t i, size_t len);

// Appends code point cp (<= U+10FFFF, not a surrogate) as UTF-8.
void utf8_append(std::string & out, uint32_t cp);

// True when all of s is valid UTF-8.
bool utf8_is_valid(std::string_view s);

// s with every maximal invalid subpart replaced by U+FFFD (lossy, like from_utf8_lossy).
std::string utf8_sanitize(std::string_view s);

// Length of the prefix of a possibly-valid but incomplete sequence at the end of s: the bytes a
// streaming decoder must hold back (0..3). 0 when s ends on a complete sequence or on bytes that
// can never become valid.
size_t utf8_incomplete_tail(std::string_view s);

// Unicode White_Space (Rust char::is_whitespace), used by added-token lstrip/rstrip.
bool is_unicode_whitespace(uint32_t cp);

// GPT-2's byte-to-unicode table: byte b is spelled as code point byte_to_unicode(b) in a
// byte-level vocabulary; unicode_to_byte is its inverse (-1 for code points not in the table).
uint32_t byte_to_unicode(uint8_t b);
int unicode_to_byte(uint32_t cp);

}  // namespace quanta::text
