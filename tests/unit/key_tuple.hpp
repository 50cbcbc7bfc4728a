#pragma once
// Group keys as tuples of nullable strings for unit tests, encoded and decoded through
// stream/group_key.hpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/stream/group_key.hpp"

namespace sfcrime::test {

/// One group key: a part per --by field, std::nullopt for null.
using KeyTuple = std::vector<std::optional<std::string>>;

/// The encoded key of `t` (group_key::append_null / append_string, part by part).
inline std::string encode_key(const KeyTuple& t) {
  std::string key;
  for (const auto& part : t) {
    if (part)
      group_key::append_string(key, *part);
    else
      group_key::append_null(key);
  }
  return key;
}

/// The tuple of an encoded key (group_key::decode, copied out of its views).
inline KeyTuple decode_key(std::string_view key) {
  std::vector<std::string> scratch;
  KeyTuple t;
  for (const auto& part : group_key::decode(key, scratch)) {
    if (part)
      t.emplace_back(std::string(*part));
    else
      t.emplace_back(std::nullopt);
  }
  return t;
}

}  // namespace sfcrime::test
