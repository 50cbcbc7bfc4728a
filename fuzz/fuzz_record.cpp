// libFuzzer harness of the record parser and validator (include/sfcrime/record.hpp) and of the
// aggregate engine's Extractor (include/sfcrime/engine.hpp): fuzz/README.md.
//
// Input: one record's JSON text, as the reader or a Kafka message hands it over.
//
// Besides memory safety and undefined behaviour, the harness checks:
//   - RecordParser (a reused arena) accepts exactly what boost::json::parse accepts, into an
//     equal value, also when the previous record left the arena full;
//   - validate_record: a reason iff rejected; an accepted time parses to the same instant again,
//     and formats back to it; the key is the key field's text;
//   - Extractor, with `--by original_crime_type_name,disposition --filter city=...`: the kind
//     follows validate_record and the filter; the group key decodes to the --by fields (null for
//     missing or null, a string's content, else the JSON text); extracting again after another
//     record gives the same result.
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/datetime.hpp"
#include "sfcrime/engine.hpp"
#include "sfcrime/record.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_record: invariant broken: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}
#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

sfcrime::StreamSpec make_spec() {
  sfcrime::StreamSpec spec;
  spec.by = sfcrime::parse_field_list("original_crime_type_name,disposition", "--by");
  spec.filters.push_back(sfcrime::parse_filter("city=San Francisco,,Sausalit\xC3\xB6"));
  return spec;
}

// A record that fills the parser's arena past its first block, parsed between two extractions
// of the input.
std::string big_record() {
  std::string s = R"({"call_date_time":"2018-11-05T20:50:00.000","city":"San Francisco","filler":[)";
  for (int i = 0; i < 2000; ++i) s += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  return s + "]}";
}


bool same(const sfcrime::Extracted& a, const sfcrime::Extracted& b) {
  return a.kind == b.kind && a.reason == b.reason && a.event_ms == b.event_ms && a.group == b.group &&
         a.disposition == b.disposition;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const sfcrime::StreamSpec spec = make_spec();
  static const std::string filler = big_record();
  static sfcrime::RecordParser parser;  // reused across inputs, as produce reuses it
  static sfcrime::Extractor extractor(spec);
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);

  // RecordParser against a plain parse on the default heap.
  boost::system::error_code ec;
  const boost::json::value expected = boost::json::parse(text, ec);
  std::string error;
  const boost::json::value* v = parser.parse(text, &error);
  CHECK((v != nullptr) == !ec, ec ? ec.message() : error);
  if (!v) {
    CHECK(error.rfind("invalid JSON: ", 0) == 0, error);
  } else {
    // (Compared as text: Boost 1.81 parses e.g. 0e4999959 as NaN, which is unequal to itself.)
    CHECK(boost::json::serialize(*v) == boost::json::serialize(expected));

    for (const bool with_key : {true, false}) {
      sfcrime::RecordRules rules;
      if (!with_key) rules.key_field.clear();
      const sfcrime::Validated r = sfcrime::validate_record(*v, rules);
      if (!r.ok()) continue;
      const boost::json::object& o = v->as_object();
      const boost::json::string& t = o.at(rules.time_field).as_string();
      const auto ms = sfcrime::parse_naive_datetime(std::string_view(t.data(), t.size()));
      CHECK(ms && *ms == r.event_ms);
      const std::string formatted = sfcrime::format_naive_datetime(r.event_ms);
      const auto again = sfcrime::parse_naive_datetime(formatted);
      CHECK(again && *again == r.event_ms, formatted);
      if (with_key) {
        // What produce sends (the record's tokens, whitespace removed: compact_json) is JSON
        // that validates the same way.
        std::string sent;
        sfcrime::compact_json(text, sent);
        const boost::json::value back = boost::json::parse(sent, ec);
        CHECK(!ec, sent);
        const sfcrime::Validated r2 = sfcrime::validate_record(back, rules);
        CHECK(r2.ok() && r2.event_ms == r.event_ms && r2.key == r.key, sent);
      }
      if (with_key) {
        const boost::json::value& k = o.at(rules.key_field);
        CHECK(k.is_string() ? r.key == std::string_view(k.as_string()) : r.key == boost::json::serialize(k));
      } else {
        CHECK(r.key.empty());
      }
    }
  }

  // The Extractor, twice, with a record that overflows the arena in between.
  sfcrime::Extracted x, other, y;
  extractor.extract(text, x);
  extractor.extract(filler, other);
  CHECK(other.kind == sfcrime::Extracted::Kind::valid, other.reason);
  extractor.extract(text, y);
  CHECK(same(x, y));
  if (v) {
    // Through a topic: what produce sends (compact_json keeps every token as written) is
    // extracted exactly as the record it read.
    sfcrime::Extracted z;
    std::string sent;
    sfcrime::compact_json(text, sent);
    extractor.extract(sent, z);
    CHECK(same(x, z));
  }
  switch (x.kind) {
    case sfcrime::Extracted::Kind::invalid:
      CHECK(!x.reason.empty());
      CHECK(!v || !sfcrime::validate_record(*v, sfcrime::RecordRules{"call_date_time", ""}).ok());
      break;
    case sfcrime::Extracted::Kind::filtered:
    case sfcrime::Extracted::Kind::valid: {
      CHECK(v && x.reason.empty());
      const sfcrime::Validated r = sfcrime::validate_record(*v, sfcrime::RecordRules{"call_date_time", ""});
      CHECK(r.ok() && r.event_ms == x.event_ms);
      const boost::json::object& o = v->as_object();
      const auto city = sfcrime::string_field(o, "city");
      const auto& accepted = spec.filters[0].values;
      const bool passes = city && std::find(accepted.begin(), accepted.end(), *city) != accepted.end();
      CHECK(passes == (x.kind == sfcrime::Extracted::Kind::valid));
      if (!passes) break;
      std::vector<std::string> scratch;
      const auto parts = sfcrime::group_key::decode(x.group, scratch);
      CHECK(parts.size() == spec.by.size(), std::to_string(parts.size()));
      for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto it = o.find(spec.by[i]);
        if (it == o.end() || it->value().is_null()) {
          CHECK(!parts[i]);
        } else {
          const std::string want = it->value().is_string() ? std::string(it->value().get_string())
                                                           : boost::json::serialize(it->value());
          CHECK(parts[i] && *parts[i] == want, spec.by[i]);
        }
      }
      // Re-encoding the decoded parts gives the same key (the encoding is a bijection).
      std::string key;
      for (const auto& p : parts) {
        if (p)
          sfcrime::group_key::append_string(key, *p);
        else
          sfcrime::group_key::append_null(key);
      }
      CHECK(key == x.group);
      const auto d = sfcrime::string_field(o, spec.disposition_field);
      CHECK(x.disposition == (d ? *d : std::string_view()));
      break;
    }
  }
  return 0;
}
