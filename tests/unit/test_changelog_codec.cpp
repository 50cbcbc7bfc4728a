// Unit tests of pipeline/changelog_codec.hpp: the JSON form of one group's statistics
// ({"key":[...],"count":N,"dispositions":[[code,n],...]}), its round trips (null key parts, 0x00
// bytes) and its refusal of malformed objects.
#define BOOST_TEST_MODULE changelog_codec
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "key_tuple.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sfcrime/pipeline/changelog_codec.hpp"

namespace {

using sfcrime::GroupStats;
using sfcrime::group_stats_json;
using sfcrime::parse_group_stats;
using sfcrime::test::encode_key;
using sfcrime::test::KeyTuple;

GroupStats stats(std::uint64_t count, std::vector<std::pair<std::string, std::uint64_t>> d) {
  GroupStats s;
  s.count = count;
  s.dispositions = std::move(d);
  return s;
}

boost::json::object to_json(const KeyTuple& key, const GroupStats& s) {
  std::vector<std::string> scratch;
  return group_stats_json(encode_key(key), s, scratch);
}

/// Encodes, serializes, parses and decodes: what a changelog record goes through.
std::pair<std::string, GroupStats> through_text(const KeyTuple& key, const GroupStats& s) {
  const std::string text = boost::json::serialize(to_json(key, s));
  return parse_group_stats(boost::json::parse(text).as_object());
}

bool same_stats(const GroupStats& a, const GroupStats& b) { return a.count == b.count && a.dispositions == b.dispositions; }

}  // namespace

BOOST_AUTO_TEST_CASE(the_documented_shape) {
  const auto o = to_json({std::string("Traffic Stop"), std::nullopt}, stats(12, {{"CIT", 8}, {"HAN", 4}}));
  BOOST_TEST(boost::json::serialize(o) == R"({"key":["Traffic Stop",null],"count":12,"dispositions":[["CIT",8],["HAN",4]]})");
}

BOOST_AUTO_TEST_CASE(round_trip_with_null_parts_and_zero_bytes) {
  const std::vector<KeyTuple> keys = {
      {},
      {std::nullopt},
      {std::string()},
      {std::string("Assault")},
      {std::nullopt, std::nullopt},
      {std::string("a\0b", 3), std::nullopt, std::string("\0", 1)},
      {std::string("\"quoted\"\n\\"), std::string("caf\xc3\xa9")},
  };
  const GroupStats s = stats(7, {{"", 3}, {"ADV", 2}, {std::string("X\0Y", 3), 2}});
  for (const KeyTuple& k : keys) {
    const auto [key, back] = through_text(k, s);
    BOOST_TEST((key == encode_key(k)));
    BOOST_TEST(same_stats(back, s));
  }
}

BOOST_AUTO_TEST_CASE(round_trip_of_random_statistics) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> nparts(0, 3), len(0, 3), byte(0, 255), ncodes(0, 5), null(0, 3);
  std::uniform_int_distribution<std::uint64_t> big(0, std::numeric_limits<std::uint64_t>::max());
  for (int i = 0; i < 2000; ++i) {
    KeyTuple k(static_cast<std::size_t>(nparts(rng)));
    for (auto& p : k) {
      if (null(rng) == 0) continue;
      std::string s;
      for (int n = len(rng); n > 0; --n) s.push_back(static_cast<char>(byte(rng) & 0x7F));  // valid UTF-8: ASCII, 0x00 included
      p = s;
    }
    GroupStats s;
    s.count = big(rng);
    for (int c = ncodes(rng); c > 0; --c) s.dispositions.emplace_back("C" + std::to_string(c), big(rng));
    const auto [key, back] = through_text(k, s);
    BOOST_TEST_REQUIRE((key == encode_key(k)));
    BOOST_TEST_REQUIRE(same_stats(back, s));
  }
}

BOOST_AUTO_TEST_CASE(largest_counts_survive) {
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  const auto [key, back] = through_text({std::string("x")}, stats(max, {{"A", max}}));
  BOOST_TEST(back.count == max);
  BOOST_TEST(back.dispositions.at(0).second == max);
}

BOOST_AUTO_TEST_CASE(malformed_objects_are_refused) {
  for (const char* text : {
           R"({"count":1,"dispositions":[]})",                      // no key
           R"({"key":[],"dispositions":[]})",                       // no count
           R"({"key":[],"count":1})",                               // no dispositions
           R"({"key":"Assault","count":1,"dispositions":[]})",      // key not an array
           R"({"key":[1],"count":1,"dispositions":[]})",            // key part a number
           R"({"key":[],"count":"1","dispositions":[]})",           // count a string
           R"({"key":[],"count":-1,"dispositions":[]})",            // count negative
           R"({"key":[],"count":1.5,"dispositions":[]})",           // count not whole
           R"({"key":[],"count":1,"dispositions":{}})",             // dispositions not an array
           R"({"key":[],"count":1,"dispositions":["CIT"]})",        // an entry not a pair
           R"({"key":[],"count":1,"dispositions":[["CIT"]]})",      // a pair missing its count
           R"({"key":[],"count":1,"dispositions":[[1,1]]})",        // a code not a string
           R"({"key":[],"count":1,"dispositions":[["CIT",-2]]})",   // a negative count
           R"({"key":[],"count":1,"dispositions":[["CIT","2"]]})",  // a count as a string
       }) {
    BOOST_CHECK_THROW(parse_group_stats(boost::json::parse(text).as_object()), std::exception);
  }
}
