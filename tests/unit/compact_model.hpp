#pragma once
// An independent model of sfcrime::compact_json (and of RecordReader's compact form), shared by
// the unit tests and the record fuzz harness: the text without the RFC 8259 whitespace outside
// strings, written character by character (the plainest form of the rule, not sfcrime's code).
#include <string>
#include <string_view>

namespace sfcrime::test {

inline std::string strip_whitespace(std::string_view text) {
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size())
        out.push_back(text[++i]);
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '"') in_string = true;
    out.push_back(c);
  }
  return out;
}

}  // namespace sfcrime::test
