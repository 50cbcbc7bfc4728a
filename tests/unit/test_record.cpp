#define BOOST_TEST_MODULE record
#include <boost/test/unit_test.hpp>

#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <new>
#include <string>
#include <vector>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/records/record.hpp"

#include "compact_model.hpp"

namespace {

namespace dom = simdjson::dom;
using namespace std::chrono;
using sfcrime::format_naive_datetime;
using sfcrime::parse_naive_datetime;
using sfcrime::RecordParser;
using sfcrime::RecordRules;
using sfcrime::validate_record;

constexpr std::int64_t kDay = 86'400'000;

/// Milliseconds since 1970-01-01T00:00:00 computed with C++20 <chrono>, independently of
/// sfcrime's days_from_civil.
std::int64_t ms_of(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int ms = 0) {
  const sys_days date{year{y} / month{mo} / day{d}};
  const auto t = date + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

/// Parses `text` (which must be valid) into a simdjson element that stays valid to the end of the
/// run: each call gets a parser of its own, kept in a deque (whose elements never move).
dom::element obj(std::string_view text) {
  static std::deque<dom::parser> parsers;
  dom::element e;
  const simdjson::error_code err = parsers.emplace_back().parse(text.data(), text.size()).get(e);
  BOOST_REQUIRE_MESSAGE(err == simdjson::SUCCESS, "test input '" << text << "': " << simdjson::error_message(err));
  return e;
}

/// The object `v` (a test failure if it is not one).
dom::object object_of(const dom::element& v) {
  BOOST_REQUIRE(v.is_object());
  return v.get_object().value_unsafe();
}

/// The string value of `key` in object `v`, read with simdjson's own lookup (not sfcrime's).
std::string_view str_at(const dom::element& v, std::string_view key) { return v.at_key(key).get_string().value(); }

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// parse_naive_datetime / format_naive_datetime
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parse_hand_counted_values) {
  BOOST_TEST(*parse_naive_datetime("1970-01-01T00:00:00") == 0);
  BOOST_TEST(*parse_naive_datetime("1970-01-01T00:00:01") == 1000);
  BOOST_TEST(*parse_naive_datetime("1970-01-02T00:00:00") == kDay);
  // 1970..1999: 30 years with 7 leap years (72 76 80 84 88 92 96) -> 10957 days.
  BOOST_TEST(*parse_naive_datetime("2000-01-01T00:00:00") == 10957 * kDay);
  // + January (31) + February 2000 (29, 2000 is a leap year).
  BOOST_TEST(*parse_naive_datetime("2000-03-01T00:00:00") == (10957 + 31 + 29) * kDay);
  // One second before the epoch.
  BOOST_TEST(*parse_naive_datetime("1969-12-31T23:59:59") == -1000);
  BOOST_TEST(*parse_naive_datetime("1969-12-31T00:00:00") == -kDay);
  // 12:34:56 = 45296 s.
  BOOST_TEST(*parse_naive_datetime("1970-01-01T12:34:56") == 45'296'000);
}

BOOST_AUTO_TEST_CASE(parse_matches_std_chrono) {
  struct Case {
    const char* text;
    std::int64_t expected;
  };
  const Case cases[] = {
      {"2018-10-02T09:17:00", ms_of(2018, 10, 2, 9, 17, 0)},
      {"2018-11-04T01:30:00", ms_of(2018, 11, 4, 1, 30, 0)},  // DST fold: naive, no zone
      {"2018-03-11T02:30:00", ms_of(2018, 3, 11, 2, 30, 0)},  // DST gap: still valid naively
      {"2016-02-29T23:59:59", ms_of(2016, 2, 29, 23, 59, 59)},
      {"2000-02-29T00:00:00", ms_of(2000, 2, 29)},
      {"2003-12-31T12:00:00", ms_of(2003, 12, 31, 12)},
      {"1950-06-15T06:07:08", ms_of(1950, 6, 15, 6, 7, 8)},
      {"1600-03-01T00:00:00", ms_of(1600, 3, 1)},
      {"9999-12-31T23:59:59", ms_of(9999, 12, 31, 23, 59, 59)},
      {"0001-01-01T00:00:00", ms_of(1, 1, 1)},
  };
  for (const auto& c : cases) {
    const auto ms = parse_naive_datetime(c.text);
    BOOST_TEST_CONTEXT(c.text) {
      BOOST_REQUIRE(ms.has_value());
      BOOST_TEST(*ms == c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(space_instead_of_t_is_accepted) {
  const auto a = parse_naive_datetime("2018-10-02 09:17:00");
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(*a == ms_of(2018, 10, 2, 9, 17, 0));
}

BOOST_AUTO_TEST_CASE(fractions) {
  const std::int64_t base = ms_of(2018, 10, 2, 9, 17, 5);
  struct Case {
    const char* suffix;
    std::int64_t ms;
  };
  const Case cases[] = {{".0", 0},       {".000", 0},         {".5", 500},          {".12", 120},
                        {".123", 123},   {".1239", 123},      {".123456789", 123},  {".999999999", 999},
                        {".001", 1},     {".000000001", 0}};
  for (const auto& c : cases) {
    const std::string text = std::string("2018-10-02T09:17:05") + c.suffix;
    BOOST_TEST_CONTEXT(text) {
      const auto ms = parse_naive_datetime(text);
      BOOST_REQUIRE(ms.has_value());
      BOOST_TEST(*ms == base + c.ms);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejected_texts) {
  const char* bad[] = {
      "",
      "2018-10-02",
      "2018-10-02T09:17",
      "2018-13-02T09:17:00",   // month 13
      "2018-00-02T09:17:00",   // month 0
      "2018-02-30T09:17:00",   // Feb 30
      "2018-02-29T00:00:00",   // Feb 29 in a non-leap year
      "1900-02-29T00:00:00",   // 1900 is not a leap year (century rule)
      "2018-04-31T00:00:00",   // April has 30 days
      "2018-10-00T00:00:00",   // day 0
      "2018-10-32T00:00:00",
      "2018-10-02T24:00:00",   // hour 24
      "2018-10-02T23:60:00",   // minute 60
      "2018-10-02T23:59:60",   // no leap seconds
      "2018-10-02T09:17:00Z",  // a zone is not accepted: times are naive
      "2018-10-02T09:17:00+00:00",
      "2018-10-02T09:17:00-07:00",
      "2018-10-02T09:17:00.",            // point without digits
      "2018-10-02T09:17:00.1234567890",  // 10 fraction digits
      "2018-10-02T09:17:00.123Z",
      "2018-10-02t09:17:00",
      "2018-10-02_09:17:00",
      "2018/10/02T09:17:00",
      "18-10-02T09:17:00",
      "2018-1-02T09:17:00",
      "2018-10-02T9:17:00",
      " 2018-10-02T09:17:00",
      "2018-10-02T09:17:00 ",
      "2018-10-02T09:17:0a",
      "2018-10-02T09:17:00,5",
      "not a date at all",
  };
  for (const char* text : bad) {
    std::string why;
    const auto ms = parse_naive_datetime(text, &why);
    BOOST_TEST(!ms.has_value(), "accepted '" << text << "' as " << ms.value_or(0));
    BOOST_TEST(!why.empty(), "no reason for '" << text << "'");
  }
  // Without a reason pointer, no crash.
  BOOST_TEST(!parse_naive_datetime("2018-13-01T00:00:00").has_value());
}

BOOST_AUTO_TEST_CASE(leap_day_2016_valid_2018_not) {
  const auto ok = parse_naive_datetime("2016-02-29T12:00:00");
  BOOST_REQUIRE(ok.has_value());
  BOOST_TEST(*ok == ms_of(2016, 2, 29, 12));
  // 2016-02-29 is the day after 2016-02-28.
  BOOST_TEST(*ok - *parse_naive_datetime("2016-02-28T12:00:00") == kDay);
  // 2016-03-01 is the day after it.
  BOOST_TEST(*parse_naive_datetime("2016-03-01T12:00:00") - *ok == kDay);
  std::string why;
  BOOST_TEST(!parse_naive_datetime("2018-02-29T12:00:00", &why).has_value());
  BOOST_TEST(contains(why, "day"), why);
}

BOOST_AUTO_TEST_CASE(reasons_name_the_problem) {
  std::string why;
  parse_naive_datetime("2018-13-01T00:00:00", &why);
  BOOST_TEST(contains(why, "month"), why);
  parse_naive_datetime("2018-10-02T24:00:00", &why);
  BOOST_TEST(contains(why, "hour"), why);
  parse_naive_datetime("2018-10-02T09:17:00Z", &why);
  BOOST_TEST(contains(why, "zone"), why);
}

BOOST_AUTO_TEST_CASE(format_values) {
  BOOST_TEST(format_naive_datetime(0) == "1970-01-01T00:00:00");
  BOOST_TEST(format_naive_datetime(ms_of(2018, 10, 2, 9, 17, 0)) == "2018-10-02T09:17:00");
  BOOST_TEST(format_naive_datetime(ms_of(2018, 10, 2, 9, 17, 0, 5)) == "2018-10-02T09:17:00.005");
  BOOST_TEST(format_naive_datetime(ms_of(2016, 2, 29, 23, 59, 59, 999)) == "2016-02-29T23:59:59.999");
  BOOST_TEST(format_naive_datetime(-1) == "1969-12-31T23:59:59.999");
  BOOST_TEST(format_naive_datetime(-1000) == "1969-12-31T23:59:59");
  BOOST_TEST(format_naive_datetime(-kDay) == "1969-12-31T00:00:00");
  BOOST_TEST(format_naive_datetime(ms_of(1950, 6, 15, 6, 7, 8, 90)) == "1950-06-15T06:07:08.090");
}

BOOST_AUTO_TEST_CASE(format_parse_round_trip) {
  // Every 7 hours 13 minutes 17.123 s over a span crossing 1970 and several leap days.
  const std::int64_t step = ((7 * 60 + 13) * 60 + 17) * 1000 + 123;
  for (std::int64_t t = ms_of(1967, 1, 1); t < ms_of(1973, 1, 1); t += step) {
    const std::string text = format_naive_datetime(t);
    const auto back = parse_naive_datetime(text);
    if (!back || *back != t) {
      BOOST_TEST(back.has_value(), text);
      BOOST_TEST(back.value_or(0) == t, text);
      break;
    }
  }
}

BOOST_AUTO_TEST_CASE(days_from_civil_matches_chrono) {
  BOOST_TEST(sfcrime::days_from_civil(1970, 1, 1) == 0);
  BOOST_TEST(sfcrime::days_from_civil(2000, 1, 1) == 10957);
  for (int y : {1600, 1899, 1900, 1969, 1970, 2000, 2016, 2018, 2100, 2400}) {
    for (unsigned m : {1u, 2u, 3u, 12u}) {
      const sys_days d{year{y} / month{m} / 1};
      BOOST_TEST(sfcrime::days_from_civil(y, m, 1) == d.time_since_epoch().count(), y << "-" << m);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// validate_record
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(valid_record) {
  const auto v = obj(R"({"crime_id":"183651890","call_date_time":"2018-10-02T09:17:00","disposition":"CIT"})");
  const auto r = validate_record(v, RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.reason.empty());
  BOOST_TEST(r.event_ms == ms_of(2018, 10, 2, 9, 17, 0));
  BOOST_TEST(r.key == "183651890");
}

BOOST_AUTO_TEST_CASE(not_an_object) {
  for (const char* text : {"[1,2]", "\"2018-10-02T09:17:00\"", "42", "null", "true"}) {
    const auto r = validate_record(obj(text), RecordRules{});
    BOOST_TEST(!r.ok(), text);
    BOOST_TEST(contains(r.reason, "not a JSON object"), text << ": " << r.reason);
  }
  BOOST_TEST(contains(validate_record(obj("[1]"), RecordRules{}).reason, "array"));
  BOOST_TEST(contains(validate_record(obj("null"), RecordRules{}).reason, "null"));
}

BOOST_AUTO_TEST_CASE(missing_call_date_time) {
  const auto r = validate_record(obj(R"({"crime_id":"1","call_date":"2018-10-02T00:00:00"})"), RecordRules{});
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.reason == "missing field 'call_date_time'");
}

BOOST_AUTO_TEST_CASE(call_date_time_not_a_string) {
  for (const char* text : {R"({"crime_id":"1","call_date_time":1538471820000})",
                           R"({"crime_id":"1","call_date_time":null})",
                           R"({"crime_id":"1","call_date_time":["2018-10-02T09:17:00"]})",
                           R"({"crime_id":"1","call_date_time":{"v":"2018-10-02T09:17:00"}})"}) {
    const auto r = validate_record(obj(text), RecordRules{});
    BOOST_TEST(!r.ok(), text);
    BOOST_TEST(contains(r.reason, "not a string"), text << ": " << r.reason);
    BOOST_TEST(contains(r.reason, "call_date_time"), r.reason);
  }
}

BOOST_AUTO_TEST_CASE(call_date_time_unparsable) {
  for (const char* value : {"2018-13-02T09:17:00", "2018-02-30T09:17:00", "2018-02-29T09:17:00", "2018-10-02T24:00:00",
                            "2018-10-02T09:17:00Z", "yesterday", ""}) {
    const std::string text = std::string(R"({"crime_id":"1","call_date_time":")") + value + "\"}";
    const auto r = validate_record(obj(text), RecordRules{});
    BOOST_TEST(!r.ok(), text);
    BOOST_TEST(contains(r.reason, "not a date-time"), text << ": " << r.reason);
    BOOST_TEST(contains(r.reason, value), r.reason);
  }
  const auto ok = validate_record(obj(R"({"crime_id":"1","call_date_time":"2016-02-29 10:00:00.123456789"})"),
                                  RecordRules{});
  BOOST_TEST(ok.ok(), ok.reason);
  BOOST_TEST(ok.event_ms == ms_of(2016, 2, 29, 10, 0, 0, 123));
}

BOOST_AUTO_TEST_CASE(key_field_missing_or_null) {
  auto r = validate_record(obj(R"({"call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(!r.ok());
  BOOST_TEST(contains(r.reason, "crime_id"), r.reason);
  r = validate_record(obj(R"({"crime_id":null,"call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(!r.ok());
  BOOST_TEST(contains(r.reason, "crime_id"), r.reason);
}

BOOST_AUTO_TEST_CASE(key_field_scalars) {
  auto r = validate_record(obj(R"({"crime_id":183651890,"call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "183651890");
  r = validate_record(obj(R"({"crime_id":-7,"call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "-7");
  r = validate_record(obj(R"({"crime_id":true,"call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "true");
  r = validate_record(obj(R"({"crime_id":"","call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "");
  r = validate_record(obj(R"({"crime_id":"a\"b","call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(r.key == "a\"b");  // a string's content, not its JSON text
}

BOOST_AUTO_TEST_CASE(key_field_object_or_array_rejected) {
  for (const char* text : {R"({"crime_id":{"x":1},"call_date_time":"2018-10-02T09:17:00"})",
                           R"({"crime_id":[1],"call_date_time":"2018-10-02T09:17:00"})"}) {
    const auto r = validate_record(obj(text), RecordRules{});
    BOOST_TEST(!r.ok(), text);
    BOOST_TEST(contains(r.reason, "crime_id"), r.reason);
  }
}

BOOST_AUTO_TEST_CASE(no_key_field_rule) {
  RecordRules rules;
  rules.key_field.clear();
  const auto r = validate_record(obj(R"({"call_date_time":"2018-10-02T09:17:00"})"), rules);
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key.empty());
}

BOOST_AUTO_TEST_CASE(custom_time_field) {
  RecordRules rules;
  rules.time_field = "report_date";
  rules.key_field = "id";
  auto r = validate_record(obj(R"({"id":"x","report_date":"2018-10-02T00:00:00","call_date_time":"bad"})"), rules);
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.event_ms == ms_of(2018, 10, 2));
  BOOST_TEST(r.key == "x");
  r = validate_record(obj(R"({"id":"x","call_date_time":"2018-10-02T00:00:00"})"), rules);
  BOOST_TEST(r.reason == "missing field 'report_date'");
}

// ---------------------------------------------------------------------------------------------
// string_field
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(string_field_cases) {
  const auto v = obj(R"({"s":"abc","e":"","n":1,"z":null,"o":{"s":"inner"},"u":"caf\u00e9"})");
  const dom::object o = object_of(v);
  BOOST_REQUIRE(sfcrime::string_field(o, "s").has_value());
  BOOST_TEST(*sfcrime::string_field(o, "s") == "abc");
  BOOST_REQUIRE(sfcrime::string_field(o, "e").has_value());
  BOOST_TEST(sfcrime::string_field(o, "e")->empty());
  BOOST_TEST(*sfcrime::string_field(o, "u") == "caf\xC3\xA9");
  BOOST_TEST(!sfcrime::string_field(o, "n").has_value());
  BOOST_TEST(!sfcrime::string_field(o, "z").has_value());
  BOOST_TEST(!sfcrime::string_field(o, "o").has_value());
  BOOST_TEST(!sfcrime::string_field(o, "missing").has_value());
  BOOST_TEST(!sfcrime::string_field(o, "S").has_value());  // keys are case-sensitive
}

BOOST_AUTO_TEST_CASE(string_field_unescapes_keys) {
  const auto v = obj(R"({"a\u0062":"x","c\"d":"y"})");
  const dom::object o = object_of(v);
  BOOST_TEST(sfcrime::string_field(o, "ab").value_or("?") == "x");
  BOOST_TEST(sfcrime::string_field(o, "c\"d").value_or("?") == "y");
  BOOST_TEST(!sfcrime::string_field(o, "a\\u0062").has_value());
}

// ---------------------------------------------------------------------------------------------
// A key that occurs twice counts by its last occurrence (record.hpp), as it did with Boost.JSON,
// which kept only the last one; simdjson's DOM keeps both, so find_field must look at all.
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(duplicate_time_field_counts_by_last_occurrence) {
  auto r = validate_record(
      obj(R"({"crime_id":"1","call_date_time":"yesterday","call_date_time":"2018-10-02T09:17:00"})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.event_ms == ms_of(2018, 10, 2, 9, 17, 0));
  r = validate_record(obj(R"({"crime_id":"1","call_date_time":"2018-10-02T09:17:00","call_date_time":"tomorrow"})"),
                      RecordRules{});
  BOOST_TEST(!r.ok());
  BOOST_TEST(contains(r.reason, "'tomorrow' is not a date-time"), r.reason);
  r = validate_record(obj(R"({"crime_id":"1","call_date_time":"2018-10-02T09:17:00","call_date_time":5})"),
                      RecordRules{});
  BOOST_TEST(r.reason == "field 'call_date_time' is a number, not a string");
  r = validate_record(obj(R"({"call_date_time":"2018-10-02T09:17:00","crime_id":"1","call_date_time":null})"),
                      RecordRules{});
  BOOST_TEST(r.reason == "field 'call_date_time' is null, not a string");
  // Three times: the third wins.
  r = validate_record(obj(R"({"call_date_time":1,"call_date_time":"x","crime_id":"1","call_date_time":"2016-02-29 10:00:00"})"),
                      RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.event_ms == ms_of(2016, 2, 29, 10));
}

BOOST_AUTO_TEST_CASE(duplicate_key_field_counts_by_last_occurrence) {
  const std::string t = R"("call_date_time":"2018-10-02T09:17:00")";
  auto r = validate_record(obj(R"({"crime_id":"a",)" + t + R"(,"crime_id":"b"})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "b");
  r = validate_record(obj(R"({"crime_id":"a",)" + t + R"(,"crime_id":null})"), RecordRules{});
  BOOST_TEST(r.reason == "missing key field 'crime_id'");
  r = validate_record(obj(R"({"crime_id":null,)" + t + R"(,"crime_id":7})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "7");
  r = validate_record(obj(R"({"crime_id":"a",)" + t + R"(,"crime_id":[1]})"), RecordRules{});
  BOOST_TEST(r.reason == "key field 'crime_id' is an array, not a scalar");
  r = validate_record(obj(R"({"crime_id":{"x":1},)" + t + R"(,"crime_id":"c"})"), RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "c");
}

BOOST_AUTO_TEST_CASE(duplicate_field_in_string_field_and_find_field) {
  const auto v = obj(R"({"d":"first","n":"a string","d":"last","n":1,"o":{"d":"inner"},"d2":"x"})");
  const dom::object o = object_of(v);
  BOOST_TEST(sfcrime::string_field(o, "d").value_or("?") == "last");
  // The last "n" is a number: not a string, although an earlier occurrence was.
  BOOST_TEST(!sfcrime::string_field(o, "n").has_value());
  const auto n = sfcrime::find_field(o, "n");
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(n->get_int64().value() == 1);
  BOOST_TEST(!sfcrime::find_field(o, "missing").has_value());
  BOOST_TEST(!sfcrime::find_field(o, "").has_value());
  BOOST_TEST(sfcrime::string_field(object_of(obj(R"({"":"empty key"})")), "").value_or("?") == "empty key");
}

// ---------------------------------------------------------------------------------------------
// json_text: the key (and a --by part) of a non-string scalar
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(key_field_numbers_are_written_as_simdjson_writes_them) {
  struct Case {
    const char* value;
    const char* key;
  };
  // Numbers are written from their parsed value, not as in the record: 1e2 and 100.0 give the
  // same key, and a double keeps a '.' or an exponent, so 1.0 and 1 stay different keys.
  const Case cases[] = {{"1e2", "100.0"},
                        {"100.0", "100.0"},
                        {"1E2", "100.0"},
                        {"1.5", "1.5"},
                        {"-0.0", "-0.0"},
                        {"-0", "0"},
                        {"1.0", "1.0"},
                        {"1", "1"},
                        {"0.1", "0.1"},
                        {"4.5e+300", "4.5e+300"},
                        {"1e-400", "0.0"},  // underflows to zero: accepted
                        {"18446744073709551615", "18446744073709551615"},
                        {"-9223372036854775808", "-9223372036854775808"},
                        {"false", "false"}};
  for (const auto& c : cases) {
    const std::string text =
        std::string(R"({"crime_id":)") + c.value + R"(,"call_date_time":"2018-10-02T09:17:00"})";
    const auto r = validate_record(obj(text), RecordRules{});
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(r.ok(), r.reason);
      BOOST_TEST(r.key == c.key);
    }
  }
  // A double's text reads back as the same double (shortest round-trip form).
  for (const double d : {0.1, 1.0 / 3, 4.5e300, 5e-324, 1.7976931348623157e308, -2.2250738585072014e-308}) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    const std::string text = std::string(R"({"crime_id":)") + buf + R"(,"call_date_time":"2018-10-02T09:17:00"})";
    const auto r = validate_record(obj(text), RecordRules{});
    BOOST_TEST(std::strtod(r.key.c_str(), nullptr) == d, text << " -> " << r.key);
  }
  BOOST_TEST(sfcrime::json_text(obj(R"([1,"a\"b",{"k":null}])")) == R"([1,"a\"b",{"k":null}])");
}

// ---------------------------------------------------------------------------------------------
// RecordParser
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parser_valid_text) {
  RecordParser p;
  std::string error;
  const dom::element* v = p.parse("  {\"crime_id\":\"1\",\"n\":[1,2,3]}\r\n ", &error);
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(error.empty());
  BOOST_REQUIRE(v->is_object());
  BOOST_TEST(str_at(*v, "crime_id") == "1");
  BOOST_TEST(v->at_key("n").get_array().value().size() == 3u);
}

BOOST_AUTO_TEST_CASE(parser_invalid_text) {
  RecordParser p;
  for (const char* text : {"{", "{\"a\":}", "{\"a\":1} x", "{\"a\":1}{\"b\":2}", "", "   ", "[1,]", "{'a':1}",
                           "{\"a\":1,}", "{\"a\":\"\xff\"}", "nul", "{\"a\":01}"}) {
    std::string error;
    const dom::element* v = p.parse(text, &error);
    BOOST_TEST(v == nullptr, "accepted '" << text << "'");
    BOOST_TEST(error.rfind("invalid JSON: ", 0) == 0, "'" << text << "' -> '" << error << "'");
    BOOST_TEST(error.size() > std::string("invalid JSON: ").size());
  }
  BOOST_TEST(p.parse("{", nullptr) == nullptr);  // no error pointer: no crash
}

BOOST_AUTO_TEST_CASE(parser_rejects_what_boost_json_rejected) {
  // Beyond the list above: texts Boost.JSON 1.81 rejected too, which simdjson must not let through.
  const std::string cases[] = {
      "\"\\ud800\"",                       // lone leading surrogate
      "\"\\udc00\"",                       // lone trailing surrogate
      "\"\\ud800x\"",                      // leading surrogate without its pair
      "\"\\ud800\\u0041\"",                // leading surrogate followed by a non-surrogate escape
      "\"\xc0\x80\"",                      // overlong UTF-8 (NUL)
      "\"\xed\xa0\x80\"",                  // a surrogate encoded in UTF-8
      "\"\xf4\x90\x80\x80\"",              // beyond U+10FFFF
      "\"caf\xc3\"",                       // truncated UTF-8 sequence
      std::string("\"a\0b\"", 5),          // a raw NUL byte inside a string
      "\"a\x01" "b\"",                     // a raw control character inside a string
      "\"tab\there\"",                     // a raw tab inside a string
      std::string("{\"a\":1}\0", 8),       // a NUL byte after the value
      "{\"a\":1}garbage",                  // trailing garbage
      "{\"a\":1} ]",                       // a trailing bracket
      "1 2",                               // two values
      "\xEF\xBB\xBF{\"a\":1}",             // a leading UTF-8 byte order mark
      "NaN", "Infinity", "-Infinity", "+1", ".5", "1.", "-01", "1e", "0x10", "tru", "nulll",
      "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[1 2]", "{1:2}", "\"\\x41\"", "\"\\u12\"", "\"unterminated",
  };
  RecordParser p;
  for (const std::string& text : cases) {
    std::string error;
    BOOST_TEST(p.parse(text, &error) == nullptr, "accepted '" << text << "'");
    BOOST_TEST(error.rfind("invalid JSON: ", 0) == 0, "'" << text << "' -> '" << error << "'");
  }
}

BOOST_AUTO_TEST_CASE(parser_string_contents) {
  RecordParser p;
  std::string error;
  // An escaped NUL is a character like any other: the string keeps its 3 bytes.
  const dom::element* v = p.parse(R"({"s":"a\u0000b"})", &error);
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  BOOST_TEST(str_at(*v, "s") == std::string_view("a\0b", 3));
  v = p.parse(R"({"s":"\ud800\udc00\u00e9\/\"\\"})", &error);  // a surrogate pair: U+10000
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  BOOST_TEST(str_at(*v, "s") == "\xF0\x90\x80\x80\xC3\xA9/\"\\");
  v = p.parse("{\"s\":\"\x7f\"}", &error);  // DEL is not a control character in JSON
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  BOOST_TEST(str_at(*v, "s") == "\x7f");
}

BOOST_AUTO_TEST_CASE(parser_rejects_numbers_out_of_range) {
  // Documented difference from Boost.JSON 1.81, which read 1e999 as infinity and an integer beyond
  // 64 bits as a double: simdjson rejects a number that is neither a finite double nor a 64-bit
  // integer (int64 or uint64) -- an integer token, even a huge one, is never read as a double.
  RecordParser p;
  for (const char* number : {"1e999", "-1e999", "2e308", "1.7976931348623159e308", "1e400000000000",
                             "18446744073709551616", "-9223372036854775809", "123456789012345678901234567890",
                             "-18446744073709551616"}) {
    const std::string text = std::string(R"({"crime_id":"1","call_date_time":"2018-10-02T09:17:00","n":)") + number + "}";
    std::string error;
    BOOST_TEST(p.parse(text, &error) == nullptr, "accepted " << number);
    BOOST_TEST(error.rfind("invalid JSON: ", 0) == 0, number << " -> '" << error << "'");
    BOOST_TEST(contains(error, "number"), number << " -> '" << error << "'");
  }
  // The edges of the range are accepted.
  std::string error;
  const dom::element* v = p.parse("[18446744073709551615,-9223372036854775808,9223372036854775807,"
                                  "1.7976931348623157e308,1.7976931348623158e308,18446744073709551616.0,1e-400,"
                                  "0e4999959,-1e-400]",
                                  &error);
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  const dom::array a = v->get_array().value();
  BOOST_TEST(a.at(0).get_uint64().value() == UINT64_MAX);
  BOOST_TEST(a.at(1).get_int64().value() == INT64_MIN);
  BOOST_TEST(a.at(2).get_int64().value() == INT64_MAX);
  BOOST_TEST(a.at(3).get_double().value() == 1.7976931348623157e308);
  BOOST_TEST(a.at(4).get_double().value() == 1.7976931348623157e308);  // rounds down (Boost: infinity)
  BOOST_TEST(a.at(5).get_double().value() == 18446744073709551616.0);  // a fraction or exponent: a double
  BOOST_TEST(a.at(6).get_double().value() == 0.0);                     // underflow is not an error
  BOOST_TEST(a.at(7).get_double().value() == 0.0);                     // (Boost 1.81: NaN)
  BOOST_TEST(std::signbit(a.at(8).get_double().value()));
}

BOOST_AUTO_TEST_CASE(parser_nesting) {
  const auto arrays = [](int n, std::string_view inner) {
    return std::string(n, '[') + std::string(inner) + std::string(n, ']');
  };
  const auto objects = [](int n, std::string_view inner) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "{\"a\":";
    return s + std::string(inner) + std::string(n, '}');
  };
  RecordParser p;
  std::string error;
  // 100 deep is accepted (Boost.JSON's default max_depth, 32, rejected it).
  for (const std::string& nested : {arrays(100, "1"), objects(100, "\"x\""), arrays(100, "")}) {
    const std::string text = R"({"crime_id":"1","call_date_time":"2018-10-02T09:17:00","deep":)" + nested + "}";
    const dom::element* v = p.parse(text, &error);
    BOOST_REQUIRE_MESSAGE(v != nullptr, error);
    const auto r = validate_record(*v, RecordRules{});
    BOOST_TEST(r.ok(), r.reason);
  }
  // The limit (record.hpp: "nesting at most 1024 deep"): simdjson counts every value's depth, the
  // innermost scalar's included, so 1024 nested arrays are accepted only when the innermost one
  // is empty.
  BOOST_TEST(p.parse(arrays(1023, "1"), &error) != nullptr, error);
  BOOST_TEST(p.parse(objects(1023, "null"), &error) != nullptr, error);
  BOOST_TEST(p.parse(arrays(1024, ""), &error) != nullptr, error);
  BOOST_TEST(p.parse(arrays(1023, "{}"), &error) != nullptr, error);
  for (const std::string& text : {arrays(1024, "1"), objects(1024, "1"), arrays(1024, "[]"), arrays(1025, ""),
                                  arrays(100'000, "")}) {
    error.clear();
    BOOST_TEST(p.parse(text, &error) == nullptr, "accepted " << text.size() << " bytes");
    BOOST_TEST(error.rfind("invalid JSON: ", 0) == 0, error);
    BOOST_TEST(contains(error, "deep"), error);
  }
}

BOOST_AUTO_TEST_CASE(parser_reused_after_errors_and_many_records) {
  RecordParser p;
  std::string error;
  for (int i = 0; i < 2000; ++i) {
    if (i % 3 == 0) {
      BOOST_TEST(p.parse("{\"broken\":", &error) == nullptr);
      continue;
    }
    const std::string text = "{\"crime_id\":\"" + std::to_string(i) + "\",\"call_date_time\":\"2018-10-02T09:17:00\"}";
    const dom::element* v = p.parse(text, &error);
    if (!v || str_at(*v, "crime_id") != std::to_string(i)) {
      BOOST_TEST(v != nullptr, "record " << i << ": " << error);
      break;
    }
    const auto r = validate_record(*v, RecordRules{});
    if (!r.ok() || r.key != std::to_string(i)) {
      BOOST_TEST(r.key == std::to_string(i), r.reason);
      break;
    }
  }
}

BOOST_AUTO_TEST_CASE(parser_record_larger_than_scratch_block) {
  // A record far larger than the ones before it (the parser's buffers grow), then a small one.
  RecordParser p;
  std::string error;
  BOOST_REQUIRE(p.parse("{\"a\":0}", &error) != nullptr);
  const std::string pad(200'000, 'p');
  std::string text = "{\"pad\":\"" + pad + "\",\"arr\":[";
  for (int i = 0; i < 5000; ++i) text += (i ? "," : "") + std::to_string(i);
  text += "]}";
  const dom::element* v = p.parse(text, &error);
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  BOOST_TEST(str_at(*v, "pad").size() == pad.size());
  const dom::array arr = v->at_key("arr").get_array().value();
  BOOST_TEST(arr.size() == 5000u);
  BOOST_TEST(arr.at(4999).get_int64().value() == 4999);
  // Then a small one again.
  v = p.parse("{\"a\":1}", &error);
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(v->at_key("a").get_int64().value() == 1);
}

BOOST_AUTO_TEST_CASE(parser_record_larger_than_1_mb) {
  RecordParser p;
  std::string error;
  std::string text = R"({"crime_id":"big","call_date_time":"2018-10-02T09:17:00","pad":")";
  text += std::string(1'500'000, 'x');
  text += "\"}";
  const dom::element* v = p.parse(text, &error);
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  BOOST_TEST(str_at(*v, "pad").size() == 1'500'000u);
  const auto r = validate_record(*v, RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "big");
}

// Counts the allocations made through operator new (the parser's buffers are allocated with
// new (std::nothrow) ...[]), to check that a parser reused for records no larger than one it
// already parsed does not allocate at all.
namespace {
std::atomic<std::size_t> g_allocations{0};
// Out of line so that g++ does not pair an inlined free() with operator new and warn
// (-Wmismatched-new-delete: a false positive for replaced operators).
[[gnu::noinline]] void release(void* p) noexcept { std::free(p); }
}  // namespace
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

BOOST_AUTO_TEST_CASE(parser_reuses_its_buffers) {
  // record.hpp: "into buffers reused from record to record, so that parsing 200,000 records
  // allocates only for the largest".
  RecordParser p;
  std::string big = R"({"crime_id":"0","call_date_time":"2018-10-02T09:17:00","pad":")" + std::string(5000, 'p') + "\"}";
  BOOST_REQUIRE(p.parse(big, nullptr) != nullptr);
  std::vector<std::string> records;
  for (int i = 0; i < 1000; ++i)
    records.push_back(R"({"crime_id":")" + std::to_string(i) + R"(","original_crime_type_name":"Traffic Stop",)" +
                      R"("call_date_time":"2018-10-02T09:17:00","pad":")" + std::string(i * 4, ' ') + "\"}");
  std::size_t failed = 0;
  const std::size_t before = g_allocations.load();
  for (const std::string& text : records) {
    const dom::element* v = p.parse(text, nullptr);
    if (!v || !v->is_object()) ++failed;
  }
  const std::size_t allocations = g_allocations.load() - before;
  BOOST_TEST(failed == 0u);
  BOOST_TEST(allocations == 0u, "1000 records parsed after a larger one allocated " << allocations << " times");
  // A larger record than any before: the buffers grow (so the count above is not vacuous).
  const std::size_t before_big = g_allocations.load();
  BOOST_REQUIRE(p.parse(big + std::string(100'000, ' '), nullptr) != nullptr);
  BOOST_TEST(g_allocations.load() > before_big);
}

// ---------------------------------------------------------------------------------------------
// compact_json: what produce sends (against compact_model.hpp)
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(compact_json_keeps_numbers_and_escapes_as_written) {
  std::string out;
  sfcrime::compact_json(
      R"({ "a" : 1E2 , "b" : "\u00e9" , "c" : -0.0 , "d" : 1.0e+00 , "e" : "\/\b\f\n\r\t\"\\" , "f" : [ true , false , null ] , "g" : 18446744073709551615 , "h" : 0.1000000000000000055511151231257827 })",
      out);
  BOOST_TEST(out ==
             R"({"a":1E2,"b":"\u00e9","c":-0.0,"d":1.0e+00,"e":"\/\b\f\n\r\t\"\\","f":[true,false,null],"g":18446744073709551615,"h":0.1000000000000000055511151231257827})");
  sfcrime::compact_json("1E2", out);
  BOOST_TEST(out == "1E2");
  sfcrime::compact_json(" -0.0 ", out);
  BOOST_TEST(out == "-0.0");
  sfcrime::compact_json("\"\\u00e9\"", out);
  BOOST_TEST(out == "\"\\u00e9\"");
  // Non-ASCII UTF-8, spaces and escaped quotes and backslashes inside strings are kept byte for
  // byte; a number Boost.JSON printed as the invalid token Infinity (1e999) is not read at all.
  sfcrime::compact_json("{ \"caf\xC3\xA9\" : \" \xF0\x9F\x9A\x93  police \" }", out);
  BOOST_TEST(out == "{\"caf\xC3\xA9\":\" \xF0\x9F\x9A\x93  police \"}");
  sfcrime::compact_json("{\n    \"a\" : [ 1 , 2 ],\r\n\t\"b c\": \"x  y\\\" z \\\\\" , \"n\": 1e999 }", out);
  BOOST_TEST(out == "{\"a\":[1,2],\"b c\":\"x  y\\\" z \\\\\",\"n\":1e999}");
  sfcrime::compact_json("  \"just a string\"  ", out);
  BOOST_TEST(out == "\"just a string\"");
}

BOOST_AUTO_TEST_CASE(compact_json_of_pretty_printed_multi_line_records) {
  const std::string pretty =
      "\r\n{\r\n\t\"crime_id\": \"183651890\",\r\n\t\"original_crime_type_name\": \"Traffic Stop\",\r\n"
      "\t\"call_date_time\" :\t\"2018-10-02T09:17:00\",\r\n\t\"nested\": {\r\n\t\t\"list\": [\r\n\t\t\t1,\r\n"
      "\t\t\t2.50 ,\r\n\t\t\t\"a, b\" ,\r\n\t\t\t{ }\r\n\t\t],\r\n\t\t\"empty\": [ \t\r\n ]\r\n\t},\r\n"
      "\t\"text\": \"a \\\"quoted\\\" word, then \\\\\",\r\n  \"end\": null\n}\n\n";
  std::string out;
  sfcrime::compact_json(pretty, out);
  BOOST_TEST(out ==
             "{\"crime_id\":\"183651890\",\"original_crime_type_name\":\"Traffic Stop\",\"call_date_time\":"
             "\"2018-10-02T09:17:00\",\"nested\":{\"list\":[1,2.50,\"a, b\",{}],\"empty\":[]},"
             "\"text\":\"a \\\"quoted\\\" word, then \\\\\",\"end\":null}");
  BOOST_TEST(out == sfcrime::test::strip_whitespace(pretty));
  // It is the same record.
  RecordParser p;
  std::string error;
  const dom::element* v = p.parse(out, &error);
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  const auto r = validate_record(*v, RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "183651890");
  BOOST_TEST(str_at(*v, "text") == "a \"quoted\" word, then \\");
}

BOOST_AUTO_TEST_CASE(compact_json_of_a_record_larger_than_1_mb) {
  // Over 1 MB, pretty-printed, with strings holding spaces, escaped quotes and backslashes right
  // where simdjson's 64-byte blocks end, and a string longer than a block.
  std::string text = "{\n";
  for (int i = 0; i < 12'000; ++i) {
    text += "  \"field_" + std::to_string(i) + "\" :\t\"";
    text += std::string(static_cast<std::size_t>(i % 67), ' ') + "v \\\"" + std::to_string(i) + "\\\\ \\\\\\\" ";
    text += "\" ,\r\n";
    text += "  \"n_" + std::to_string(i) + "\" : [ " + std::to_string(i) + " , -" + std::to_string(i) + ".5e-3 ] ,\n";
  }
  text += "  \"long\" : \"" + std::string(200'000, ' ') + "\" ,\n";
  text += "  \"call_date_time\" : \"2018-10-02T09:17:00\" , \"crime_id\" : \"big\"\n}\n";
  BOOST_REQUIRE(text.size() > 1'000'000u);
  std::string out = "previous contents, longer or shorter";
  sfcrime::compact_json(text, out);
  const std::string expected = sfcrime::test::strip_whitespace(text);
  BOOST_TEST(out.size() == expected.size());
  BOOST_TEST((out == expected), "compact_json differs from the model at byte " << [&] {
    std::size_t i = 0;
    while (i < out.size() && i < expected.size() && out[i] == expected[i]) ++i;
    return i;
  }());
  RecordParser p;
  std::string error;
  const dom::element* v = p.parse(out, &error);
  BOOST_REQUIRE_MESSAGE(v != nullptr, error);
  const auto r = validate_record(*v, RecordRules{});
  BOOST_TEST(r.ok(), r.reason);
  BOOST_TEST(r.key == "big");
  BOOST_TEST(str_at(*v, "long").size() == 200'000u);
  // Reusing the output for a small record afterwards.
  sfcrime::compact_json("{ \"a\" : 1 }", out);
  BOOST_TEST(out == "{\"a\":1}");
}
