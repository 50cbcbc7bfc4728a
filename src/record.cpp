#include "sfcrime/record.hpp"

#include <boost/json.hpp>

#include "sfcrime/datetime.hpp"

namespace sfcrime {

namespace {
const char* kind_name(boost::json::kind k) {
  switch (k) {
    case boost::json::kind::array: return "an array";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::object: return "an object";
    default: return "a number";
  }
}
}  // namespace

std::optional<std::string_view> string_field(const boost::json::object& o, std::string_view field) {
  const auto it = o.find(field);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  const boost::json::string& s = it->value().get_string();
  return std::string_view(s.data(), s.size());
}

void compact_json(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);  // the escaped character, a quote included
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;  // RFC 8259 whitespace
    if (c == '"') in_string = true;
    out.push_back(c);
  }
}

namespace {
constexpr std::size_t kScratch = 16 * 1024;  // a real record parses into about 2 KiB
}

RecordParser::RecordParser() : scratch_(new unsigned char[kScratch]) {}

const boost::json::value* RecordParser::parse(std::string_view text, std::string* error) {
  value_.reset();
  // A fresh arena per record over the same scratch block (Boost 1.81's monotonic_resource::release()
  // followed by reuse threw std::bad_alloc here, so the resource is rebuilt instead).
  arena_.emplace(scratch_.get(), kScratch);
  parser_.reset(boost::json::storage_ptr(&*arena_));
  boost::system::error_code ec;
  parser_.write(text.data(), text.size(), ec);
  if (ec) {
    if (error) *error = "invalid JSON: " + ec.message();
    parser_.reset();
    return nullptr;
  }
  // Move-construct (not assign): assignment would copy the value onto the default heap.
  value_.emplace(parser_.release());
  return &*value_;
}

Validated validate_record(const boost::json::value& v, const RecordRules& rules) {
  Validated r;
  if (!v.is_object()) {
    r.reason = std::string("not a JSON object (found ") + kind_name(v.kind()) + ")";
    return r;
  }
  const boost::json::object& o = v.get_object();
  const auto t = o.find(rules.time_field);
  if (t == o.end()) {
    r.reason = "missing field '" + rules.time_field + "'";
    return r;
  }
  if (!t->value().is_string()) {
    r.reason = "field '" + rules.time_field + "' is " + kind_name(t->value().kind()) + ", not a string";
    return r;
  }
  const boost::json::string& ts = t->value().get_string();
  std::string why;
  const auto ms = parse_naive_datetime(std::string_view(ts.data(), ts.size()), &why);
  if (!ms) {
    std::string shown(ts.data(), std::min<std::size_t>(ts.size(), 40));
    r.reason = "field '" + rules.time_field + "' value '" + shown + "' is not a date-time: " + why;
    return r;
  }
  r.event_ms = *ms;
  if (!rules.key_field.empty()) {
    const auto k = o.find(rules.key_field);
    if (k == o.end() || k->value().is_null()) {
      r.reason = "missing key field '" + rules.key_field + "'";
      return r;
    }
    if (k->value().is_string()) {
      r.key.assign(k->value().get_string().data(), k->value().get_string().size());
    } else if (k->value().is_object() || k->value().is_array()) {
      r.reason = "key field '" + rules.key_field + "' is " + kind_name(k->value().kind()) + ", not a scalar";
      return r;
    } else {
      r.key = boost::json::serialize(k->value());
    }
  }
  return r;
}

}  // namespace sfcrime
