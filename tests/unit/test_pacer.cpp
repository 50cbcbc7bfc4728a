// Unit tests of pipeline/pacer.hpp: --rate (record k no earlier than k / N s after start()),
// --speedup (event time e no earlier than (e - e0) / X s after the first record), both (the later),
// records already due at once, and the cap on one wait.
#define BOOST_TEST_MODULE pacer
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "sfcrime/pipeline/pacer.hpp"

namespace {
using sfcrime::Pacer;
using namespace std::chrono_literals;

double seconds_after(Pacer::Clock::time_point t, Pacer::Clock::time_point t0) {
  return std::chrono::duration<double>(t - t0).count();
}
}  // namespace

BOOST_AUTO_TEST_CASE(rate_spaces_records_from_the_start) {
  Pacer p(4, 0);  // 4 records a second
  const auto t0 = Pacer::Clock::now();
  p.start(t0);
  BOOST_TEST(seconds_after(p.due(0, std::nullopt), t0) == 0.0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(seconds_after(p.due(1, std::nullopt), t0) == 0.25, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(seconds_after(p.due(10, std::nullopt), t0) == 2.5, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(speedup_follows_event_time_from_the_first_record) {
  Pacer p(0, 3600);  // an hour of event time a second
  const auto before = Pacer::Clock::now();
  const auto first = p.due(0, 1'000'000);
  BOOST_TEST(seconds_after(first, before) < 0.5);  // the first record goes at once
  const auto later = p.due(1, 1'000'000 + 7'200'000);  // two hours later in event time: 2 s
  BOOST_TEST(seconds_after(later, first) == 2.0, boost::test_tools::tolerance(0.05));
  const auto earlier = p.due(2, 1'000'000 - 3'600'000);  // before the first: due at once
  BOOST_TEST(seconds_after(earlier, Pacer::Clock::now()) <= 0.0);
}

BOOST_AUTO_TEST_CASE(with_both_the_later_time_applies) {
  Pacer p(1, 3600);
  const auto t0 = Pacer::Clock::now();
  p.start(t0);
  p.due(0, 0);
  BOOST_TEST(seconds_after(p.due(5, 3'600'000), t0) == 5.0, boost::test_tools::tolerance(0.05));  // rate: 5 s
  BOOST_TEST(seconds_after(p.due(1, 36'000'000), t0) == 10.0, boost::test_tools::tolerance(0.05));  // replay: 10 s
}

BOOST_AUTO_TEST_CASE(one_wait_is_capped) {
  Pacer p(0, 1e-9);  // a billionth of a second of event time a second
  const auto first = p.due(0, 0);
  const auto far = p.due(1, 4'000'000'000'000'000LL);
  BOOST_TEST(seconds_after(far, first) <= Pacer::kMaxReplayWaitSeconds + 1);
}
