#include "sfcrime/records/record.hpp"

#include <algorithm>
#include <cstring>

#include "sfcrime/base/datetime.hpp"

namespace sfcrime {

namespace {
namespace dom = simdjson::dom;

const char* kind_name(dom::element_type k) {
  switch (k) {
    case dom::element_type::ARRAY: return "an array";
    case dom::element_type::STRING: return "a string";
    case dom::element_type::NULL_VALUE: return "null";
    case dom::element_type::BOOL: return "a boolean";
    case dom::element_type::OBJECT: return "an object";
    default: return "a number";
  }
}
}  // namespace

std::optional<dom::element> find_field(const dom::object& o, std::string_view field) {
  std::optional<dom::element> found;
  for (const dom::key_value_pair kv : o)
    if (kv.key == field) found = kv.value;
  return found;
}

std::optional<std::string_view> string_field(const dom::object& o, std::string_view field) {
  const auto v = find_field(o, field);
  if (!v || !v->is_string()) return std::nullopt;
  return v->get_string().value_unsafe();
}

std::string json_text(const dom::element& v) { return simdjson::minify(v); }

const char* closing_quote(const char* open, const char* from, const char* end) noexcept {
  for (const char* q = from; q < end; ++q) {
    q = static_cast<const char*>(std::memchr(q, '"', static_cast<std::size_t>(end - q)));
    if (!q) return nullptr;
    const char* b = q;
    while (b > open + 1 && b[-1] == '\\') --b;
    if ((q - b) % 2 == 0) return q;
  }
  return nullptr;
}

void compact_json(std::string_view text, std::string& out) {
  // Spans between whitespace are copied whole, strings skipped with closing_quote().
  // simdjson::minify was slower on records of a few hundred bytes (18 % of produce's main thread).
  out.clear();
  out.reserve(text.size());
  const char* p = text.data();
  const char* const end = p + text.size();
  const char* span = p;  // start of the bytes not yet copied
  while (p < end) {
    const char c = *p;
    if (c == '"') {
      const char* q = closing_quote(p, p + 1, end);
      p = q ? q + 1 : end;  // unterminated (not valid JSON): copied as it is
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {  // RFC 8259 whitespace
      out.append(span, p);
      while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
      span = p;
    } else {
      ++p;
    }
  }
  out.append(span, end);
}

const dom::element* RecordParser::parse(std::string_view text, std::string* error) {
  // realloc_if_needed: the text is copied into the parser's own padded buffer (reused).
  const simdjson::error_code ec = parser_.parse(text.data(), text.size(), true).get(value_);
  if (ec != simdjson::SUCCESS) {
    if (error) *error = std::string("invalid JSON: ") + simdjson::error_message(ec);
    return nullptr;
  }
  return &value_;
}

Validated validate_record(const dom::element& v, const RecordRules& rules) {
  Validated r;
  if (!v.is_object()) {
    r.reason = std::string("not a JSON object (found ") + kind_name(v.type()) + ")";
    return r;
  }
  const dom::object o = v.get_object().value_unsafe();
  const auto t = find_field(o, rules.time_field);
  if (!t) {
    r.reason = "missing field '" + rules.time_field + "'";
    return r;
  }
  if (!t->is_string()) {
    r.reason = "field '" + rules.time_field + "' is " + kind_name(t->type()) + ", not a string";
    return r;
  }
  const std::string_view ts = t->get_string().value_unsafe();
  std::string why;
  const auto ms = parse_naive_datetime(ts, &why);
  if (!ms) {
    std::string shown(ts.data(), std::min<std::size_t>(ts.size(), 40));
    r.reason = "field '" + rules.time_field + "' value '" + shown + "' is not a date-time: " + why;
    return r;
  }
  r.event_ms = *ms;
  if (!rules.key_field.empty()) {
    const auto k = find_field(o, rules.key_field);
    if (!k || k->is_null()) {
      r.reason = "missing key field '" + rules.key_field + "'";
      return r;
    }
    if (k->is_string()) {
      r.key.assign(k->get_string().value_unsafe());
    } else if (k->is_object() || k->is_array()) {
      r.reason = "key field '" + rules.key_field + "' is " + kind_name(k->type()) + ", not a scalar";
      return r;
    } else {
      r.key = json_text(*k);
    }
  }
  return r;
}

}  // namespace sfcrime
