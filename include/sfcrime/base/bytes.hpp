#pragma once
/// Byte-level helpers for text sfcrime writes out: the envelopes of `consume --output json` and
/// the lines of the dead-letter and failed files.
#include <string>
#include <string_view>

namespace sfcrime {

/// True when `s` is well-formed UTF-8 (simdjson::validate_utf8: no overlongs, surrogates or code
/// points past U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;

/// Standard base64 (RFC 4648 section 4, with '=' padding), by OpenSSL's EVP_EncodeBlock.
std::string base64_encode(std::string_view in);

/// Decodes standard padded base64 (no whitespace, length a multiple of 4) into `out`.
/// @returns false, leaving `out` unspecified, when `in` is not such base64.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace sfcrime
