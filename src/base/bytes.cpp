#include "sfcrime/base/bytes.hpp"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>

namespace sfcrime {

bool valid_utf8(std::string_view s) noexcept { return simdjson::validate_utf8(s.data(), s.size()); }

std::string base64_encode(std::string_view in) {
  std::string out;
  out.resize((in.size() + 2) / 3 * 4 + 1);  // + EVP_EncodeBlock's terminating NUL
  // EVP_EncodeBlock takes an int length: encode in pieces of a multiple of 3 bytes.
  constexpr std::size_t kPiece = 3u << 20;
  std::size_t done = 0, written = 0;
  while (done < in.size()) {
    const std::size_t n = std::min(kPiece, in.size() - done);
    written += static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                                                        reinterpret_cast<const unsigned char*>(in.data() + done),
                                                        static_cast<int>(n)));
    done += n;
  }
  out.resize(written);
  return out;
}

bool base64_decode(std::string_view in, std::string& out) {
  // EVP_DecodeBlock is lax ('=' anywhere reads as zero bits, surrounding whitespace is skipped)
  // and counts padding as decoded bytes: check the form here, then trim the padding's bytes.
  if (in.size() % 4 != 0) return false;
  std::size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i + pad < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (!std::isalnum(c) && c != '+' && c != '/') return false;
  }
  out.resize(in.size() / 4 * 3);
  constexpr std::size_t kPiece = 4u << 20;
  std::size_t done = 0, written = 0;
  while (done < in.size()) {
    const std::size_t n = std::min(kPiece, in.size() - done);
    const int w = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                                  reinterpret_cast<const unsigned char*>(in.data() + done), static_cast<int>(n));
    if (w < 0) return false;
    written += static_cast<std::size_t>(w);
    done += n;
  }
  out.resize(written - pad);
  return true;
}

}  // namespace sfcrime
