// Unit tests of base/duration.hpp: parse_duration (whole numbers with one unit s, m, h, d; zero
// only when allowed; overflow and bad text refused with a UsageError naming the option) and
// format_duration (the largest unit that divides exactly).
#define BOOST_TEST_MODULE duration
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "sfcrime/base/duration.hpp"
#include "sfcrime/base/errors.hpp"

namespace {

using namespace std::chrono_literals;
using sfcrime::format_duration;
using sfcrime::parse_duration;

struct Unit {
  char suffix;
  std::int64_t ms;
};
constexpr Unit kUnits[] = {{'s', 1000}, {'m', 60 * 1000}, {'h', 60 * 60 * 1000}, {'d', 24 * 60 * 60 * 1000}};
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

std::string usage_message(std::string_view text, std::string_view what, bool allow_zero = false) {
  try {
    parse_duration(text, what, allow_zero);
  } catch (const sfcrime::UsageError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == 64);
    return e.what();
  }
  BOOST_FAIL("expected a UsageError for '" << text << "'");
  return {};
}

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(each_unit_multiplies) {
  for (const Unit u : kUnits)
    for (const std::int64_t n : {1, 2, 15, 90, 1000}) {
      const std::string text = std::to_string(n) + u.suffix;
      BOOST_TEST(parse_duration(text, "--window").count() == n * u.ms, text);
    }
}

BOOST_AUTO_TEST_CASE(largest_value_of_each_unit_and_one_more) {
  // The largest whole number of each unit whose milliseconds fit in int64, then the next one.
  for (const Unit u : kUnits) {
    const std::int64_t n = kMax / u.ms;
    BOOST_TEST(parse_duration(std::to_string(n) + u.suffix, "--timeout").count() == n * u.ms);
    BOOST_CHECK_THROW(parse_duration(std::to_string(n + 1) + u.suffix, "--timeout"), sfcrime::UsageError);
  }
  // Beyond int64 itself.
  BOOST_CHECK_THROW(parse_duration("9223372036854775808s", "--timeout"), sfcrime::UsageError);
  BOOST_CHECK_THROW(parse_duration("18446744073709551616d", "--timeout"), sfcrime::UsageError);
}

BOOST_AUTO_TEST_CASE(bad_text_is_refused) {
  for (const char* text : {"", "s", "5", "5x", "5S", "5 s", " 5s", "5s ", "5s5", "1m30s", "1.0m", "1e3s", "0x10s",
                           "-1s", "+1s", "--1s", "five m", "5ms", "5us", "\xef\xbc\x95s" /* fullwidth 5 */}) {
    BOOST_CHECK_THROW(parse_duration(text, "--window"), sfcrime::UsageError);
    BOOST_CHECK_THROW(parse_duration(text, "--window", true), sfcrime::UsageError);
  }
}

BOOST_AUTO_TEST_CASE(zero_needs_allow_zero) {
  for (const Unit u : kUnits) {
    const std::string text = std::string("0") + u.suffix;
    BOOST_TEST(parse_duration(text, "--watermark", true).count() == 0);
    BOOST_CHECK_THROW(parse_duration(text, "--window"), sfcrime::UsageError);
  }
}

BOOST_AUTO_TEST_CASE(messages_name_the_option_and_the_text) {
  for (const char* what : {"--window", "--slide", "SFCRIME_TIMEOUT"}) {
    for (const char* text : {"30x", "0m", "-5m", "1.5h", "99999999999999999999d"}) {
      const std::string m = usage_message(text, what);
      BOOST_TEST(contains(m, "'" + std::string(text) + "'"), m);
      BOOST_TEST(contains(m, what), m);
    }
  }
}

BOOST_AUTO_TEST_CASE(message_says_positive_only_when_zero_is_refused) {
  BOOST_TEST(contains(usage_message("0m", "--window"), "positive"));
  BOOST_TEST(!contains(usage_message("x", "--watermark", true), "positive"));
}

BOOST_AUTO_TEST_CASE(format_picks_the_largest_exact_unit) {
  BOOST_TEST(format_duration(0ms) == "0ms");
  BOOST_TEST(format_duration(999ms) == "999ms");
  BOOST_TEST(format_duration(1001ms) == "1001ms");
  BOOST_TEST(format_duration(61'000ms) == "61s");
  BOOST_TEST(format_duration(120'000ms) == "2m");
  BOOST_TEST(format_duration(86'401'000ms) == "86401s");  // a day and a second
  BOOST_TEST(format_duration(48h) == "2d");
  BOOST_TEST(format_duration(std::chrono::milliseconds(kMax / 86'400'000 * 86'400'000)) ==
             std::to_string(kMax / 86'400'000) + "d");
}

BOOST_AUTO_TEST_CASE(format_of_parse_is_the_largest_unit) {
  // For random n and unit: the formatted text is the same duration in the largest unit of
  // kUnits that divides it, computed here.
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> n(1, 100'000);
  std::uniform_int_distribution<std::size_t> pick(0, 3);
  for (int i = 0; i < 5000; ++i) {
    const Unit u = kUnits[pick(rng)];
    const std::int64_t count = n(rng);
    const std::int64_t ms = count * u.ms;
    std::string want;
    for (int k = 3; k >= 0; --k)
      if (ms % kUnits[k].ms == 0) {
        want = std::to_string(ms / kUnits[k].ms) + kUnits[k].suffix;
        break;
      }
    const std::string text = std::to_string(count) + u.suffix;
    BOOST_TEST_REQUIRE(format_duration(parse_duration(text, "--window")) == want, text);
    BOOST_TEST_REQUIRE(parse_duration(want, "--window").count() == ms, text);  // and back
  }
}
