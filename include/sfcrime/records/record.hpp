#pragma once
/// Validation of one call-for-service record, shared by `produce` (before sending) and
/// `aggregate` (after consuming).
#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sfcrime {

/// Which fields a record must carry.
struct RecordRules {
  std::string time_field = "call_date_time";  ///< event time: string, parse_naive_datetime()
  std::string key_field = "crime_id";         ///< message key (produce only; empty = no key)
};

/// What validation found: either `reason` is empty and the other members are set, or it names
/// why the record is rejected.
struct Validated {
  std::string reason;          ///< empty when valid, else e.g. "missing field 'call_date_time'"
  std::int64_t event_ms = 0;   ///< event time, milliseconds since the naive epoch
  std::string key;             ///< the key field's value: a string's content, or a scalar's JSON text
  bool ok() const noexcept { return reason.empty(); }
};

/// Checks one parsed record: it must be a JSON object; the time field must be present, a string,
/// and parse as a naive date-time; if rules.key_field is not empty, it must be present and a
/// string, number or boolean. A key that occurs twice counts by its last occurrence, as
/// Boost.JSON's and JavaScript's parsers keep it.
Validated validate_record(const simdjson::dom::element& v, const RecordRules& rules);

/// Parses one record's JSON text with simdjson's DOM parser (https://simdjson.org): the whole
/// text is validated (RFC 8259 grammar, UTF-8, escapes, numbers), into buffers reused from record
/// to record, so that parsing 200,000 records allocates only for the largest. Limits (where it
/// differs from Boost.JSON, which sfcrime used before; fuzz/README.md): an integer token
/// must fit 64 bits and a number a finite double (1e999 is rejected), an exponent of many digits
/// is read as 0 or rejected as its value says (0e6676000062 is 0), nesting at most 1024 levels
/// counting the innermost scalar.
class RecordParser {
 public:
  /// Parses `text` (exactly one JSON value, surrounding whitespace allowed).
  /// @returns the value, valid until the next call; nullptr on invalid JSON, with the reason in
  ///          `*error` ("invalid JSON: " and simdjson's message).
  const simdjson::dom::element* parse(std::string_view text, std::string* error);

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element value_;
};

/// The last occurrence of `field` in object `o` (std::nullopt when absent).
std::optional<simdjson::dom::element> find_field(const simdjson::dom::object& o, std::string_view field);

/// The compact JSON text of `v` (simdjson::minify of the parsed value: numbers are written as
/// simdjson reads them, e.g. 1e2 as 100.0).
std::string json_text(const simdjson::dom::element& v);

/// The closing quote of the JSON string whose opening quote is at `open`, searched for in
/// [from, end) with memchr (from > open; where an earlier search of the same string stopped):
/// the first '"' preceded by an even number of backslashes (RFC 8259: an escaped quote is \\").
/// @returns a pointer to it, or nullptr when [from, end) holds none.
const char* closing_quote(const char* open, const char* from, const char* end) noexcept;

/// Writes `text`, one well-formed JSON value (as RecordParser accepted it), to `out` without the
/// whitespace between tokens: the compact form `produce` sends. Unlike re-serializing the parsed
/// value, numbers and string escapes stay exactly as written.
void compact_json(std::string_view text, std::string& out);

/// Returns the string value of `field` (its last occurrence) in object `o`, or std::nullopt when
/// it is absent or not a string.
std::optional<std::string_view> string_field(const simdjson::dom::object& o, std::string_view field);

}  // namespace sfcrime
