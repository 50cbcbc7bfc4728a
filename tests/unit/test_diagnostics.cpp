#define BOOST_TEST_MODULE diagnostics
#include <boost/test/unit_test.hpp>

#include <string>

#include "sfcrime/stream/diagnostics.hpp"
#include "sfcrime/stream/engine.hpp"

// What aggregate says when its answer differs from the batch answer: late records and their
// measured cause, --by fields that no record has.

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kHour = 60 * kMin;
constexpr std::int64_t kDay = 24 * kHour;

sfcrime::Extracted valid(std::uint64_t by_present) {
  sfcrime::Extracted x;
  x.kind = sfcrime::Extracted::Kind::valid;
  x.by_present = by_present;
  return x;
}

}  // namespace

BOOST_AUTO_TEST_CASE(durations_for_people_and_for_the_watermark_option) {
  BOOST_TEST(sfcrime::describe_duration(90 * kDay + 14 * kHour + 46 * kMin) == "90d 14h 46m");
  BOOST_TEST(sfcrime::describe_duration(2 * kHour) == "2h");
  BOOST_TEST(sfcrime::describe_duration(61'000) == "1m 1s");
  BOOST_TEST(sfcrime::describe_duration(1500) == "1s");
  BOOST_TEST(sfcrime::describe_duration(999) == "999ms");
  BOOST_TEST(sfcrime::duration_at_least(90 * kDay + 1) == "91d");
  BOOST_TEST(sfcrime::duration_at_least(90 * kDay) == "90d");
  BOOST_TEST(sfcrime::duration_at_least(kHour + 1) == "2h");
  BOOST_TEST(sfcrime::duration_at_least(59 * kMin + 1) == "1h");  // 60m, written in hours
  BOOST_TEST(sfcrime::duration_at_least(23 * kHour + 1) == "1d");
  BOOST_TEST(sfcrime::duration_at_least(1500) == "2s");
  BOOST_TEST(sfcrime::duration_at_least(1) == "1s");
  BOOST_TEST(sfcrime::duration_at_least(0) == "0s");
}

BOOST_AUTO_TEST_CASE(few_late_records_say_nothing) {
  sfcrime::LateFacts f{1000, 10, 3 * kHour, false, kHour, std::nullopt};  // exactly 1 %: not more
  BOOST_TEST(!sfcrime::late_warning(f));
  f.late = 0;
  BOOST_TEST(!sfcrime::late_warning(f));
  f = {0, 0, 0, false, kHour, std::nullopt};
  BOOST_TEST(!sfcrime::late_warning(f));
}

BOOST_AUTO_TEST_CASE(late_records_from_disorder_name_the_cause_and_the_remedies) {
  const sfcrime::LateFacts f{199'999, 199'896, 90 * kDay + 14 * kHour + 46 * kMin, true, kHour, std::nullopt};
  const auto w = sfcrime::late_warning(f);
  BOOST_REQUIRE(w);
  BOOST_TEST(w->find("199896 of 199999 records (99.9 %) were late") != std::string::npos, *w);
  BOOST_TEST(w->find("out of event-time order by up to 90d 14h 46m (the newest record came first)") !=
                 std::string::npos, *w);
  BOOST_TEST(w->find("sfcrime produce --order event-time") != std::string::npos, *w);
  BOOST_TEST(w->find("--watermark 91d") != std::string::npos, *w);
  BOOST_TEST(w->find("more than --watermark 1h allows") != std::string::npos, *w);
}

BOOST_AUTO_TEST_CASE(a_disorder_beyond_the_longest_watermark_gets_no_proposal_and_0s_is_written_0s) {
  const sfcrime::LateFacts f{10, 5, 40'000 * kDay, true, 0, std::nullopt};
  const auto w = sfcrime::late_warning(f);
  BOOST_REQUIRE(w);
  BOOST_TEST(w->find("more than --watermark 0s allows") != std::string::npos, *w);
  BOOST_TEST(w->find("no --watermark covers it: the longest is 36500d") != std::string::npos, *w);
  BOOST_TEST(w->find("(--watermark ") == std::string::npos, *w);
}

BOOST_AUTO_TEST_CASE(partitions_in_order_but_read_apart_say_so) {
  // Each partition within the watermark, the processing order 3 hours out: a live topic.
  const sfcrime::LateFacts f{1000, 100, 3 * kHour, false, kHour, 10 * kMin};
  const auto w = sfcrime::late_warning(f);
  BOOST_REQUIRE(w);
  BOOST_TEST(w->find("each partition was in event-time order within --watermark 1h, but they were read up to 3h "
                     "apart") != std::string::npos, *w);
  BOOST_TEST(w->find("--watermark 3h") != std::string::npos, *w);
  BOOST_TEST(w->find("produce --order event-time") == std::string::npos, *w);
  // A partition itself out of order by more: the input's disorder is named.
  const sfcrime::LateFacts g{1000, 100, 3 * kHour, false, kHour, 2 * kHour};
  BOOST_TEST(sfcrime::late_warning(g)->find("the input was out of event-time order by up to 3h") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(late_records_within_the_watermark_say_their_windows_had_closed) {
  const sfcrime::LateFacts f{100, 50, 10 * kMin, false, kHour, std::nullopt};
  const auto w = sfcrime::late_warning(f);
  BOOST_REQUIRE(w);
  BOOST_TEST(w->find("50 of 100 records (50.0 %)") != std::string::npos, *w);
  BOOST_TEST(w->find("within --watermark 1h") != std::string::npos, *w);
  BOOST_TEST(w->find("--watermark 1") == w->find("--watermark 1h"), *w);  // no watermark proposed
  BOOST_TEST(w->find("newest") == std::string::npos, *w);
}

BOOST_AUTO_TEST_CASE(a_by_field_no_record_has_is_named_once_with_the_records_fields) {
  sfcrime::ByFieldCheck check({"original_crime_type_name", "dispositon"});
  check.see(valid(0b01), R"({"crime_id":"1","original_crime_type_name":"A","disposition":"CIT"})");
  check.see(valid(0b01), R"({"crime_id":"2"})");
  sfcrime::Extracted invalid;  // does not count, whatever its fields
  invalid.by_present = 0b10;
  check.see(invalid, "not json");
  auto w = check.end_batch(0);
  BOOST_REQUIRE(w.size() == 1u);
  BOOST_TEST(w[0] == "--by field 'dispositon' is missing or null in every record of batch 0 (its rows show null); "
                     "the first record has: crime_id, original_crime_type_name, disposition");
  check.see(valid(0b01), R"({"x":1})");
  BOOST_TEST(check.end_batch(1).empty());  // said once
  BOOST_TEST(check.end_batch(2).empty());  // a batch with no valid record says nothing
}

BOOST_AUTO_TEST_CASE(a_by_field_some_record_has_is_not_named) {
  sfcrime::ByFieldCheck check({"a", "b"});
  check.see(valid(0b01), "{}");
  check.see(valid(0b10), "{}");
  BOOST_TEST(check.end_batch(0).empty());
}
