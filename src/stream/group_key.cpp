#include "sfcrime/stream/group_key.hpp"

#include <boost/json.hpp>

namespace sfcrime {

namespace group_key {

void append_null(std::string& key) { key.push_back('\x01'); }

void append_string(std::string& key, std::string_view value) {
  key.push_back('\x02');
  for (const char c : value) {
    key.push_back(c);
    if (c == '\0') key.push_back('\xff');
  }
  key.push_back('\0');
}

std::vector<std::optional<std::string_view>> decode(std::string_view key, std::vector<std::string>& scratch) {
  std::vector<std::optional<std::string_view>> parts;
  scratch.clear();
  scratch.reserve(key.size());  // views into scratch must not move
  std::size_t i = 0;
  while (i < key.size()) {
    if (key[i] == '\x01') {
      parts.emplace_back(std::nullopt);
      ++i;
      continue;
    }
    ++i;  // 0x02
    const std::size_t from = i;
    bool escaped = false;
    while (i < key.size() && !(key[i] == '\0' && (i + 1 >= key.size() || key[i + 1] != '\xff'))) {
      if (key[i] == '\0') {
        escaped = true;
        ++i;  // skip the 0xFF
      }
      ++i;
    }
    std::string_view raw = key.substr(from, i - from);
    ++i;  // the terminating 0x00
    if (!escaped) {
      parts.emplace_back(raw);
      continue;
    }
    std::string& s = scratch.emplace_back();
    for (std::size_t k = 0; k < raw.size(); ++k) {
      s.push_back(raw[k]);
      if (raw[k] == '\0') ++k;
    }
    parts.emplace_back(std::string_view(s));
  }
  return parts;
}

}  // namespace group_key

void group_key::append_json(std::string_view key, boost::json::array& out, std::vector<std::string>& scratch) {
  for (const auto& part : decode(key, scratch)) {
    if (part)
      out.emplace_back(*part);
    else
      out.emplace_back(nullptr);
  }
}

std::string group_key::from_json(const boost::json::array& parts) {
  std::string key;
  for (const boost::json::value& part : parts) {
    if (part.is_null())
      append_null(key);
    else
      append_string(key, std::string_view(part.as_string()));
  }
  return key;
}

}  // namespace sfcrime
