// Unit tests of stream/group_key.hpp: the encoding of group keys (FoundationDB's tuple layer),
// its round trips, its JSON form, and the property that byte-wise order of encodings is tuple
// order, checked against a tuple comparison written here.
#define BOOST_TEST_MODULE group_key
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "key_tuple.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sfcrime/stream/group_key.hpp"

namespace {

namespace group_key = sfcrime::group_key;
using sfcrime::test::decode_key;
using sfcrime::test::encode_key;
using sfcrime::test::KeyTuple;

std::string bytes(std::initializer_list<unsigned> b) {
  std::string s;
  for (const unsigned c : b) s.push_back(static_cast<char>(c));
  return s;
}

/// -1, 0, 1 as unsigned byte strings compare (memcmp order, shorter prefix first).
int compare_bytes(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
}

/// The documented tuple order: field by field, null before any string, strings byte-wise; a
/// tuple that is a prefix of another comes first.
int compare_tuples(const KeyTuple& a, const KeyTuple& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (!a[i] && !b[i]) continue;
    if (!a[i]) return -1;
    if (!b[i]) return 1;
    if (const int c = compare_bytes(*a[i], *b[i]); c != 0) return c;
  }
  return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
}

/// Random tuples over an alphabet that holds the encoding's own bytes (0x00, 0x01, 0x02, 0xFF).
struct TupleGen {
  std::mt19937 rng{20240611};
  KeyTuple next(std::size_t min_parts, std::size_t max_parts) {
    static const std::string alphabet = bytes({0x00, 0x01, 0x02, 0xFF, 'a', 'b', 0x7F, 0x80});
    std::uniform_int_distribution<std::size_t> parts(min_parts, max_parts), len(0, 4), pick(0, alphabet.size() - 1);
    std::uniform_int_distribution<int> null(0, 4);
    KeyTuple t(parts(rng));
    for (auto& p : t) {
      if (null(rng) == 0) continue;  // about one part in five is null
      std::string s(len(rng), '\0');
      for (char& c : s) c = alphabet[pick(rng)];
      p = s;
    }
    return t;
  }
};

std::string show(const KeyTuple& t) {
  std::string s = "(";
  for (const auto& p : t) {
    if (s.size() > 1) s += ", ";
    if (!p) {
      s += "null";
      continue;
    }
    s += '"';
    for (const char c : *p) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      s += buf;
    }
    s += '"';
  }
  return s + ")";
}

}  // namespace

BOOST_AUTO_TEST_CASE(encoding_bytes_are_the_documented_ones) {
  // null = 0x01; a string = 0x02, its bytes with 0x00 written as 0x00 0xFF, then 0x00.
  BOOST_TEST(encode_key({std::nullopt}) == bytes({0x01}));
  BOOST_TEST(encode_key({std::string()}) == bytes({0x02, 0x00}));
  BOOST_TEST(encode_key({std::string("ab")}) == bytes({0x02, 'a', 'b', 0x00}));
  BOOST_TEST(encode_key({std::string("a\0b", 3)}) == bytes({0x02, 'a', 0x00, 0xFF, 'b', 0x00}));
  BOOST_TEST(encode_key({std::string("\0", 1)}) == bytes({0x02, 0x00, 0xFF, 0x00}));
  BOOST_TEST(encode_key({std::string("x"), std::nullopt, std::string()}) ==
             bytes({0x02, 'x', 0x00, 0x01, 0x02, 0x00}));
  BOOST_TEST(encode_key({}).empty());
}

BOOST_AUTO_TEST_CASE(decode_of_hand_written_keys) {
  BOOST_TEST(decode_key("").empty());
  const KeyTuple t = decode_key(bytes({0x01, 0x02, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x02, 'z', 0x00}));
  BOOST_TEST((t == KeyTuple{std::nullopt, std::string("\0\0", 2), std::string("z")}), show(t));
}

BOOST_AUTO_TEST_CASE(round_trip_of_random_tuples) {
  TupleGen gen;
  for (int i = 0; i < 20000; ++i) {
    const KeyTuple t = gen.next(0, 5);
    const KeyTuple back = decode_key(encode_key(t));
    BOOST_TEST_REQUIRE((back == t), show(t) + " came back as " + show(back));
  }
}

BOOST_AUTO_TEST_CASE(round_trip_of_many_escaped_parts) {
  // Every part needs the scratch storage: its views must all stay valid together.
  KeyTuple t;
  for (int i = 0; i < 200; ++i) t.emplace_back(std::string(static_cast<std::size_t>(i % 40), '\0') + std::to_string(i));
  const std::string key = encode_key(t);
  std::vector<std::string> scratch;
  const auto parts = group_key::decode(key, scratch);
  BOOST_REQUIRE_EQUAL(parts.size(), t.size());
  for (std::size_t i = 0; i < t.size(); ++i) BOOST_TEST_REQUIRE((parts[i].value() == *t[i]), "part " << i);
}

BOOST_AUTO_TEST_CASE(parts_without_zero_bytes_view_the_key_itself) {
  const std::string key = encode_key({std::string("plain"), std::string("a\0b", 3), std::nullopt});
  std::vector<std::string> scratch;
  const auto parts = group_key::decode(key, scratch);
  BOOST_REQUIRE_EQUAL(parts.size(), 3u);
  const auto inside = [&](std::string_view v) {
    return v.data() >= key.data() && v.data() + v.size() <= key.data() + key.size();
  };
  BOOST_TEST(inside(*parts[0]));
  BOOST_TEST(!inside(*parts[1]));  // unescaped into scratch
  BOOST_TEST(*parts[1] == std::string_view("a\0b", 3));
  BOOST_TEST(!parts[2].has_value());
}

BOOST_AUTO_TEST_CASE(byte_order_of_encodings_is_tuple_order) {
  TupleGen gen;
  std::uniform_int_distribution<int> coin(0, 1);
  for (int i = 0; i < 50000; ++i) {
    // Same arity (as the --by fields give) most of the time; any arity otherwise.
    const bool same = i % 4 != 0;
    KeyTuple a = same ? gen.next(3, 3) : gen.next(0, 4);
    KeyTuple b = same ? gen.next(3, 3) : gen.next(0, 4);
    if (coin(gen.rng) && !a.empty() && b.size() >= 1) b[0] = a[0];  // many ties on the first field
    const int want = compare_tuples(a, b);
    const int got = compare_bytes(encode_key(a), encode_key(b));
    BOOST_TEST_REQUIRE(got == want, show(a) << " vs " << show(b));
  }
}

BOOST_AUTO_TEST_CASE(sorting_encodings_sorts_tuples) {
  TupleGen gen;
  std::vector<KeyTuple> tuples;
  for (int i = 0; i < 3000; ++i) tuples.push_back(gen.next(2, 2));
  std::vector<std::string> keys;
  for (const auto& t : tuples) keys.push_back(encode_key(t));
  std::sort(keys.begin(), keys.end());  // std::string's order: char_traits<char>, byte-wise unsigned
  std::sort(tuples.begin(), tuples.end(), [](const KeyTuple& a, const KeyTuple& b) { return compare_tuples(a, b) < 0; });
  BOOST_REQUIRE_EQUAL(keys.size(), tuples.size());
  for (std::size_t i = 0; i < keys.size(); ++i) BOOST_TEST_REQUIRE((decode_key(keys[i]) == tuples[i]), "at " << i);
}

BOOST_AUTO_TEST_CASE(documented_order_examples) {
  // Null first, then strings byte-wise: null < "" < "\0" < "a" < "a\0" < "a\x01" < "b" < "\xff".
  const std::vector<KeyTuple> ascending = {
      {std::nullopt},          {std::string()},         {std::string("\0", 1)}, {std::string("a")},
      {std::string("a\0", 2)}, {std::string("a\x01")}, {std::string("b")},     {std::string("\xff")}};
  for (std::size_t i = 0; i + 1 < ascending.size(); ++i)
    BOOST_TEST(compare_bytes(encode_key(ascending[i]), encode_key(ascending[i + 1])) < 0, "at " << i);
  // The first field decides before the second: ("a", "z") < ("a\0", "") although "z" > "".
  BOOST_TEST(compare_bytes(encode_key({std::string("a"), std::string("z")}),
                           encode_key({std::string("a\0", 2), std::string()})) < 0);
  BOOST_TEST(compare_bytes(encode_key({std::string("a"), std::nullopt}),
                           encode_key({std::string("a"), std::string()})) < 0);
}

BOOST_AUTO_TEST_CASE(json_form_round_trip) {
  TupleGen gen;
  for (int i = 0; i < 5000; ++i) {
    const KeyTuple t = gen.next(0, 4);
    boost::json::array a;
    std::vector<std::string> scratch;
    group_key::append_json(encode_key(t), a, scratch);
    BOOST_REQUIRE_EQUAL(a.size(), t.size());
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (!t[k])
        BOOST_TEST_REQUIRE(a[k].is_null());
      else
        BOOST_TEST_REQUIRE((std::string_view(a[k].as_string()) == *t[k]));
    }
    BOOST_TEST_REQUIRE((group_key::from_json(a) == encode_key(t)), show(t));
  }
}

BOOST_AUTO_TEST_CASE(json_text_round_trip_of_utf8_parts) {
  // Through the JSON text, as message keys travel. Key parts come from parsed JSON records, so
  // they are UTF-8 (0x00 and control bytes included).
  const std::vector<std::string> pieces = {std::string("\0", 1), "\x01", "\x1f", "\"", "\\", "a", "\x7f",
                                           "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x93"};
  std::mt19937 rng(5);
  std::uniform_int_distribution<std::size_t> nparts(0, 4), len(0, 5), pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> null(0, 4);
  for (int i = 0; i < 5000; ++i) {
    KeyTuple t(nparts(rng));
    for (auto& p : t) {
      if (null(rng) == 0) continue;
      std::string s;
      for (std::size_t n = len(rng); n > 0; --n) s += pieces[pick(rng)];
      p = s;
    }
    boost::json::array a;
    std::vector<std::string> scratch;
    group_key::append_json(encode_key(t), a, scratch);
    const auto reparsed = boost::json::parse(boost::json::serialize(a)).as_array();
    BOOST_TEST_REQUIRE((group_key::from_json(reparsed) == encode_key(t)), show(t));
  }
}

BOOST_AUTO_TEST_CASE(json_form_appends_to_what_is_there) {
  boost::json::array a{"2018-10-02T09:00:00"};  // --output-topic keys start with the window start
  std::vector<std::string> scratch;
  group_key::append_json(encode_key({std::string("Assault"), std::nullopt}), a, scratch);
  BOOST_TEST(boost::json::serialize(a) == R"(["2018-10-02T09:00:00","Assault",null])");
}

BOOST_AUTO_TEST_CASE(from_json_refuses_other_elements) {
  for (const char* text : {R"([1])", R"(["a",true])", R"([["a"]])", R"([{"a":1}])", R"([null,2.5])"})
    BOOST_CHECK_THROW(group_key::from_json(boost::json::parse(text).as_array()), std::exception);
  BOOST_TEST(group_key::from_json(boost::json::array{}).empty());
}
