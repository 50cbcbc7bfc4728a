#define BOOST_TEST_MODULE record
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sfcrime/datetime.hpp"
#include "sfcrime/record.hpp"

namespace {

namespace json = boost::json;
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

json::value obj(std::string_view text) { return json::parse(text); }

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
  const auto& o = v.get_object();
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

// ---------------------------------------------------------------------------------------------
// RecordParser
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parser_valid_text) {
  RecordParser p;
  std::string error;
  const json::value* v = p.parse("  {\"crime_id\":\"1\",\"n\":[1,2,3]}\r\n ", &error);
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(error.empty());
  BOOST_REQUIRE(v->is_object());
  BOOST_TEST(v->at("crime_id").as_string() == "1");
  BOOST_TEST(v->at("n").as_array().size() == 3u);
}

BOOST_AUTO_TEST_CASE(parser_invalid_text) {
  RecordParser p;
  for (const char* text : {"{", "{\"a\":}", "{\"a\":1} x", "{\"a\":1}{\"b\":2}", "", "   ", "[1,]", "{'a':1}",
                           "{\"a\":1,}", "{\"a\":\"\xff\"}", "nul", "{\"a\":01}"}) {
    std::string error;
    const json::value* v = p.parse(text, &error);
    BOOST_TEST(v == nullptr, "accepted '" << text << "'");
    BOOST_TEST(error.rfind("invalid JSON: ", 0) == 0, "'" << text << "' -> '" << error << "'");
    BOOST_TEST(error.size() > std::string("invalid JSON: ").size());
  }
  BOOST_TEST(p.parse("{", nullptr) == nullptr);  // no error pointer: no crash
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
    const json::value* v = p.parse(text, &error);
    if (!v || v->at("crime_id").as_string() != std::to_string(i)) {
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
  RecordParser p;
  std::string error;
  const std::string pad(200'000, 'p');
  std::string text = "{\"pad\":\"" + pad + "\",\"arr\":[";
  for (int i = 0; i < 5000; ++i) text += (i ? "," : "") + std::to_string(i);
  text += "]}";
  const json::value* v = p.parse(text, &error);
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(v->at("pad").as_string().size() == pad.size());
  BOOST_TEST(v->at("arr").as_array().size() == 5000u);
  BOOST_TEST(v->at("arr").as_array()[4999].as_int64() == 4999);
  // Then a small one again.
  v = p.parse("{\"a\":1}", &error);
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(v->at("a").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(parser_value_lives_in_the_arena) {
  // record.hpp: "Parses one record's JSON text into a value that lives in a reused arena, so that
  // parsing 200,000 records does not allocate 200,000 times." A value in the default heap
  // resource means every record is copied out of the arena with heap allocations.
  RecordParser p;
  std::string error;
  const json::value* v = p.parse("{\"crime_id\":\"1\",\"original_crime_type_name\":\"Traffic Stop\"}", &error);
  BOOST_REQUIRE(v != nullptr);
  BOOST_TEST(v->storage().get() != json::storage_ptr().get(), "the parsed value uses the default heap resource");
  BOOST_TEST(v->at("original_crime_type_name").as_string().storage().get() != json::storage_ptr().get());
}

// ---------------------------------------------------------------------------------------------
// compact_json: what produce sends
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(compact_json_drops_whitespace_between_tokens_only) {
  std::string out;
  sfcrime::compact_json("{\n    \"a\" : [ 1 , 2 ],\r\n\t\"b c\": \"x  y\\\" z \\\\\" }", out);
  BOOST_TEST(out == "{\"a\":[1,2],\"b c\":\"x  y\\\" z \\\\\"}");
  // Numbers stay as written: re-serializing would print 1e999 as the invalid token Infinity.
  sfcrime::compact_json("{ \"n\": 1e999, \"m\": 4.5e+300, \"u\": \"\\u00e9\" }", out);
  BOOST_TEST(out == "{\"n\":1e999,\"m\":4.5e+300,\"u\":\"\\u00e9\"}");
  sfcrime::compact_json("  \"just a string\"  ", out);
  BOOST_TEST(out == "\"just a string\"");
}
