#pragma once
/// Validation of one call-for-service record, shared by `produce` (before sending) and
/// `aggregate` (after consuming).
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

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
/// string, number or boolean.
Validated validate_record(const boost::json::value& v, const RecordRules& rules);

/// Parses one record's JSON text into a value that lives in a reused arena, so that parsing
/// 200,000 records does not allocate 200,000 times.
class RecordParser {
 public:
  RecordParser();
  /// Parses `text` (exactly one JSON value, surrounding whitespace allowed).
  /// @returns the value, valid until the next call; std::nullopt on invalid JSON, with Boost.JSON's
  ///          reason in `*error` ("invalid JSON: syntax error", ...).
  const boost::json::value* parse(std::string_view text, std::string* error);

 private:
  std::unique_ptr<unsigned char[]> scratch_;  // first block of every record's arena
  std::optional<boost::json::monotonic_resource> arena_;
  boost::json::parser parser_;
  std::optional<boost::json::value> value_;  // constructed in place so it keeps the arena
};

/// Writes `text`, one well-formed JSON value (as RecordParser accepted it), to `out` without the
/// whitespace between tokens: the compact form `produce` sends. Unlike re-serializing the parsed
/// value, numbers and string escapes stay exactly as written (Boost.JSON 1.81 would turn 1e999
/// into the invalid token Infinity and round 4.5e+300 to 4.5000000000000005E300).
void compact_json(std::string_view text, std::string& out);

/// Returns the string value of `field` in object `o`, or std::nullopt when it is absent or not a
/// string.
std::optional<std::string_view> string_field(const boost::json::object& o, std::string_view field);

}  // namespace sfcrime
